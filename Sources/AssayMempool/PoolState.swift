import AssayCrypto
import AssayTypes

/// One pending transaction with what the pool sorts and counts it by.
struct PoolEntry: Sendable {
    let transaction: Transaction
    let hash: Hash
    let byteCount: Int

    var fee: Amount { transaction.fee }
    var nonce: UInt64 { transaction.nonce }
    var sender: PublicKey { transaction.sender }

    /// Reaping order: higher fee first, then lower hash. Hashes are unique, so this is a strict total order.
    static func reapsBefore(_ a: PoolEntry, _ b: PoolEntry) -> Bool {
        a.fee != b.fee ? a.fee > b.fee : a.hash < b.hash
    }
}

/// A sender's pending transactions, sorted by nonce, one per nonce.
struct SenderQueue: Sendable {
    let address: Address
    /// The sender's next nonce in the committed state as last read.
    var nextNonce: UInt64
    var entries: [PoolEntry] = []

    func index(ofNonce nonce: UInt64) -> Int? { entries.firstIndex { $0.nonce == nonce } }

    mutating func insert(_ entry: PoolEntry) {
        let position = entries.firstIndex { $0.nonce > entry.nonce } ?? entries.count
        entries.insert(entry, at: position)
    }
}

/// What admitting one transaction changes: the pending transaction it replaces and those it evicts.
struct AdmissionPlan: Equatable, Sendable {
    var replaced: Hash?
    var evicted: [Hash] = []
}

/// The pool's indexes and rules, a plain value guarded by the `Mempool`'s lock. Every mutating method keeps
/// `byHash`, the sender queues and the totals consistent.
struct PoolState: Sendable {
    let config: MempoolConfig
    private(set) var byHash: [Hash: PoolEntry] = [:]
    private(set) var senders: [PublicKey: SenderQueue] = [:]
    private(set) var byteCount = 0

    init(config: MempoolConfig) { self.config = config }

    var count: Int { byHash.count }

    /// Checks the stateful admission rules without changing anything.
    func plan(for entry: PoolEntry, account: AccountSnapshot) throws(AdmissionError) -> AdmissionPlan {
        guard byHash[entry.hash] == nil else { throw .duplicate(entry.hash) }
        guard entry.nonce >= account.nextNonce else {
            throw .nonceTooLow(nonce: entry.nonce, expected: account.nextNonce)
        }
        guard entry.nonce - account.nextNonce < config.nonceGapMax else {
            throw .nonceTooFarAhead(nonce: entry.nonce, expected: account.nextNonce, gapMax: config.nonceGapMax)
        }
        guard entry.fee <= account.balance else { throw .insufficientBalance(balance: account.balance, fee: entry.fee) }
        var plan = AdmissionPlan()
        var freedBytes = 0
        if let queue = senders[entry.sender], let index = queue.index(ofNonce: entry.nonce) {
            let pending = queue.entries[index]
            let required = replacementFee(for: pending.fee)
            guard entry.fee >= required, entry.fee > pending.fee else {
                throw .replacementUnderpriced(fee: entry.fee, required: required)
            }
            plan.replaced = pending.hash
            freedBytes = pending.byteCount
        }
        let countAfter = count + (plan.replaced == nil ? 1 : 0)
        plan.evicted = try evictions(
            toFit: countAfter, bytes: byteCount - freedBytes + entry.byteCount, for: entry)
        return plan
    }

    /// The lowest-fee tails (highest nonces) of other senders to drop so that the pool fits its caps again.
    /// Only tails are evicted so that no sender is left with a gap; the new transaction's sender is spared.
    private func evictions(toFit countAfter: Int, bytes bytesAfter: Int, for entry: PoolEntry)
        throws(AdmissionError) -> [Hash]
    {
        var count = countAfter
        var bytes = bytesAfter
        guard count > config.countMax || bytes > config.bytesMax else { return [] }
        // Lowest fee first; among equal fees the one that would be reaped last (highest hash).
        var tails = BinaryHeap<(entry: PoolEntry, index: Int)> { PoolEntry.reapsBefore($1.entry, $0.entry) }
        for (sender, queue) in senders where sender != entry.sender && !queue.entries.isEmpty {
            tails.push((queue.entries[queue.entries.count - 1], queue.entries.count - 1))
        }
        var evicted: [Hash] = []
        while count > config.countMax || bytes > config.bytesMax {
            guard let (victim, index) = tails.pop() else { throw .mempoolFull(feeToBeat: nil) }
            guard victim.fee < entry.fee else { throw .mempoolFull(feeToBeat: victim.fee) }
            evicted.append(victim.hash)
            count -= 1
            bytes -= victim.byteCount
            if index > 0, let queue = senders[victim.sender] { tails.push((queue.entries[index - 1], index - 1)) }
        }
        return evicted
    }

    /// The fee a replacement of a pending transaction paying `fee` must reach: `replacementFeePercent` of it,
    /// and always more than it.
    func replacementFee(for fee: Amount) -> Amount {
        let (scaled, overflow) = fee.multipliedReportingOverflow(by: config.replacementFeePercent)
        let bumped = overflow ? Amount.max : scaled / 100 + (scaled % 100 == 0 ? 0 : 1)
        return max(bumped, fee == .max ? .max : fee + 1)
    }

    mutating func apply(_ plan: AdmissionPlan, inserting entry: PoolEntry, account: AccountSnapshot) {
        for hash in [plan.replaced].compactMap({ $0 }) + plan.evicted { remove(hash) }
        // Mutated in place through the dictionary, so the queue's array is not copied.
        senders[entry.sender, default: SenderQueue(address: Address(publicKey: entry.sender), nextNonce: 0)]
            .nextNonce = account.nextNonce
        senders[entry.sender]!.insert(entry)
        byHash[entry.hash] = entry
        byteCount += entry.byteCount
    }

    @discardableResult
    mutating func remove(_ hash: Hash) -> Bool {
        guard let entry = byHash.removeValue(forKey: hash) else { return false }
        byteCount -= entry.byteCount
        guard let queue = senders.index(forKey: entry.sender) else { preconditionFailure("pool indexes disagree") }
        senders.values[queue].entries.removeAll { $0.nonce == entry.nonce }
        if senders.values[queue].entries.isEmpty { senders.remove(at: queue) }
        return true
    }

    /// Applies a fresh reading of a sender's account: drops nonces already used, fees it can no longer pay and fees
    /// below the minimum.
    /// Returns how many transactions were dropped.
    @discardableResult
    mutating func refresh(sender: PublicKey, account: AccountSnapshot, feeMin: Amount) -> Int {
        guard senders[sender] != nil else { return 0 }
        senders[sender]!.nextNonce = account.nextNonce
        let stale = senders[sender]!.entries.filter {
            $0.nonce < account.nextNonce || $0.fee > account.balance || $0.fee < feeMin
        }
        for entry in stale { remove(entry.hash) }
        return stale.count
    }

    /// Up to `maxCount` transactions within `maxBytes`, highest fee first among the senders' next transactions,
    /// each sender's in nonce order starting at its next nonce. A sender whose next transaction does not fit is
    /// skipped for the rest of the block, since its later nonces depend on it.
    func reap(maxBytes: Int, maxCount: Int) -> [Transaction] {
        // The heap holds (queue, position) cursors into the ready queues rather than copies of entries.
        let queues = senders.values.compactMap { queue in
            queue.entries.first?.nonce == queue.nextNonce ? queue.entries : nil
        }
        var heads = BinaryHeap<(queue: Int, position: Int)> { a, b in
            PoolEntry.reapsBefore(queues[a.queue][a.position], queues[b.queue][b.position])
        }
        for index in queues.indices { heads.push((index, 0)) }
        var reaped: [Transaction] = []
        reaped.reserveCapacity(min(maxCount, count))
        var bytes = 0
        while reaped.count < maxCount, let (queue, position) = heads.pop() {
            let entry = queues[queue][position]
            guard bytes + entry.byteCount <= maxBytes else { continue }
            reaped.append(entry.transaction)
            bytes += entry.byteCount
            let next = position + 1
            if next < queues[queue].count, queues[queue][next].nonce == entry.nonce + 1 { heads.push((queue, next)) }
        }
        return reaped
    }
}
