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
    var app: SimLedgerApplication?
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
        if let forged {
            conflicts[original] = forged
            world.countEquivocation()
        }
        return forged
    }

    /// The same block a millisecond later and without its transactions: valid (its root executed by this node's
    /// ledger), or with a wrong state root.
    private func conflictingBlock(_ block: Block) -> Block {
        var other = block
        other.transactions = []
        other.header.timeMs += 1
        other.header.transactionsRoot = Block.transactionsRoot([])
        let validators = world.engineValidators(of: self)
        let validRoot = validators.flatMap { validators in
            try? app?.execute(ExecutionContext(other.header, validators: validators), transactions: [])
        }
        other.header.stateRoot = world.random.chance(permille: 300) ? SHA256.hash(block.hash.bytes) : validRoot ?? .zero
        return other
    }
}
