import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayTypes
import Dispatch
import Synchronization

/// A transaction the mempool accepted.
public struct Admission: Equatable, Sendable {
    public let transaction: Transaction
    public let hash: Hash
    /// The pending transaction of the same sender and nonce that this one replaced, if any.
    public let replaced: Hash?
    /// Transactions of other senders dropped to make room: gapped ones, or executable ones paying less.
    public let evicted: [Hash]
}

/// What a node knows of who holds the blobs of a pending transaction that carries some.
public struct BlobHolding: Equatable, Sendable {
    /// The peers that gossiped the transaction to this node, in arrival order: a node gossips such a transaction
    /// only once it holds its blobs.
    public var holders: [PublicKey]
    /// Committed blocks since this node admitted the transaction.
    public var blocksPending: UInt64

    public init(holders: [PublicKey], blocksPending: UInt64) {
        self.holders = holders
        self.blocksPending = blocksPending
    }
}

/// The node's pool of pending transactions: bounded by count and bytes, ordered by fee with each sender's
/// nonces in order, and the single place where a transaction's signature is checked.
///
/// Transactions waiting behind a missing nonce ("gapped") cannot execute and pay nothing while they wait, so
/// they are bounded per sender and in total, expire after `gappedLifetimeBlocks` committed blocks, and never
/// keep out an executable transaction: one that pays the minimum fee evicts them when the pool is full. The pool
/// reads no clock; it ages transactions by the committed heights the node reports through `update`.
///
/// Thread-safe. Signature checks run outside the pool's lock, so admissions from several threads verify in
/// parallel. Account state comes from the injected `AccountStateReader` (the latest committed state).
public final class Mempool: Sendable {
    public let config: MempoolConfig
    private let accounts: any AccountStateReader
    private let pool: Mutex<PoolState>
    private let signatures: Mutex<SignatureCache>
    private let feeFloor: Atomic<Amount>
    private let heldBlobLength: @Sendable (BlobID) -> UInt64?

    /// `committedHeight` is the chain's height when the pool starts; `update` advances it. `heldBlobLength` gives the
    /// length of a blob the node holds in full (its blob store), nil otherwise; a pool without one admits no
    /// transaction that references a blob.
    public init(
        config: MempoolConfig, accounts: any AccountStateReader, committedHeight: Height = 0,
        heldBlobLength: @escaping @Sendable (BlobID) -> UInt64? = { _ in nil }
    ) {
        self.config = config
        self.accounts = accounts
        self.heldBlobLength = heldBlobLength
        feeFloor = Atomic(config.feeMin)
        pool = Mutex(PoolState(config: config, committedHeight: committedHeight))
        signatures = Mutex(SignatureCache(capacity: config.signatureCacheCapacity))
    }

    /// Admits a transaction given as its canonical bytes, from RPC or gossiped by `peer`. The peers that send a
    /// transaction carrying blobs are recorded (`blobHolding`), also when it is already pending.
    @discardableResult
    public func admit(_ bytes: [UInt8], from peer: PublicKey? = nil) throws(AdmissionError) -> Admission {
        guard bytes.count <= config.transactionBytesMax else {
            throw .tooLarge(bytes: bytes.count, max: config.transactionBytesMax)
        }
        let transaction: Transaction
        do { transaction = try Transaction(canonicalBytes: bytes) } catch { throw .malformed(error) }
        // Decoding accepts only canonical bytes, so hashing them is hashing the transaction's encoding.
        let entry = PoolEntry(transaction: transaction, hash: SHA256.hash(bytes), byteCount: bytes.count)
        // A pending transaction passed every check already; a peer's copy of it only says that peer holds its blobs.
        if let peer, pool.withLock({ $0.recordSender(peer, of: entry.hash) }) { throw .duplicate(entry.hash) }
        guard transaction.chainID == config.chainID else {
            throw .wrongChain(expected: config.chainID, got: transaction.chainID)
        }
        let minimumFee = self.minimumFee
        guard transaction.fee >= minimumFee else { throw .feeTooLow(fee: transaction.fee, min: minimumFee) }
        let account = AccountSnapshot(reading: accounts, address: transaction.senderAddress)
        // A cheap refusal before the expensive signature check; the rules run again under the lock below.
        _ = try pool.withLock { pool throws(AdmissionError) in try pool.plan(for: entry, account: account) }
        guard hasValidSignature(transaction, hash: entry.hash) else { throw .badSignature }
        // The availability rule (docs/consensus.md): only what this node could put in a block enters its pool.
        // Checked after the signature, so a peer's unsigned or unpayable transaction never starts a blob fetch.
        if let missing = transaction.body.firstMissingBlob(heldLength: heldBlobLength) {
            throw .blobNotHeld(missing)
        }
        return try pool.withLock { pool throws(AdmissionError) in
            let plan = try pool.plan(for: entry, account: account)
            pool.apply(plan, inserting: entry, account: account)
            if let peer { _ = pool.recordSender(peer, of: entry.hash) }
            return Admission(transaction: transaction, hash: entry.hash, replaced: plan.replaced, evicted: plan.evicted)
        }
    }

    /// The lowest fee admitted: `config.feeMin` until the node reports the chain's current minimum.
    public var minimumFee: Amount { feeFloor.load(ordering: .relaxed) }

    /// Follows the chain's `min_fee` (governance can change it), so the pool never holds transactions that no
    /// block may include; pending ones below it leave at the next `update` or `recheck`.
    public func setMinimumFee(_ fee: Amount) { feeFloor.store(fee, ordering: .relaxed) }

    /// True when this transaction's signature was checked and found valid; block execution skips the check then.
    public func isVerified(_ hash: Hash) -> Bool {
        signatures.withLock { $0.verdict(for: hash) } == true
    }

    /// The signature verdict from the cache, or checked now and cached. Block execution calls this for
    /// transactions it did not see through the mempool.
    public func hasValidSignature(_ transaction: Transaction, hash: Hash) -> Bool {
        if let verdict = signatures.withLock({ $0.verdict(for: hash) }) { return verdict }
        let valid = transaction.hasValidSignature
        signatures.withLock { $0.record(valid, for: hash) }
        return valid
    }

    /// Whether every signature in `transactions` is valid. Those without a recorded verdict are verified on every
    /// core: a proposal from a peer can carry thousands this node has not received yet (issue 15 defect 7).
    public func haveValidSignatures(_ transactions: [Transaction]) -> Bool {
        let invalid = Atomic<Bool>(false)
        DispatchQueue.concurrentPerform(iterations: transactions.count) { index in
            guard !invalid.load(ordering: .relaxed) else { return }
            let transaction = transactions[index]
            if !hasValidSignature(transaction, hash: transaction.hash) { invalid.store(true, ordering: .relaxed) }
        }
        return !invalid.load(ordering: .relaxed)
    }

    /// Transactions for the next block proposal; see `PoolState.reap` for the order. The pool is unchanged:
    /// transactions leave it only when committed (`update`) or found stale (`recheck`).
    public func reap(maxBytes: Int, maxCount: Int) -> [Transaction] {
        pool.withLock { $0.reap(maxBytes: maxBytes, maxCount: maxCount) }
    }

    /// Removes the transactions of the block committed at `height` and refreshes their senders; cost
    /// proportional to the block. The rest of the pool is rechecked (and expired) by `recheck`.
    public func update(committed: [Transaction], height: Height) {
        var senders: [PublicKey: Address] = [:]
        for transaction in committed { senders[transaction.sender] = transaction.senderAddress }
        let accounts = senders.mapValues { AccountSnapshot(reading: self.accounts, address: $0) }
        pool.withLock { pool in
            pool.advance(to: height)
            for transaction in committed { pool.remove(transaction.hash) }
            for (sender, account) in accounts { pool.refresh(sender: sender, account: account, feeMin: minimumFee) }
            pool.trimGapped()
        }
    }

    /// Re-reads every pending sender's account and drops transactions whose nonce was used, whose fee the
    /// sender can no longer pay or is below the minimum, and gapped ones past their lifetime or over the caps.
    /// Meant to run off the commit path. It reads `sendersPerLock` accounts outside the lock, then applies them
    /// under it, and so on: admissions and reaps wait for one slice, never for the whole pool. Returns the
    /// number dropped.
    @discardableResult
    public func recheck(sendersPerLock: Int = 1_024) -> Int {
        precondition(sendersPerLock > 0)
        let senders = pool.withLock { pool in pool.senders.map { ($0.key, $0.value.address) } }
        let feeMin = minimumFee
        var dropped = 0
        for start in stride(from: 0, to: senders.count, by: sendersPerLock) {
            let slice = senders[start..<min(start + sendersPerLock, senders.count)]
            let accounts = slice.map { ($0.0, AccountSnapshot(reading: self.accounts, address: $0.1)) }
            dropped += pool.withLock { pool in
                accounts.reduce(0) { $0 + pool.refresh(sender: $1.0, account: $1.1, feeMin: feeMin) }
            }
        }
        return dropped + pool.withLock { $0.trimGapped() }
    }

    /// The nonce after the sender's last pending transaction, or nil when it has none pending.
    public func pendingNonce(of sender: PublicKey) -> UInt64? {
        pool.withLock { $0.senders[sender]?.entries.last.map { $0.nonce + 1 } }
    }

    public func contains(_ hash: Hash) -> Bool { pool.withLock { $0.byHash[hash] != nil } }

    public func transaction(_ hash: Hash) -> Transaction? { pool.withLock { $0.byHash[hash]?.transaction } }

    /// Whether a pending transaction matches; a scan of the whole pool, for rare questions (is evidence against
    /// this validator already pending?).
    public func containsTransaction(where matches: (Transaction) -> Bool) -> Bool {
        pool.withLock { $0.byHash.values.contains { matches($0.transaction) } }
    }

    /// Who is known to hold the blobs of the pending transaction `hash` (none are recorded for a transaction
    /// without blobs), and how long it has waited; nil when it is not pending.
    public func blobHolding(of hash: Hash) -> BlobHolding? { pool.withLock { $0.blobHolding(of: hash) } }

    /// Every blob a pending transaction references (so that garbage collection keeps it).
    public var referencedBlobIDs: Set<BlobID> {
        pool.withLock { Set($0.byHash.values.flatMap { $0.transaction.body.referencedBlobIDs }) }
    }

    /// Up to `limit` pending transactions (all of them when the limit allows): those a proposer would take now,
    /// in its order, then the gapped ones by fee.
    public func listing(limit: Int) -> [Transaction] { pool.withLock { $0.listing(limit: limit) } }

    public var count: Int { pool.withLock { $0.count } }

    /// How many pending transactions wait behind a missing nonce.
    public var gappedCount: Int { pool.withLock { $0.gappedCount } }

    public var byteCount: Int { pool.withLock { $0.byteCount } }
}
