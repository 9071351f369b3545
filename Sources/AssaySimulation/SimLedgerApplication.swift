import AssayCrypto
import AssayEngine
import AssayLedger
import AssayMempool
import AssayStorage
import AssayTypes

/// The real application in the simulation: the ledger on the node's simulated disk, through the same
/// `LedgerReplica` as the node's `LedgerApplication`, and a real mempool that the workload submits to. Blobs are the
/// job fixture's, held by every node. Confined to its scenario's thread.
final class SimLedgerApplication: BlockExecutor {
    static let blockTransactionsMax = 64
    static let blockBytesMax = 1 << 20

    let mempool: Mempool
    private let replica: LedgerReplica<SimulatedDisk>
    private let onCommit: (Block, [Validator]) -> Void
    /// The validator changes of the block being committed, between `commitWrites` and `didCommit`.
    private var committingChanges: [Validator] = []
    private(set) var height: Height

    /// Opens the ledger on `disk`, writing `genesis` first into an empty one (synced, so a crash keeps it).
    init(genesis: Genesis, disk: SimulatedDisk, committedHeight: Height, onCommit: @escaping (Block, [Validator]) -> Void)
        throws
    {
        let ledger = Ledger(cacheEntriesMax: 10_000)
        var root = try Ledger.stateRoot(of: disk)
        if root == .zero {
            let (changes, genesisRoot) = try ledger.genesis(genesis, store: disk)
            try disk.write(changes, durability: .synced)
            root = genesisRoot
        }
        replica = LedgerReplica(ledger: ledger, store: disk, committedRoot: root)
        mempool = Mempool(
            config: MempoolConfig(chainID: genesis.chainID, countMax: 1_000), accounts: CommittedAccounts(disk: disk),
            committedHeight: committedHeight, heldBlobLength: { JobFixture.shared.heldLength($0) })
        height = committedHeight
        self.onCommit = onCommit
    }

    var stateRoot: Hash { replica.committedRoot }

    func transactionsForNewBlock(_ context: ExecutionContext) throws(ExecutionError) -> [Transaction] {
        let candidates = mempool.reap(maxBytes: Self.blockBytesMax, maxCount: Self.blockTransactionsMax)
        guard !candidates.isEmpty else { return [] }
        return try run(context, candidates).included(from: candidates)
    }

    func execute(_ context: ExecutionContext, transactions: [Transaction]) throws(ExecutionError) -> Hash {
        let outcome = try run(context, transactions)
        if let bad = outcome.firstExcluded { throw .invalid(.transactionFailsChecks(bad)) }
        return outcome.stateRoot
    }

    func commitWrites(for block: Block, validators: ValidatorSet, into batch: inout WriteBatch)
        throws(ExecutionError) -> [Validator]
    {
        let outcome = try run(ExecutionContext(block.header, validators: validators), block.transactions)
        do { try replica.addCommitWrites(outcome, of: block, into: &batch) } catch { throw .fault(error.description) }
        committingChanges = outcome.validatorUpdates
        return outcome.validatorUpdates
    }

    func didCommit(_ block: Block) throws(ExecutionError) {
        do { try replica.didCommit(block) } catch { throw .fault(error.description) }
        height = block.height
        mempool.update(committed: block.transactions, height: block.height)
        mempool.recheck()
        onCommit(block, committingChanges)
    }

    /// Executes (or recalls) the block on the committed state; signatures the mempool checked are not checked again.
    private func run(_ context: ExecutionContext, _ transactions: [Transaction]) throws(ExecutionError) -> BlockOutcome {
        var blockContext = BlockContext(
            chainID: SimChain.chainID, height: context.height, timeMs: context.timeMs, proposer: context.proposer,
            validators: context.validators, blobs: JobFixture.shared.blobs)
        let key = LedgerReplica<SimulatedDisk>.BlockKey(blockContext, transactions: transactions)
        if let known = replica.outcome(key) { return known }
        blockContext.checkSignatures = !transactions.allSatisfy { mempool.isVerified($0.hash) }
        do { return try replica.execute(blockContext, transactions, key: key) } catch {
            throw .fault("ledger: \(error)")
        }
    }
}

/// Nonces and balances for mempool admission, read from the node's committed state.
struct CommittedAccounts: AccountStateReader {
    let disk: SimulatedDisk

    func nonce(of address: Address) -> UInt64 { account(address).nonce }
    func balance(of address: Address) -> Amount { account(address).balance }

    private func account(_ address: Address) -> Account {
        (try? LedgerQuery(store: disk).account(address)) ?? Account()
    }
}
