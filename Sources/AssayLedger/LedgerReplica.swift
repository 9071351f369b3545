import AssayCrypto
import AssayStorage
import AssayTypes

/// The ledger as one replica's application, whatever drives it (the node's engine, the simulation's engines):
/// blocks executed on the committed state once each, their outcomes kept until the next commit, and a decided
/// block's outcome turned into the writes that commit it. Not thread-safe: one engine's queue calls it.
public final class LedgerReplica<Store: KeyValueStore>: @unchecked Sendable {
    /// What a block's outcome depends on: its context (not how blobs are read, nor whether signatures are checked
    /// again) and its transactions.
    public struct BlockKey: Hashable, Sendable {
        public let height: Height
        public let timeMs: UInt64
        public let proposer: PublicKey
        public let validators: ValidatorSet
        public let transactionsRoot: Hash

        public init(_ context: BlockContext, transactions: [Transaction]) {
            height = context.height
            timeMs = context.timeMs
            proposer = context.proposer
            validators = context.validators
            transactionsRoot = Block.transactionsRoot(transactions)
        }
    }

    /// This replica cannot execute blocks correctly (its stored state is not what the chain decided).
    public struct Fault: Error, CustomStringConvertible {
        public let description: String
    }

    public let ledger: Ledger
    public let store: Store
    public private(set) var committedRoot: Hash
    private var outcomes: [BlockKey: BlockOutcome] = [:]

    public init(ledger: Ledger, store: Store, committedRoot: Hash) {
        self.ledger = ledger
        self.store = store
        self.committedRoot = committedRoot
    }

    /// The outcome of a block already executed at this height.
    public func outcome(_ key: BlockKey) -> BlockOutcome? { outcomes[key] }

    /// Executes `transactions` as the block `context` describes on the committed state, without changing it, and
    /// keeps the outcome until the next commit.
    public func execute(_ context: BlockContext, _ transactions: [Transaction], key: BlockKey) throws(LedgerError)
        -> BlockOutcome
    {
        if let known = outcomes[key] { return known }
        let outcome = try ledger.execute(
            parentRoot: committedRoot, store: store, context: context, transactions: transactions)
        outcomes[key] = outcome
        return outcome
    }

    /// Adds the writes of a decided block's outcome to the commit batch. A block decided with another root than
    /// ours: our execution, not the block, is at fault.
    public func addCommitWrites(_ outcome: BlockOutcome, of block: Block, into batch: inout WriteBatch) throws(Fault) {
        guard outcome.stateRoot == block.header.stateRoot else {
            throw Fault(description: "block \(block.height) is decided with state root \(block.header.stateRoot), "
                + "ours is \(outcome.stateRoot)")
        }
        for operation in outcome.changes.operations {
            switch operation {
            case let .put(namespace, key, value): batch.put(key, value, in: namespace)
            case let .delete(namespace, key): batch.delete(key, in: namespace)
            }
        }
    }

    /// Once the batch holding `block` is durable: the stored state must be the block's. Forgets the height's outcomes.
    public func didCommit(_ block: Block) throws(Fault) {
        let stored: Hash
        do { stored = try Ledger.stateRoot(of: store) } catch {
            throw Fault(description: "reading the committed state root: \(error)")
        }
        guard stored == block.header.stateRoot else {
            throw Fault(description: "the state root on disk after block \(block.height) is \(stored), "
                + "its header's \(block.header.stateRoot)")
        }
        committedRoot = stored
        outcomes = [:]
    }
}

extension BlockOutcome {
    /// The candidates that passed their checks, in order: what a proposer puts in its block.
    public func included(from candidates: [Transaction]) -> [Transaction] {
        zip(candidates, results).filter { $0.1.isIncluded }.map(\.0)
    }

    /// The first transaction that failed its checks: a block carrying it is invalid.
    public var firstExcluded: Hash? { results.first { !$0.isIncluded }?.transactionHash }
}
