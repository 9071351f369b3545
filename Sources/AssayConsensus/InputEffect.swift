import AssayTypes

/// Everything that can happen to the core. The engine verifies signatures and membership before
/// an input gets here, writes it to its WAL, then applies it.
public enum Input: Hashable, Sendable {
    /// L10: begin `height` with its validators and proposer rotation (round 0's proposer first).
    case startHeight(Height, ProposerRotation)
    /// A signed proposal (own or a peer's). Its block is held by the engine, which answers validity separately.
    case proposal(Proposal)
    /// The execution layer's verdict on a proposed block: the answer to `Effect.validateBlock`.
    case blockVerdict(Hash, valid: Bool)
    /// The block this node proposes was built and executed (valid by construction): the answer to
    /// `Effect.buildProposal` (L18 getValue()).
    case proposalValue(height: Height, round: Round, blockHash: Hash)
    /// A signed prevote or precommit (own or a peer's).
    case vote(Vote)
    /// A timer set by `Effect.scheduleTimeout` fired.
    case timeout(Timeout)
    /// A commit certificate for this height whose signatures and block the engine verified (block sync):
    /// the same decision L49 would reach had this node seen the precommits itself.
    case commitCertificate(Commit)
}

/// What the core asks the engine to do. Each case says what comes back, and as which input.
public enum Effect: Hashable, Sendable {
    /// Sign (through SafetyRules) and broadcast a proposal; the signed proposal comes back as `.proposal`.
    case propose(height: Height, round: Round, blockHash: Hash, proofOfLockRound: Round?)
    /// Sign (through SafetyRules) and broadcast a vote, synced to the WAL first; it comes back as `.vote`.
    case vote(VoteKind, height: Height, round: Round, blockHash: Hash?)
    /// Fire `.timeout(timeout)` after `durationMs`.
    case scheduleTimeout(Timeout, durationMs: UInt64)
    /// Build and execute a new block for this height and round; answered by `.proposalValue`.
    case buildProposal(height: Height, round: Round)
    /// Execute the proposed block with this hash on the committed state; answered by `.blockVerdict`.
    case validateBlock(Hash)
    /// The height is decided: commit the block. The engine then starts the next height.
    case decide(height: Height, round: Round, blockHash: Hash, commit: Commit)
    /// A validator signed two different votes for one height, round and kind: hand to the ledger.
    case evidence(DoubleSignEvidence)
}

/// The step within a round (L2); `decided` follows L51 until the engine starts the next height.
public enum Step: UInt8, Comparable, Hashable, Sendable {
    case propose = 1
    case prevote = 2
    case precommit = 3
    case decided = 4

    public static func < (lhs: Step, rhs: Step) -> Bool { lhs.rawValue < rhs.rawValue }
}
