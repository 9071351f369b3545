import AssayConsensus
import AssayCrypto
import AssayEngine
import AssaySafetyRules
import AssayTypes

/// One engine of the scenario with its disk, application and incarnation. It is the engine's
/// `Transport` and `Clock`; an equivocating node also forges conflicting copies of what it sends.
final class SimNode: Transport, Clock {
    unowned let world: World
    let index: Int
    let key: Int
    let disk = SimulatedDisk()
    let equivocates: Bool
    var engine: Engine?
    var app: KeyValueApplication?
    /// Bumped at each crash, so that timers of a dead incarnation are dropped.
    var incarnation = 0
    /// Forged twins by the signature of the original, so a re-sent message gets the same forgery.
    private var conflicts: [Signature: ConsensusMessage] = [:]

    init(world: World, index: Int, key: Int, equivocates: Bool) {
        self.world = world
        self.index = index
        self.key = key
        self.equivocates = equivocates
    }

    var isRunning: Bool { engine != nil }

    /// The process stops: engine and application are gone, their timers die with this incarnation.
    func shutDown() {
        engine = nil
        app = nil
        incarnation += 1
    }
    var committedHeight: Height { app?.height ?? 0 }

    // MARK: Transport

    func broadcast(_ message: ConsensusMessage) {
        let conflict = equivocates ? conflicting(message) : nil
        for peer in world.nodes.indices where peer != index {
            world.transmit(peer % 2 == 1 ? conflict ?? message : message, from: index, to: peer)
        }
    }

    func send(_ message: ConsensusMessage, to peer: PeerID) {
        world.transmit(message, from: index, to: Int(peer.rawValue))
    }

    // MARK: Clock

    var nowMs: UInt64 { world.nowMs }

    func schedule(_ timer: EngineTimer, afterMs: UInt64) {
        world.schedule(.timer(node: index, incarnation: incarnation, timer), afterMs: afterMs)
    }

    // MARK: Equivocation

    /// A second, different proposal or vote for the same step, signed with this node's key
    /// directly (no SafetyRules): what a Byzantine validator can do. Sometimes the block is invalid.
    private func conflicting(_ message: ConsensusMessage) -> ConsensusMessage? {
        let original: Signature
        switch message {
        case let .proposal(proposal, _): original = proposal.signature
        case let .vote(vote): original = vote.signature
        case .decided, .status: return nil
        }
        if let known = conflicts[original] { return known }
        let signer = SimKeys.signer(key, realSignatures: world.plan.realSignatures)
        let forged: ConsensusMessage?
        switch message {
        case let .proposal(proposal, block) where proposal.proposer == signer.publicKey:
            let other = conflictingBlock(block)
            var copy = proposal
            copy.blockHash = other.hash
            guard let signature = try? signer.sign(copy.signBytes(chainID: world.chainID)) else { return nil }
            copy.signature = signature
            forged = .proposal(copy, other)
        case let .vote(vote) where vote.validator == signer.publicKey:
            var copy = vote
            copy.blockHash = vote.blockHash == nil ? SHA256.hash(vote.canonicalBytes) : nil
            guard let signature = try? signer.sign(copy.signBytes(chainID: world.chainID)) else { return nil }
            copy.signature = signature
            forged = .vote(copy)
        default:
            forged = nil
        }
        if let forged { conflicts[original] = forged }
        return forged
    }

    private func conflictingBlock(_ block: Block) -> Block {
        var other = block
        other.transactions =
            block.transactions.isEmpty
            ? [KeyValueApplication.transaction(
                chainID: world.chainID, sender: SimKeys.publicKeys[key], nonce: block.height, fee: 1, amount: 7)]
            : []
        other.header.transactionsRoot = Block.transactionsRoot(other.transactions)
        let validRoot = try? KeyValueApplication.nextRoot(
            after: app?.root ?? .zero, height: block.height, transactions: other.transactions, chainID: world.chainID)
        other.header.stateRoot = world.random.chance(permille: 300) ? SHA256.hash(block.hash.bytes) : validRoot ?? .zero
        return other
    }
}
