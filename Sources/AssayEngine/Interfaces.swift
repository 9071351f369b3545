import AssayCodec
import AssayCrypto
import AssayConsensus
import AssayStorage
import AssayTypes

/// A peer's identity as the transport knows it (an index into the node's peer list).
public struct PeerID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (lhs: PeerID, rhs: PeerID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "peer\(rawValue)" }
}

/// Sends consensus messages. Delivery may be lost, late, duplicated or reordered: the engine
/// re-sends its own messages on the gossip timer and tolerates the rest.
public protocol Transport: AnyObject {
    func broadcast(_ message: ConsensusMessage)
    func send(_ message: ConsensusMessage, to peer: PeerID)
}

/// Timers the engine asks for; each comes back through `Engine.timerFired`.
public enum EngineTimer: Hashable, Sendable {
    case consensus(Timeout)
    /// Re-send own messages of the current height, so that lost messages do not stall a round.
    case gossip
    /// Build the proposal the core asked for, once the commit delay since the last block has passed.
    case buildProposal(height: Height, round: Round)
}

/// Time as the engine sees it: the proposer's block time and the timers.
public protocol Clock: AnyObject {
    var nowMs: UInt64 { get }
    func schedule(_ timer: EngineTimer, afterMs: UInt64)
}

/// Why the execution layer did not give a state root: a verdict on the block, or a fault of this node.
public enum ExecutionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The block is not one to vote for: the node prevotes nil and the chain goes on in a later round.
    case invalid(BlockRejection)
    /// This node cannot execute blocks correctly (storage failure, corrupt state, a held blob that cannot be read,
    /// an application out of step with the engine): whatever it voted could be wrong, so it stops, loudly.
    case fault(String)

    public var description: String {
        switch self {
        case let .invalid(rejection): "block invalid: \(rejection)"
        case let .fault(cause): "local fault: \(cause)"
        }
    }
}

/// Why a block is invalid.
public enum BlockRejection: Equatable, Sendable, CustomStringConvertible {
    /// A transaction fails the checks that keep it out of any block (signature, nonce, fee, size, ...).
    case transactionFailsChecks(Hash)
    /// Executing the block gives another state root than its header claims.
    case stateRootMismatch(header: Hash, executed: Hash)
    /// A blob the block carries or reads (its id's digest) is not held here (yet): the availability rule.
    case blobUnavailable(Hash, length: UInt64)
    /// The application's own rule, for applications other than the ledger (the simulation's).
    case applicationRule(String)

    public var description: String {
        switch self {
        case let .transactionFailsChecks(hash): "transaction \(hash) fails its checks"
        case let .stateRootMismatch(header, executed): "state root \(executed) differs from the header's \(header)"
        case let .blobUnavailable(id, length): "blob \(id) unavailable (\(length) bytes not held)"
        case let .applicationRule(rule): rule
        }
    }
}

/// The application the engine replicates (the ledger in the node): it builds, executes and commits
/// the transactions of blocks. It shares the engine's store, so that a block, its state changes and
/// the WAL reset are written in one atomic batch.
/// What execution depends on beyond the transactions: fees go to the proposer, time-based rules read the block time,
/// and governance counts the votes of the height's validator set.
public struct ExecutionContext: Hashable, Sendable {
    public var height: Height
    public var timeMs: UInt64
    public var proposer: PublicKey
    /// The validator set of `height`.
    public var validators: ValidatorSet

    public init(height: Height, timeMs: UInt64, proposer: PublicKey, validators: ValidatorSet) {
        self.height = height
        self.timeMs = timeMs
        self.proposer = proposer
        self.validators = validators
    }

    public init(_ header: Header, validators: ValidatorSet) {
        self.init(height: header.height, timeMs: header.timeMs, proposer: header.proposer, validators: validators)
    }
}

public protocol BlockExecutor: AnyObject {
    /// Transactions for a new block on top of the committed state.
    func transactionsForNewBlock(_ context: ExecutionContext) throws(ExecutionError) -> [Transaction]
    /// Executes `transactions` as the block `context` describes, on the committed state without changing it: the
    /// state root after them, or why the block is invalid.
    func execute(_ context: ExecutionContext, transactions: [Transaction]) throws(ExecutionError) -> Hash
    /// Executes a block that a commit certificate shows decided, like `execute`, except that data the block refers
    /// to and this node lacks is fetched and waited for rather than making the block invalid: more than 2/3 of the
    /// power held it when they voted, and a decided block cannot be skipped.
    func executeDecided(_ block: Block, validators: ValidatorSet) throws(ExecutionError) -> Hash
    /// Adds the writes that commit `block` (signed by `validators`) to `batch`, which the engine writes atomically,
    /// and returns the block's validator changes (power 0 removes), which take effect at `block.height + 2`.
    func commitWrites(for block: Block, validators: ValidatorSet, into batch: inout WriteBatch)
        throws(ExecutionError) -> [Validator]
    /// Called once the batch holding `block` is durable; a fault if the committed state is not the block's.
    func didCommit(_ block: Block) throws(ExecutionError)
}

extension BlockExecutor {
    /// For an application whose blocks refer to no data outside them, a decided block executes like any other.
    public func executeDecided(_ block: Block, validators: ValidatorSet) throws(ExecutionError) -> Hash {
        try execute(ExecutionContext(block.header, validators: validators), transactions: block.transactions)
    }
}

/// What engines say to each other.
public enum ConsensusMessage: Hashable, Sendable {
    /// A signed proposal with the block it names.
    case proposal(Proposal, Block)
    case vote(Vote)
    /// A committed block and its commit certificate, sent to a peer seen at that (lower) height.
    case decided(Block, Commit)
    /// The height the sender is working on; a peer further ahead answers with `decided` blocks.
    case status(Height)
}

extension ConsensusMessage: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        switch self {
        case let .proposal(proposal, block):
            writer.writeULEB128(0)
            writer.write(proposal)
            writer.write(block)
        case let .vote(vote):
            writer.writeULEB128(1)
            writer.write(vote)
        case let .decided(block, commit):
            writer.writeULEB128(2)
            writer.write(block)
            writer.write(commit)
        case let .status(height):
            writer.writeULEB128(3)
            writer.write(height)
        }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        switch try reader.readTag() {
        case 0: self = .proposal(try reader.read(), try reader.read())
        case 1: self = .vote(try reader.read())
        case 2: self = .decided(try reader.read(), try reader.read())
        case 3: self = .status(try reader.readUInt64())
        case let tag: throw .unknownTag(tag, type: "ConsensusMessage")
        }
    }
}

extension ConsensusMessage {
    /// The round of a proposal or vote; nil for the messages outside rounds.
    public var round: Round? {
        switch self {
        case let .proposal(proposal, _): proposal.round
        case let .vote(vote): vote.round
        case .decided, .status: nil
        }
    }
}
