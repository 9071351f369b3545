import AssayCrypto
import AssayStorage
import AssayTypes

/// What the ledger needs to know about the block being executed, beyond its transactions.
public struct BlockContext: Sendable {
    public var chainID: String
    public var height: Height
    public var timeMs: UInt64
    /// Receives every included transaction's fee.
    public var proposer: PublicKey
    /// The validator set of this height: who may propose and vote in governance, and with what power.
    public var validators: ValidatorSet
    /// False when every signature was already verified (the mempool's cache, or a benchmark).
    public var checkSignatures: Bool
    /// Where model, input and output bytes are read from (the node's blob store).
    public var blobs: any BlobSource

    public init(
        chainID: String, height: Height, timeMs: UInt64, proposer: PublicKey, validators: ValidatorSet,
        checkSignatures: Bool = true, blobs: any BlobSource = NoBlobs()
    ) {
        self.chainID = chainID
        self.height = height
        self.timeMs = timeMs
        self.proposer = proposer
        self.validators = validators
        self.checkSignatures = checkSignatures
        self.blobs = blobs
    }
}

/// What happened to one transaction of the block.
public struct TransactionResult: Hashable, Sendable {
    public enum Status: Hashable, Sendable {
        /// In the block: `code` is `.ok` or why the body failed (fee and nonce were still taken).
        case included(ResultCode)
        /// Failed a check; must not be in a block.
        case excluded(Rejection)
    }

    public let transactionHash: Hash
    public let status: Status
    public let events: [LedgerEvent]

    public var isIncluded: Bool {
        if case .included = status { return true }
        return false
    }
}

/// Everything executing a block produced. Nothing is committed: the caller writes `changes` (with the block,
/// in one batch) once the block is decided, or drops them.
public struct BlockOutcome: Sendable {
    /// Puts and deletes in the `state` and `smt` namespaces, each key once, in a deterministic order.
    public let changes: WriteBatch
    /// One per transaction, in block order.
    public let results: [TransactionResult]
    /// Events of the end-of-block work: automatic settlements, releases, expiries.
    public let endBlockEvents: [LedgerEvent]
    public let stateRoot: Hash
    /// Validator powers that take effect at `effectiveHeight` (this height + 2), sorted by key; 0 removes.
    public let validatorUpdates: [Validator]
    public let effectiveHeight: Height

    /// A proposer keeps only these; a validator refuses a proposed block unless this is every transaction.
    public var allIncluded: Bool { results.allSatisfy(\.isIncluded) }
}
