import AssayTypes
import AssayCrypto

/// Tendermint's Algorithm 1 (Buchman, Kwon, Milosevic, arXiv 1807.04938) as a pure value:
/// no I/O, no clock, no randomness. `apply` takes one input, updates the state and returns the
/// effects for the engine to perform; the upon-rules are then re-checked until none fires.
/// Comments `// Lnn` name the line of the paper's pseudo-code each branch implements.
public struct ConsensusState: Sendable {
    /// At most this many distinct proposals are kept per round: an equivocating proposer cannot fill memory.
    static let proposalsPerRoundMax = 4

    /// This node's validator key; nil for a node that follows without voting.
    public let me: PublicKey?
    public let timeouts: TimeoutConfig

    public private(set) var height: Height = 0
    public private(set) var round: Round = 0
    public private(set) var step: Step = .propose
    public private(set) var lockedValue: Hash?
    public private(set) var lockedRound: Round?
    public private(set) var validValue: Hash?
    public private(set) var validRound: Round?
    public private(set) var rotation: ProposerRotation?

    private var keeper: VoteKeeper?
    private var proposals: [Round: [Proposal]] = [:]
    private var verdicts: [Hash: Bool] = [:]
    private var validationRequested: Set<Hash> = []
    private var firedOnce: Set<OnceRule> = []
    private var proposedThisRound = false

    public init(me: PublicKey?, timeouts: TimeoutConfig = TimeoutConfig()) {
        self.me = me
        self.timeouts = timeouts
    }

    public var validators: ValidatorSet? { rotation?.validators }

    /// The proposer of `round` at the current height (L14, L22: proposer(hp, r)).
    public func proposer(round: Round) -> PublicKey? { rotation?.proposer(round: round) }

    /// The prevotes that made `validValue` valid (the polka of `validRound`). The engine relays them,
    /// which the paper's gossip assumption requires: a proof-of-lock another node must check may rest
    /// on a Byzantine vote that only this node received.
    public var validValueProof: [Vote] {
        guard let keeper, let validRound, let validValue else { return [] }
        return keeper.votes(.prevote, round: validRound, value: validValue)
    }

    public mutating func apply(_ input: Input) -> [Effect] {
        var effects: [Effect] = []
        switch input {
        case let .startHeight(newHeight, newRotation):
            // L10/L52-54: a fresh height starts at round 0 with locks and message log reset.
            guard rotation == nil || newHeight > height else { return [] }
            resetHeight(newHeight, newRotation)
            startRound(0, &effects)
        case let .proposal(proposal):
            receive(proposal, &effects)
        case let .blockVerdict(hash, valid):
            guard validationRequested.contains(hash), verdicts[hash] == nil else { return [] }
            verdicts[hash] = valid
        case let .proposalValue(valueHeight, valueRound, hash):
            // L18: getValue() returned; broadcast the proposal without a proof-of-lock round.
            guard valueHeight == height, valueRound == round, step == .propose, isProposer(round), !proposedThisRound
            else { return [] }
            verdicts[hash] = true
            proposedThisRound = true
            effects.append(.propose(height: height, round: round, blockHash: hash, proofOfLockRound: nil))
        case let .vote(vote):
            receive(vote, &effects)
        case let .timeout(timeout):
            onTimeout(timeout, &effects)
        case let .commitCertificate(commit):
            // L49 reached through block sync: the engine verified > 2/3 precommits and executed the block.
            guard rotation != nil, commit.height == height, step != .decided else { return [] }
            decide(round: commit.round, value: commit.blockHash, commit: commit, &effects)
        }
        evaluateRules(&effects)
        return effects
    }

    // MARK: - Inputs

    private mutating func resetHeight(_ newHeight: Height, _ newRotation: ProposerRotation) {
        height = newHeight
        rotation = newRotation
        keeper = VoteKeeper(validators: newRotation.validators)
        lockedValue = nil
        lockedRound = nil
        validValue = nil
        validRound = nil
        proposals = [:]
        verdicts = [:]
        validationRequested = []
        firedOnce = []
    }

    /// L11-21 StartRound.
    private mutating func startRound(_ newRound: Round, _ effects: inout [Effect]) {
        round = newRound  // L12
        step = .propose  // L13
        proposedThisRound = false
        if isProposer(newRound) {  // L14
            if let validValue, let validRound {  // L15-16: re-propose the valid value with its round as POL
                proposedThisRound = true
                effects.append(.propose(height: height, round: newRound, blockHash: validValue, proofOfLockRound: validRound))
            } else {  // L17-18: a new value from the execution layer
                effects.append(.buildProposal(height: height, round: newRound))
            }
        }
        // L21 (also for the proposer, as CometBFT does, so a proposer whose block never arrives moves on).
        schedule(.propose, &effects)
    }

    private mutating func receive(_ proposal: Proposal, _ effects: inout [Effect]) {
        guard rotation != nil, proposal.height == height, step != .decided,
            proposal.round <= round.addingReportingOverflow(VoteKeeper.roundLookaheadMax).partialValue,
            proposal.proposer == proposer(round: proposal.round)
        else { return }
        var stored = proposals[proposal.round, default: []]
        guard !stored.contains(proposal), stored.count < Self.proposalsPerRoundMax else { return }
        stored.append(proposal)
        proposals[proposal.round] = stored
        if verdicts[proposal.blockHash] == nil, validationRequested.insert(proposal.blockHash).inserted {
            effects.append(.validateBlock(proposal.blockHash))
        }
    }

    private mutating func receive(_ vote: Vote, _ effects: inout [Effect]) {
        guard var keeper, vote.height == height, step != .decided else { return }
        let outcome = keeper.add(vote, currentRound: round)
        self.keeper = keeper
        if case let .equivocation(evidence) = outcome { effects.append(.evidence(evidence)) }
    }

    private mutating func onTimeout(_ timeout: Timeout, _ effects: inout [Effect]) {
        guard timeout.height == height, timeout.round == round, step != .decided else { return }
        switch timeout.kind {
        case .propose where step == .propose:  // L57-60
            castVote(.prevote, nil, &effects)
            step = .prevote
        case .prevote where step == .prevote:  // L61-64
            castVote(.precommit, nil, &effects)
            step = .precommit
        case .precommit:  // L65-67
            startRound(round + 1, &effects)
        default:
            break
        }
    }

    // MARK: - Upon rules

    /// Re-checks the upon-rules until none fires; each firing changes state so the loop ends.
    private mutating func evaluateRules(_ effects: inout [Effect]) {
        guard rotation != nil else { return }
        var fired = true
        var passes = 0
        while fired && step != .decided {
            passes += 1
            precondition(passes < 10_000, "consensus rules did not reach a fixed point")
            fired =
                decideIfCommitted(&effects) || skipRoundIfBehind(&effects) || prevoteOnProposal(&effects)
                || schedulePrevoteTimeout(&effects) || lockOnPolka(&effects) || precommitNilOnNilPolka(&effects)
                || schedulePrecommitTimeout(&effects)
        }
    }

    /// L22-33: in the propose step, prevote the current round's proposal if valid and allowed by the lock.
    private mutating func prevoteOnProposal(_ effects: inout [Effect]) -> Bool {
        guard step == .propose, let proposal = proposals[round]?.first,
            let valid = verdicts[proposal.blockHash]
        else { return false }
        let value = proposal.blockHash
        if let polRound = proposal.proofOfLockRound {
            // L28: a proof-of-lock from an earlier round: 2f+1 prevotes for v at vr < roundp.
            guard polRound < round, isQuorum(keeper!.power(.prevote, round: polRound, value: value)) else { return false }
            // L29-32: the lock yields to a polka at least as recent as the locked round.
            let unlocked = lockedRound.map { $0 <= polRound } ?? true
            castVote(.prevote, valid && (unlocked || lockedValue == value) ? value : nil, &effects)
        } else {
            // L23-26: no proof-of-lock: prevote v only if not locked or locked on v.
            castVote(.prevote, valid && (lockedRound == nil || lockedValue == value) ? value : nil, &effects)
        }
        step = .prevote  // L27, L33
        return true
    }

    /// L34-35: 2f+1 prevotes of any value in this round, first time: start the prevote timer.
    private mutating func schedulePrevoteTimeout(_ effects: inout [Effect]) -> Bool {
        guard step == .prevote, isQuorum(keeper!.totalPower(.prevote, round: round)),
            firedOnce.insert(OnceRule(line: 34, round: round)).inserted
        else { return false }
        schedule(.prevote, &effects)
        return true
    }

    /// L36-43: a valid proposal with 2f+1 prevotes for it in this round, first time: lock and
    /// precommit it (if still in the prevote step) and remember it as the valid value.
    private mutating func lockOnPolka(_ effects: inout [Effect]) -> Bool {
        guard step >= .prevote, let value = keeper!.quorumValue(.prevote, round: round),
            proposals[round]?.contains(where: { $0.blockHash == value }) == true, verdicts[value] == true,
            firedOnce.insert(OnceRule(line: 36, round: round)).inserted
        else { return false }
        if step == .prevote {  // L37-41
            lockedValue = value
            lockedRound = round
            castVote(.precommit, value, &effects)
            step = .precommit
        }
        validValue = value  // L42-43
        validRound = round
        return true
    }

    /// L44-46: 2f+1 nil prevotes in the prevote step: precommit nil.
    private mutating func precommitNilOnNilPolka(_ effects: inout [Effect]) -> Bool {
        guard step == .prevote, isQuorum(keeper!.power(.prevote, round: round, value: nil)) else { return false }
        castVote(.precommit, nil, &effects)
        step = .precommit
        return true
    }

    /// L47-48: 2f+1 precommits of any value in this round, first time: start the precommit timer.
    private mutating func schedulePrecommitTimeout(_ effects: inout [Effect]) -> Bool {
        guard isQuorum(keeper!.totalPower(.precommit, round: round)),
            firedOnce.insert(OnceRule(line: 47, round: round)).inserted
        else { return false }
        schedule(.precommit, &effects)
        return true
    }

    /// L49-54: a proposal from any round with 2f+1 precommits for it, and valid: decide it.
    private mutating func decideIfCommitted(_ effects: inout [Effect]) -> Bool {
        let keeper = keeper!
        for candidate in keeper.roundsSeen {
            guard let value = keeper.quorumValue(.precommit, round: candidate),
                proposals[candidate]?.contains(where: { $0.blockHash == value }) == true, verdicts[value] == true
            else { continue }
            let signatures = keeper.votes(.precommit, round: candidate, value: value).map {
                CommitSignature(validator: $0.validator, signature: $0.signature)
            }
            let commit = Commit(height: height, round: candidate, blockHash: value, signatures: signatures)
            decide(round: candidate, value: value, commit: commit, &effects)
            return true
        }
        return false
    }

    /// L55-56: f+1 power sent messages for a higher round: skip to the highest such round.
    private mutating func skipRoundIfBehind(_ effects: inout [Effect]) -> Bool {
        let keeper = keeper!
        guard let target = keeper.roundsSeen.last(where: {
            $0 > round && rotation!.validators.exceedsOneThird(keeper.anyVotePower(round: $0))
        }) else { return false }
        startRound(target, &effects)
        return true
    }

    // MARK: - Helpers

    private mutating func decide(round decidedRound: Round, value: Hash, commit: Commit, _ effects: inout [Effect]) {
        precondition(step != .decided, "a height is decided once")  // L49: while decision[hp] = nil
        step = .decided
        effects.append(.decide(height: height, round: decidedRound, blockHash: value, commit: commit))
    }

    private func castVote(_ kind: VoteKind, _ value: Hash?, _ effects: inout [Effect]) {
        guard me != nil, isValidator else { return }
        effects.append(.vote(kind, height: height, round: round, blockHash: value))
    }

    private func schedule(_ kind: TimeoutKind, _ effects: inout [Effect]) {
        effects.append(.scheduleTimeout(
            Timeout(kind: kind, height: height, round: round), durationMs: timeouts.durationMs(kind, round: round)))
    }

    private var isValidator: Bool { me.map { rotation?.validators.index(of: $0) != nil } ?? false }

    private func isProposer(_ someRound: Round) -> Bool { me != nil && proposer(round: someRound) == me }

    private func isQuorum(_ power: UInt64) -> Bool { rotation!.validators.isQuorum(power) }
}

/// An upon-rule that fires only "for the first time" in a round (L34, L36, L47).
private struct OnceRule: Hashable, Sendable {
    let line: UInt8
    let round: Round
}
