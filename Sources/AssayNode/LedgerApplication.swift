import AssayCrypto
import AssayEngine
import AssayLedger
import AssayMempool
import AssayRocksDB
import AssayStorage
import AssayTypes
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
    private let validators: ValidatorSet
    private let ledger: Ledger
    private let store: RocksDBStore
    private let mempool: Mempool
    private let blockTransactionsMax: Int
    private let blockBytesMax: Int
    private var committedRoot: Hash
    /// Outcomes of blocks executed at the current height, so a block is executed once however often it is seen.
    private var outcomes: [OutcomeKey: BlockOutcome] = [:]
    let snapshot: Mutex<ChainSnapshot>
    /// Called after each commit (off the engine's lock) with the block and its outcome.
    var onCommit: (@Sendable (Block, BlockOutcome) -> Void)?

    struct OutcomeKey: Hashable {
        let context: ExecutionContext
        let transactionsRoot: Hash
    }

    init(
        chainID: String, validators: ValidatorSet, ledger: Ledger, store: RocksDBStore, mempool: Mempool,
        committed: ChainSnapshot, blockTransactionsMax: Int, blockBytesMax: Int
    ) {
        self.chainID = chainID
        self.validators = validators
        self.ledger = ledger
        self.store = store
        self.mempool = mempool
        self.blockTransactionsMax = blockTransactionsMax
        self.blockBytesMax = blockBytesMax
        committedRoot = committed.stateRoot
        snapshot = Mutex(committed)
    }

    func transactionsForNewBlock(_ context: ExecutionContext) -> [Transaction] {
        let candidates = mempool.reap(maxBytes: blockBytesMax, maxCount: blockTransactionsMax)
        guard !candidates.isEmpty, let outcome = try? run(context, candidates) else { return [] }
        // Transactions that fail their checks against the latest state (a stale nonce, say) are left out.
        let included = zip(candidates, outcome.results).filter { $0.1.isIncluded }.map(\.0)
        return included
    }

    func execute(_ context: ExecutionContext, transactions: [Transaction]) throws(ExecutionError) -> Hash {
        let outcome = try run(context, transactions)
        guard outcome.allIncluded else {
            let bad = outcome.results.first { !$0.isIncluded }!
            throw ExecutionError("block includes transaction \(bad.transactionHash) that fails its checks")
        }
        return outcome.stateRoot
    }

    func commitWrites(for block: Block, into batch: inout WriteBatch) throws(ExecutionError) {
        let outcome = try run(ExecutionContext(block.header), block.transactions)
        guard outcome.stateRoot == block.header.stateRoot else {
            throw ExecutionError("state root of block \(block.height) differs from its header")
        }
        for operation in outcome.changes.operations {
            switch operation {
            case let .put(namespace, key, value): batch.put(key, value, in: namespace)
            case let .delete(namespace, key): batch.delete(key, in: namespace)
            }
        }
        TransactionIndex.write(block, outcome, into: &batch)
    }

    func didCommit(_ block: Block) {
        let outcome = outcomes[OutcomeKey(
            context: ExecutionContext(block.header), transactionsRoot: block.header.transactionsRoot)]
        committedRoot = block.header.stateRoot
        outcomes = [:]
        snapshot.withLock {
            $0 = ChainSnapshot(
                height: block.height, blockHash: block.hash, stateRoot: block.header.stateRoot,
                timeMs: block.header.timeMs, transactions: block.transactions.count)
        }
        if let outcome { onCommit?(block, outcome) }
    }

    /// Executes (or recalls) the block on the committed state. Signatures the mempool already verified are
    /// not verified again.
    private func run(_ context: ExecutionContext, _ transactions: [Transaction]) throws(ExecutionError)
        -> BlockOutcome
    {
        let key = OutcomeKey(context: context, transactionsRoot: Block.transactionsRoot(transactions))
        if let known = outcomes[key] { return known }
        let allVerified = transactions.allSatisfy { mempool.hasValidSignature($0, hash: $0.hash) }
        let blockContext = BlockContext(
            chainID: chainID, height: context.height, timeMs: context.timeMs, proposer: context.proposer,
            validators: validators, checkSignatures: !allVerified)
        do {
            let outcome = try ledger.execute(
                parentRoot: committedRoot, store: store, context: blockContext, transactions: transactions)
            outcomes[key] = outcome
            return outcome
        } catch {
            throw ExecutionError("ledger: \(error)")
        }
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
