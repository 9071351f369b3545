import AssayBlobs
import AssayCrypto
import AssayEngine
import AssayLedger
import AssayMempool
import AssayRocksDB
import AssayStorage
import AssayTypes
import Foundation
import Logging
import Synchronization

/// The latest committed block as the RPC layer sees it, published after each commit so that readers
/// never wait for the engine.
public struct ChainSnapshot: Sendable {
    public var height: Height
    public var blockHash: Hash?
    public var stateRoot: Hash
    public var timeMs: UInt64
    public var transactions: Int
}

/// The ledger as the engine's application: it picks the mempool's transactions for a proposal,
/// executes proposed blocks against the committed state, and adds a decided block's state changes
/// and transaction index to the engine's commit batch. Called only on the engine's queue.
final class LedgerApplication: BlockExecutor, @unchecked Sendable {
    private let chainID: String
    /// Executes blocks on the committed state once each and commits their outcomes (shared with the simulation).
    private let replica: LedgerReplica<RocksDBStore>
    private let mempool: Mempool
    /// Sizes proposals by what executing and committing blocks recently cost on this node.
    private var sizer: ProposalSizer
    private let blockBytesMax: Int
    private let blobs: BlobStore
    private let blobQuorumWaitBlocksMax: UInt64
    /// Starts fetching a blob from peers (a no-op until the node has a fetcher); never waits for it.
    private let requestBlob: @Sendable (BlobRef) -> Void
    /// Fetches a blob from peers and returns once it is held; throws when its deadline passes first.
    private let fetchBlob: @Sendable (BlobRef) async throws -> Void
    /// How long to rest after a fetch that failed before trying again (a fetch with no peer can fail at once).
    private let fetchRetryPause: Duration
    private let logger: Logger
    /// How long executing each block of the current height took, and preparing its commit: the cost the sizer
    /// learns from.
    private var executionNs: [BlockKey: UInt64] = [:]
    private var commitNs: UInt64 = 0
    /// The outcome of the block being committed, between `commitWrites` and `didCommit`.
    private var committing: (key: BlockKey, outcome: BlockOutcome)?
    let snapshot: Mutex<ChainSnapshot>
    /// Called after each commit (off the engine's lock) with the block and its outcome.
    var onCommit: (@Sendable (Block, BlockOutcome) -> Void)?

    typealias BlockKey = LedgerReplica<RocksDBStore>.BlockKey

    init(
        chainID: String, ledger: Ledger, store: RocksDBStore, mempool: Mempool,
        committed: ChainSnapshot, blockTransactionsMax: Int, proposalBudgetMs: Int, blockBytesMax: Int,
        blobs: BlobStore,
        blobQuorumWaitBlocksMax: UInt64 = BlobQuorum.waitBlocksMaxDefault,
        requestBlob: @escaping @Sendable (BlobRef) -> Void = { _ in },
        fetchBlob: @escaping @Sendable (BlobRef) async throws -> Void, fetchRetryPause: Duration = .seconds(1),
        logger: Logger
    ) {
        self.chainID = chainID
        replica = LedgerReplica(ledger: ledger, store: store, committedRoot: committed.stateRoot)
        self.mempool = mempool
        sizer = ProposalSizer(budgetNs: UInt64(max(1, proposalBudgetMs)) * 1_000_000, countMax: blockTransactionsMax)
        self.blockBytesMax = blockBytesMax
        self.blobs = blobs
        self.blobQuorumWaitBlocksMax = blobQuorumWaitBlocksMax
        self.requestBlob = requestBlob
        self.fetchBlob = fetchBlob
        self.fetchRetryPause = fetchRetryPause
        self.logger = logger
        snapshot = Mutex(committed)
    }

    func transactionsForNewBlock(_ context: ExecutionContext) throws(ExecutionError) -> [Transaction] {
        // The proposer never includes a transaction whose blobs it lacks (the pool admitted it while they were
        // held, but a blob can be collected since), nor, for a while, one whose blobs too few validators hold.
        let held = mempool.reap(maxBytes: blockBytesMax, maxCount: sizer.count)
            .filter { $0.body.firstMissingBlob(heldLength: blobs.heldLength) == nil }
        let blobQuorum = BlobQuorum(validators: context.validators, waitBlocksMax: blobQuorumWaitBlocksMax)
        let candidates = blobQuorum.proposable(held, proposer: context.proposer) { self.mempool.blobHolding(of: $0) }
        guard !candidates.isEmpty else { return [] }
        let outcome: BlockOutcome
        do { outcome = try run(context, candidates) } catch {
            // A blob collected since admission makes the candidates invalid here: propose none this time.
            guard case .invalid = error else { throw error }
            return []
        }
        // Transactions that fail their checks against the latest state (a stale nonce, say) are left out.
        return outcome.included(from: candidates)
    }

    func execute(_ context: ExecutionContext, transactions: [Transaction]) throws(ExecutionError) -> Hash {
        try includedRoot(of: run(context, transactions))
    }

    /// A certified block from block sync or a peer ahead: only the blobs the ledger reads are awaited. Outputs and
    /// traces the certificate shows were available are not fetched, so catching up does not download every
    /// retained trace, nor wait for blobs that the chain has since released.
    func executeDecided(_ block: Block, validators: ValidatorSet) throws(ExecutionError) -> Hash {
        try includedRoot(of: runDecided(block, validators: validators, requiringCarriedBlobs: false).outcome)
    }

    /// The state root of a block whose every transaction passed its checks.
    private func includedRoot(of outcome: BlockOutcome) throws(ExecutionError) -> Hash {
        if let bad = outcome.firstExcluded { throw .invalid(.transactionFailsChecks(bad)) }
        return outcome.stateRoot
    }

    func commitWrites(for block: Block, validators: ValidatorSet, into batch: inout WriteBatch)
        throws(ExecutionError) -> [Validator]
    {
        let started = DispatchTime.now().uptimeNanoseconds
        defer { commitNs = DispatchTime.now().uptimeNanoseconds - started }
        let (key, outcome) = try runDecided(block, validators: validators)
        do { try replica.addCommitWrites(outcome, of: block, into: &batch) } catch { throw .fault(error.description) }
        TransactionIndex.write(block, outcome, into: &batch)
        committing = (key, outcome)
        return outcome.validatorUpdates
    }

    func didCommit(_ block: Block) throws(ExecutionError) {
        do { try replica.didCommit(block) } catch { throw .fault(error.description) }
        let (key, outcome) = (committing?.key, committing?.outcome)
        committing = nil
        sizer.record(transactions: block.transactions.count, nanoseconds: (key.flatMap { executionNs[$0] } ?? 0) + commitNs)
        executionNs = [:]
        snapshot.withLock {
            $0 = ChainSnapshot(
                height: block.height, blockHash: block.hash, stateRoot: block.header.stateRoot,
                timeMs: block.header.timeMs, transactions: block.transactions.count)
        }
        if let outcome { onCommit?(block, outcome) }
    }

    /// Executes (or recalls) the block on the committed state; a block lacking a blob is invalid here.
    private func run(_ context: ExecutionContext, _ transactions: [Transaction]) throws(ExecutionError)
        -> BlockOutcome
    {
        switch try attempt(context, transactions) {
        case let .done(_, outcome): return outcome
        case let .lacking(ref): throw unavailable(ref)
        }
    }

    /// Executes a decided block, waiting for every blob it lacks (every blob it carries, or only those the ledger
    /// reads): the block cannot be skipped, and validators with more than 2/3 of the power held its blobs when they
    /// voted for it, so peers can serve them.
    private func runDecided(_ block: Block, validators: ValidatorSet, requiringCarriedBlobs: Bool = true)
        throws(ExecutionError) -> (key: BlockKey, outcome: BlockOutcome)
    {
        while true {
            switch try attempt(
                ExecutionContext(block.header, validators: validators), block.transactions,
                requiringCarriedBlobs: requiringCarriedBlobs)
            {
            case let .done(key, outcome): return (key, outcome)
            case let .lacking(ref): try awaitBlob(ref, decidedAt: block.height)
            }
        }
    }

    private enum Attempt {
        case done(BlockKey, BlockOutcome)
        case lacking(BlobRef)
    }

    /// Executes (or recalls) the block on the committed state. Signatures the mempool already verified are
    /// not verified again.
    private func attempt(
        _ context: ExecutionContext, _ transactions: [Transaction], requiringCarriedBlobs: Bool = true
    ) throws(ExecutionError) -> Attempt {
        var blockContext = BlockContext(
            chainID: chainID, height: context.height, timeMs: context.timeMs, proposer: context.proposer,
            validators: context.validators, blobs: StoreBlobSource(store: blobs, logger: logger))
        let key = BlockKey(blockContext, transactions: transactions)
        if let known = replica.outcome(key) { return .done(key, known) }
        // The availability rule: a block is executed (and so prevoted) only with every blob it carries held.
        // The ledger reads models and inputs itself; outputs it never reads, so they are checked here.
        if requiringCarriedBlobs,
            let missing = transactions.lazy.flatMap(\.body.carriedBlobs).first(where: { !holds($0) })
        {
            return .lacking(missing)
        }
        let started = DispatchTime.now().uptimeNanoseconds
        blockContext.checkSignatures = !mempool.haveValidSignatures(transactions)
        do {
            let outcome = try replica.execute(blockContext, transactions, key: key)
            executionNs[key] = DispatchTime.now().uptimeNanoseconds - started
            return .done(key, outcome)
        } catch .blobUnavailable(let ref) {
            return .lacking(ref)
        } catch {
            throw .fault("ledger: \(error)")
        }
    }

    /// Blocks the engine's queue until `ref` is held, fetching it again each time a fetch fails. The fetch never
    /// needs this queue: chunk answers go from the P2P inbound loop straight to the fetcher.
    private func awaitBlob(_ ref: BlobRef, decidedAt height: Height) throws(ExecutionError) {
        // Held yet unreadable (a disk fault): fetching cannot help, and trying again would spin.
        guard !holds(ref) else { throw .fault("blob \(ref.id) is held but cannot be read") }
        var attempts = 0
        while !holds(ref) {
            attempts += 1
            logger.warning(
                "block \(height) is decided but blob \(ref.id) (\(ref.length) bytes) is not held: awaiting it from peers",
                metadata: ["attempt": "\(attempts)"])
            if let error = Self.waitFor({ [fetchBlob] in try await fetchBlob(ref) }) {
                logger.warning("fetching blob \(ref.id) for decided block \(height) failed: \(error); retrying")
                Thread.sleep(forTimeInterval: Double(fetchRetryPause / .milliseconds(1)) / 1_000)
            }
        }
        logger.info("blob \(ref.id) for decided block \(height) arrived", metadata: ["attempts": "\(attempts)"])
    }

    /// Runs `operation` to its end from synchronous code and returns its error, if any. The caller must not be a
    /// thread of the cooperative pool (the engine's queue is not).
    private static func waitFor(_ operation: @escaping @Sendable () async throws -> Void) -> (any Error)? {
        let outcome = Outcome()
        Task {
            do { try await operation() } catch { outcome.failure.withLock { $0 = error } }
            outcome.finished.signal()
        }
        outcome.finished.wait()
        return outcome.failure.withLock { $0 }
    }

    private final class Outcome: Sendable {
        let finished = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
    }

    private func holds(_ ref: BlobRef) -> Bool { blobs.status(ref) == .complete(ref: ref) }

    /// A block this node cannot execute for lack of a blob: it prevotes nil and fetches the blob, so that a
    /// later round (or its commit) finds it.
    private func unavailable(_ ref: BlobRef) -> ExecutionError {
        requestBlob(ref)
        return .invalid(.blobUnavailable(ref.id.digest, length: ref.length))
    }
}

/// Nonces and balances for mempool admission, read from the committed state.
struct CommittedAccounts: AccountStateReader {
    let store: RocksDBStore

    func nonce(of address: Address) -> UInt64 { account(address).nonce }
    func balance(of address: Address) -> Amount { account(address).balance }

    private func account(_ address: Address) -> Account {
        (try? LedgerQuery(store: store).account(address)) ?? Account()
    }
}

/// The ledger's and the replay worker's view of the blob store: bytes of a complete blob of exactly the referenced
/// length. What is read is checked as it is read (a whole blob against its id, a range's chunks against the blob's
/// leaf hashes): a copy corrupted on this node's disk would otherwise make this node's execution differ from every
/// other node's. A corrupt copy is removed and reported as not held, so the node fetches it again from peers.
struct StoreBlobSource: BlobSource {
    let store: BlobStore
    let logger: Logger

    func read(_ ref: BlobRef) throws -> [UInt8] {
        guard store.status(ref) == .complete(ref: ref) else { throw BlobError.notFound(ref.id) }
        let reader = try store.open(ref.id)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(ref.length))
        var hasher = BlobHasher()
        while let piece = try reader.next() {
            bytes += piece
            hasher.update(piece)
        }
        let found = hasher.finish().ref
        guard found == ref else { throw corrupt(ref, "its bytes hash to \(found.id)") }
        return bytes
    }

    /// Reads only the chunks that overlap `range`, each checked against the blob's leaf hashes.
    func read(_ ref: BlobRef, range: Range<UInt64>) throws -> [UInt8] {
        guard store.status(ref) == .complete(ref: ref) else { throw BlobError.notFound(ref.id) }
        guard range.upperBound <= ref.length else {
            throw BlobError.rangeOutOfBounds(lower: range.lowerBound, upper: range.upperBound, length: ref.length)
        }
        let tree = try store.tree(ref.id)
        guard tree.ref == ref else { throw corrupt(ref, "its leaf hashes give \(tree.id)") }
        guard !range.isEmpty else { return [] }
        let chunkBytes = UInt64(blobChunkBytes)
        let first = Int(range.lowerBound / chunkBytes)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(range.count)
        for index in first...Int((range.upperBound - 1) / chunkBytes) {
            let chunk = try store.readChunk(ref.id, index: index)
            guard blobLeafHash(chunk) == tree.leaves[index] else { throw corrupt(ref, "chunk \(index) differs") }
            let start = UInt64(index) * chunkBytes
            let lower = Int(max(range.lowerBound, start) - start)
            let upper = Int(min(range.upperBound, start + UInt64(chunk.count)) - start)
            bytes += chunk[lower..<upper]
        }
        return bytes
    }

    private func corrupt(_ ref: BlobRef, _ finding: String) -> BlobError {
        logger.error("blob \(ref.id) held on disk is corrupt (\(finding)): removed, to be fetched again")
        _ = try? store.remove(ref.id)
        return BlobError.notFound(ref.id)
    }
}
