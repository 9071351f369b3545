import AssayTypes

/// Signature verdicts by transaction hash, first in first out. The hash covers the signature, so one hash
/// always has one verdict: a transaction is verified once, whether it arrives again, is gossiped, or is executed.
struct SignatureCache {
    private var verdicts: [Hash: Bool] = [:]
    /// Insertion order, used as a ring once full: `oldest` is the next slot to overwrite.
    private var order: [Hash] = []
    private var oldest = 0
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    func verdict(for hash: Hash) -> Bool? { verdicts[hash] }

    mutating func record(_ valid: Bool, for hash: Hash) {
        guard verdicts[hash] == nil else { return }
        if order.count < capacity {
            order.append(hash)
        } else {
            verdicts[order[oldest]] = nil
            order[oldest] = hash
            oldest = (oldest + 1) % capacity
        }
        verdicts[hash] = valid
    }

    var count: Int { verdicts.count }
}
