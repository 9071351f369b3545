import AssayAPI
import AssayBlobs
import AssayCrypto
import AssayLedger
import AssayMempool
import AssayTypes

/// What the RPC methods need from a node. AssayNode implements it over its engine, stores, mempool and
/// transport; the RPC layer only turns these values into JSON.
public protocol NodeAPI: Sendable {
    func status() async -> NodeStatus
    /// Returns normally when the node is healthy (running, storage usable).
    func health() async throws(NodeAPIError)
    func networkInfo() async -> NetworkInfo
    /// The committed block at `height`, or the latest one when `height` is nil.
    func block(height: Height?) async -> BlockRecord?
    func block(hash: Hash) async -> BlockRecord?
    /// The validator set of `height`, or of the next height when nil.
    func validators(height: Height?) async -> ValidatorsRecord?
    /// Admits transactions (canonical bytes) to the mempool and gossips the accepted ones; one result per input.
    func submit(_ transactions: [[UInt8]]) async -> [Result<Hash, AdmissionError>]
    /// Admits one transaction and returns once it is committed (or throws `.timedOut`).
    func submitAndWaitForCommit(_ transaction: [UInt8]) async throws(NodeAPIError) -> TransactionRecord
    /// A committed transaction with its result and events.
    func transaction(hash: Hash) async -> TransactionRecord?
    /// Every transaction's result and events in the committed block at `height` (the latest when nil), and the
    /// events of the block's end-of-block work; nil when no such block is committed.
    func blockResults(height: Height?) async throws(NodeAPIError) -> BlockResultsRecord?
    func account(_ address: Address) async -> AccountRecord

    // Committed state. Storage failures throw `.unavailable`.

    /// Live offers in id order, of `provider` and serving `kernel` when given.
    func offers(provider: Address?, kernel: String?) async throws(NodeAPIError) -> [OfferEntry]
    func job(id: Hash) async throws(NodeAPIError) -> JobEntry?
    /// Jobs matching `filter`, in id order, at most `filter.limit`.
    func jobs(_ filter: JobFilter) async throws(NodeAPIError) -> [JobEntry]
    func provider(_ address: Address) async throws(NodeAPIError) -> ProviderRecord
    /// A raw state entry at the latest committed height, with its proof if `prove`.
    func query(key: [UInt8], prove: Bool) async throws(NodeAPIError) -> StateQueryRecord
    func supply() async throws(NodeAPIError) -> SupplyRecord
    func params() async throws(NodeAPIError) -> Params
    /// The mempool's size and up to `limit` of its transactions, in the order a proposer would take them.
    func unconfirmedTransactions(limit: Int) async -> UnconfirmedRecord
    /// The node's one blob store (`<data dir>/blobs`), which HTTP uploads and downloads and `blob_status` use.
    var blobs: BlobStore { get }
}

public struct UnconfirmedRecord: Equatable, Sendable {
    public var count: Int
    public var totalBytes: Int
    public var transactions: [Transaction]

    public init(count: Int, totalBytes: Int, transactions: [Transaction]) {
        self.count = count
        self.totalBytes = totalBytes
        self.transactions = transactions
    }
}

public enum NodeAPIError: Error, Equatable, Sendable {
    case rejected(AdmissionError)
    case timedOut(Hash)
    case unavailable(String)
}

public struct NodeStatus: Equatable, Sendable {
    public var chainID: String
    public var nodeKey: PublicKey
    public var latestHeight: Height
    /// The lowest height whose block the node holds: 1, its state sync snapshot's height, or the first height
    /// pruning kept (`[storage] retain_blocks`).
    public var earliestHeight: Height
    public var latestBlockHash: Hash?
    public var latestStateRoot: Hash?
    public var latestBlockTimeMs: UInt64
    /// True while the node block-syncs instead of taking part in consensus.
    public var catchingUp: Bool
    public var mempoolCount: Int

    public init(
        chainID: String, nodeKey: PublicKey, latestHeight: Height, earliestHeight: Height, latestBlockHash: Hash?,
        latestStateRoot: Hash?, latestBlockTimeMs: UInt64, catchingUp: Bool, mempoolCount: Int
    ) {
        self.chainID = chainID
        self.nodeKey = nodeKey
        self.latestHeight = latestHeight
        self.earliestHeight = earliestHeight
        self.latestBlockHash = latestBlockHash
        self.latestStateRoot = latestStateRoot
        self.latestBlockTimeMs = latestBlockTimeMs
        self.catchingUp = catchingUp
        self.mempoolCount = mempoolCount
    }
}

public struct NetworkInfo: Equatable, Sendable {
    public struct Peer: Equatable, Sendable {
        public var nodeKey: PublicKey
        public var address: String
        /// True when this node dialed the peer.
        public var outbound: Bool

        public init(nodeKey: PublicKey, address: String, outbound: Bool) {
            self.nodeKey = nodeKey
            self.address = address
            self.outbound = outbound
        }
    }

    public var listenAddress: String
    public var peers: [Peer]

    public init(listenAddress: String, peers: [Peer]) {
        self.listenAddress = listenAddress
        self.peers = peers
    }
}

/// A committed block and, when known, the commit certificate that finalised it.
public struct BlockRecord: Equatable, Sendable {
    public var block: Block
    public var commit: Commit?

    public init(block: Block, commit: Commit?) {
        self.block = block
        self.commit = commit
    }
}

public struct ValidatorsRecord: Equatable, Sendable {
    public var height: Height
    public var validators: ValidatorSet

    public init(height: Height, validators: ValidatorSet) {
        self.height = height
        self.validators = validators
    }
}

/// A committed transaction: where it is, how execution went, and the events it emitted.
public struct TransactionRecord: Equatable, Sendable {
    public var transaction: Transaction
    public var height: Height
    public var index: Int
    /// 0 for success; otherwise the ledger's rejection code, with `log` saying why.
    public var code: UInt32
    public var log: String
    public var events: [EventView]

    public init(
        transaction: Transaction, height: Height, index: Int, code: UInt32, log: String, events: [EventView]
    ) {
        self.transaction = transaction
        self.height = height
        self.index = index
        self.code = code
        self.log = log
        self.events = events
    }
}

/// How each transaction of a committed block ended, and what the block's end-of-block work did (automatic
/// settlements and refunds, stake releases, expiries, blob releases).
public struct BlockResultsRecord: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var hash: Hash
        public var code: UInt32
        public var log: String
        public var events: [EventView]

        public init(hash: Hash, code: UInt32, log: String, events: [EventView]) {
            self.hash = hash
            self.code = code
            self.log = log
            self.events = events
        }
    }

    public var height: Height
    public var blockHash: Hash
    /// In block order.
    public var transactions: [Entry]
    public var endBlockEvents: [EventView]

    public init(height: Height, blockHash: Hash, transactions: [Entry], endBlockEvents: [EventView]) {
        self.height = height
        self.blockHash = blockHash
        self.transactions = transactions
        self.endBlockEvents = endBlockEvents
    }
}

public struct AccountRecord: Equatable, Sendable {
    public var address: Address
    public var balance: Amount
    public var nonce: UInt64

    public init(address: Address, balance: Amount, nonce: UInt64) {
        self.address = address
        self.balance = balance
        self.nonce = nonce
    }
}
