import AssayCrypto
import AssayTypes

/// One pending transaction with what the pool sorts and counts it by.
struct PoolEntry: Sendable {
    let transaction: Transaction
    let hash: Hash
    let byteCount: Int
    /// The committed height when the pool took it in; a transaction that stays gapped expires by it.
    var admittedHeight: Height = 0

    var fee: Amount { transaction.fee }
    var nonce: UInt64 { transaction.nonce }
    var sender: PublicKey { transaction.sender }

    /// Reaping order: higher fee first, then lower hash. Hashes are unique, so this is a strict total order.
    static func reapsBefore(_ a: PoolEntry, _ b: PoolEntry) -> Bool {
        a.fee != b.fee ? a.fee > b.fee : a.hash < b.hash
    }
}

/// A sender's pending transactions, sorted by nonce, one per nonce. The first `executableCount` carry
/// consecutive nonces from `nextNonce`, so a block may include them now; the rest are "gapped": they wait behind
/// a missing nonce, and pay nothing while they wait.
struct SenderQueue: Sendable {
    let address: Address
    /// The sender's next nonce in the committed state as last read (it never decreases).
    var nextNonce: UInt64
    var entries: [PoolEntry] = []

    var executableCount: Int { Self.executableCount(of: entries, from: nextNonce) }
    var gappedCount: Int { entries.count - executableCount }

    static func executableCount(of entries: [PoolEntry], from nextNonce: UInt64) -> Int {
        var count = 0
        while count < entries.count && entries[count].nonce == nextNonce + UInt64(count) { count += 1 }
        return count
    }

    static func insert(_ entry: PoolEntry, into entries: inout [PoolEntry]) {
        let position = entries.firstIndex { $0.nonce > entry.nonce } ?? entries.count
        entries.insert(entry, at: position)
    }

    /// Removes and returns the entries for which `shouldDrop` holds.
    mutating func removeAll(where shouldDrop: (PoolEntry) -> Bool) -> [PoolEntry] {
        let dropped = entries.filter(shouldDrop)
        if !dropped.isEmpty { entries.removeAll(where: shouldDrop) }
        return dropped
    }

    /// Removes and returns the gapped entries that have expired and those beyond the first `keeping` (the highest
    /// nonces go first: they are the furthest from executing).
    mutating func pruneGapped(keeping: Int, isExpired: (PoolEntry) -> Bool) -> [PoolEntry] {
        let executable = executableCount
        let gapped = entries[executable...]
        let expired = gapped.filter(isExpired)
        let live = gapped.filter { !isExpired($0) }
        entries.removeSubrange(executable...)
        entries += live.prefix(keeping)
        return expired + live.dropFirst(keeping)
    }
}

/// What admitting one transaction changes: the pending transaction it replaces, those it evicts, and its
/// sender's transactions whose nonces the committed state has used meanwhile.
struct AdmissionPlan: Equatable, Sendable {
    var replaced: Hash?
    var evicted: [Hash] = []
    var used: [Hash] = []
}

/// The pool's size as admission checks it against the caps.
private struct Load {
    var count: Int
    var bytes: Int
    var gapped: Int

    func exceeds(_ config: MempoolConfig, countingGapped: Bool) -> Bool {
        count > config.countMax || bytes > config.bytesMax || (countingGapped && gapped > config.gappedMax)
    }

    mutating func remove(_ entry: PoolEntry, gapped isGapped: Bool) {
        count -= 1
        bytes -= entry.byteCount
        if isGapped { gapped -= 1 }
    }
}

/// Eviction candidates: the ends of the senders' executable or gapped runs, lowest fee first (among equal fees
/// the one reaped last). Popping a run's last entry offers the one before it, so evicting never opens a gap in
/// what can execute.
private struct EvictionCandidates {
    enum Run { case executable, gapped }

    private var heap = BinaryHeap<(entry: PoolEntry, index: Int, first: Int)> {
        PoolEntry.reapsBefore($1.entry, $0.entry)
    }
    private let senders: [PublicKey: SenderQueue]

    init(_ run: Run, of senders: [PublicKey: SenderQueue], sparing spared: PublicKey?) {
        self.senders = senders
        for (sender, queue) in senders where sender != spared {
            let executable = queue.executableCount
            let (first, end) = run == .executable ? (0, executable) : (executable, queue.entries.count)
            if end > first { heap.push((queue.entries[end - 1], end - 1, first)) }
        }
    }

    mutating func pop() -> PoolEntry? {
        guard let (entry, index, first) = heap.pop() else { return nil }
        if index > first, let queue = senders[entry.sender] { heap.push((queue.entries[index - 1], index - 1, first)) }
        return entry
    }
}

/// The pool's indexes and rules, a plain value guarded by the `Mempool`'s lock. Every mutating method keeps
/// `byHash`, the sender queues and the totals consistent.
struct PoolState: Sendable {
    let config: MempoolConfig
    private(set) var byHash: [Hash: PoolEntry] = [:]
    private(set) var senders: [PublicKey: SenderQueue] = [:]
    /// For pending transactions that carry blobs: the peers that gossiped them, in arrival order (a node gossips
    /// such a transaction only once it holds its blobs).
    private var blobHolders: [Hash: [PublicKey]] = [:]
    private(set) var byteCount = 0
    /// Gapped transactions over all senders.
    private(set) var gappedCount = 0
    /// The latest committed height the node reported; admissions are stamped with it.
    private(set) var committedHeight: Height

    init(config: MempoolConfig, committedHeight: Height = 0) {
        self.config = config
        self.committedHeight = committedHeight
    }

    var count: Int { byHash.count }

    /// Checks the stateful admission rules without changing anything.
    func plan(for entry: PoolEntry, account: AccountSnapshot) throws(AdmissionError) -> AdmissionPlan {
        guard byHash[entry.hash] == nil else { throw .duplicate(entry.hash) }
        let current = senders[entry.sender]
        let nextNonce = max(account.nextNonce, current?.nextNonce ?? 0)
        guard entry.nonce >= nextNonce else { throw .nonceTooLow(nonce: entry.nonce, expected: nextNonce) }
        guard entry.nonce - nextNonce < config.nonceGapMax else {
            throw .nonceTooFarAhead(nonce: entry.nonce, expected: nextNonce, gapMax: config.nonceGapMax)
        }
        guard entry.fee <= account.balance else { throw .insufficientBalance(balance: account.balance, fee: entry.fee) }
        var plan = AdmissionPlan()
        var entries = current?.entries ?? []
        var load = Load(
            count: count + 1, bytes: byteCount + entry.byteCount, gapped: gappedCount - (current?.gappedCount ?? 0))
        for used in entries where used.nonce < nextNonce {
            plan.used.append(used.hash)
            load.remove(used, gapped: false)
        }
        entries.removeAll { $0.nonce < nextNonce }
        if let index = entries.firstIndex(where: { $0.nonce == entry.nonce }) {
            let pending = entries[index]
            let required = replacementFee(for: pending.fee)
            guard entry.fee >= required, entry.fee > pending.fee else {
                throw .replacementUnderpriced(fee: entry.fee, required: required)
            }
            plan.replaced = pending.hash
            load.remove(pending, gapped: false)
            entries.remove(at: index)
        }
        SenderQueue.insert(entry, into: &entries)
        let executable = SenderQueue.executableCount(of: entries, from: nextNonce)
        let isExecutable = entry.nonce < nextNonce + UInt64(executable)
        load.gapped += entries.count - executable
        if !isExecutable && entries.count - executable > config.gappedPerSenderMax {
            throw .tooManyGapped(max: config.gappedPerSenderMax)
        }
        plan.evicted = try evictions(toFit: load, for: entry, executable: isExecutable)
        return plan
    }

    /// Transactions of other senders to drop so that the pool fits its caps again. Gapped ones go first, and an
    /// executable transaction evicts them whatever their fee (they cannot execute, so they cannot price out one
    /// that can); then, for an executable transaction only, the lowest-fee ends of other senders' executable runs.
    private func evictions(toFit load: Load, for entry: PoolEntry, executable: Bool) throws(AdmissionError) -> [Hash] {
        var load = load
        var evicted: [Hash] = []
        var gapped = EvictionCandidates(.gapped, of: senders, sparing: entry.sender)
        while load.exceeds(config, countingGapped: !executable), let victim = gapped.pop() {
            guard executable || victim.fee < entry.fee else { throw .mempoolFull(feeToBeat: victim.fee) }
            evicted.append(victim.hash)
            load.remove(victim, gapped: true)
        }
        guard load.exceeds(config, countingGapped: !executable) else { return evicted }
        guard executable else { throw .mempoolFull(feeToBeat: nil) }
        var runs = EvictionCandidates(.executable, of: senders, sparing: entry.sender)
        while load.exceeds(config, countingGapped: false) {
            guard let victim = runs.pop() else { throw .mempoolFull(feeToBeat: nil) }
            guard victim.fee < entry.fee else { throw .mempoolFull(feeToBeat: victim.fee) }
            evicted.append(victim.hash)
            load.remove(victim, gapped: false)
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
        for hash in plan.used + [plan.replaced].compactMap({ $0 }) + plan.evicted { remove(hash) }
        var entry = entry
        entry.admittedHeight = committedHeight
        if senders[entry.sender] == nil {
            senders[entry.sender] = SenderQueue(address: entry.transaction.senderAddress, nextNonce: account.nextNonce)
        }
        editQueue(of: entry.sender) { queue in
            queue.nextNonce = max(queue.nextNonce, account.nextNonce)
            SenderQueue.insert(entry, into: &queue.entries)
            return []
        }
        byHash[entry.hash] = entry
        byteCount += entry.byteCount
    }

    /// Records that `peer` sent the pending transaction `hash` (kept only for one that carries blobs, at most
    /// `blobHoldersMax` peers); false when that transaction is not pending.
    mutating func recordSender(_ peer: PublicKey, of hash: Hash) -> Bool {
        guard let entry = byHash[hash] else { return false }
        let holders = blobHolders[hash] ?? []
        if !entry.transaction.body.carriedBlobs.isEmpty && holders.count < config.blobHoldersMax
            && !holders.contains(peer)
        {
            blobHolders[hash] = holders + [peer]
        }
        return true
    }

    /// The peers recorded as holding a pending transaction's blobs and the committed blocks since its admission;
    /// nil when it is not pending.
    func blobHolding(of hash: Hash) -> BlobHolding? {
        guard let entry = byHash[hash] else { return nil }
        return BlobHolding(holders: blobHolders[hash] ?? [], blocksPending: committedHeight - entry.admittedHeight)
    }

    @discardableResult
    mutating func remove(_ hash: Hash) -> Bool {
        guard let entry = byHash[hash] else { return false }
        precondition(senders[entry.sender] != nil, "pool indexes disagree")
        editQueue(of: entry.sender) { queue in queue.removeAll { $0.nonce == entry.nonce } }
        return true
    }

    /// Records a newly committed height; gapped transactions age by it.
    mutating func advance(to height: Height) { committedHeight = max(committedHeight, height) }

    /// Applies a fresh reading of a sender's account: drops nonces already used, fees it can no longer pay, fees
    /// below the minimum, gapped transactions past their lifetime and gapped ones beyond the per-sender cap
    /// (dropping one from the middle of a run turns the rest of it into gapped ones). Returns how many it dropped.
    @discardableResult
    mutating func refresh(sender: PublicKey, account: AccountSnapshot, feeMin: Amount) -> Int {
        guard senders[sender] != nil else { return 0 }
        let (height, lifetime, keeping) = (committedHeight, config.gappedLifetimeBlocks, config.gappedPerSenderMax)
        return editQueue(of: sender) { queue in
            queue.nextNonce = max(queue.nextNonce, account.nextNonce)
            let next = queue.nextNonce
            let stale = queue.removeAll { $0.nonce < next || $0.fee > account.balance || $0.fee < feeMin }
            return stale + queue.pruneGapped(keeping: keeping) { height - $0.admittedHeight >= lifetime }
        }.count
    }

    /// Drops the lowest-fee gapped transactions while there are more than `gappedMax` (a refresh can turn
    /// executable transactions into gapped ones). Returns how many it dropped.
    @discardableResult
    mutating func trimGapped() -> Int {
        guard gappedCount > config.gappedMax else { return 0 }
        var candidates = EvictionCandidates(.gapped, of: senders, sparing: nil)
        var victims: [Hash] = []
        while victims.count < gappedCount - config.gappedMax, let victim = candidates.pop() {
            victims.append(victim.hash)
        }
        for hash in victims { remove(hash) }
        return victims.count
    }

    /// Runs `edit` on the sender's queue, which returns the entries it removed, and brings the hash index, the
    /// totals and the sender table up to date with it.
    @discardableResult
    private mutating func editQueue(of sender: PublicKey, _ edit: (inout SenderQueue) -> [PoolEntry]) -> [PoolEntry] {
        guard var queue = senders.removeValue(forKey: sender) else { return [] }
        gappedCount -= queue.gappedCount
        let removed = edit(&queue)
        for entry in removed {
            byHash[entry.hash] = nil
            blobHolders[entry.hash] = nil
            byteCount -= entry.byteCount
        }
        gappedCount += queue.gappedCount
        if !queue.entries.isEmpty { senders[sender] = queue }
        return removed
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

    /// Up to `limit` pending transactions, all of them when the limit allows: the executable ones in reaping
    /// order, then the gapped ones by fee.
    func listing(limit: Int) -> [Transaction] {
        var listed = reap(maxBytes: .max, maxCount: limit)
        guard listed.count < limit else { return listed }
        let gapped = senders.values.flatMap { $0.entries[$0.executableCount...] }.sorted(by: PoolEntry.reapsBefore)
        listed += gapped.prefix(limit - listed.count).map(\.transaction)
        return listed
    }
}
