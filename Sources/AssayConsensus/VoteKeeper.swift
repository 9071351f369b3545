import AssayTypes

/// Votes of one height, tallied by voting power. The first vote of a validator for a (round, kind)
/// counts; a later, different one is equivocation and yields evidence instead of a second count.
struct VoteKeeper: Sendable {
    /// Votes further ahead than this many rounds are dropped: a bound on memory a faulty peer can fill.
    static let roundLookaheadMax: Round = 1_000

    private let validators: ValidatorSet
    private var rounds: [Round: RoundVotes] = [:]

    init(validators: ValidatorSet) { self.validators = validators }

    enum Outcome: Equatable {
        case added
        case duplicate
        case equivocation(DoubleSignEvidence)
        case ignored
    }

    /// Records `vote` (already verified by the engine) and reports what it was.
    mutating func add(_ vote: Vote, currentRound: Round) -> Outcome {
        let index = validators.index(of: vote.validator)
        guard let index, vote.round <= currentRound.addingReportingOverflow(Self.roundLookaheadMax).partialValue
        else { return .ignored }
        return rounds[vote.round, default: RoundVotes()].add(
            vote, index: index, power: validators.validators[index].power)
    }

    /// Power of the validators that voted `value` (nil: voted nil) of `kind` in `round`.
    func power(_ kind: VoteKind, round: Round, value: Hash?) -> UInt64 {
        rounds[round]?.tally(kind).power(for: value) ?? 0
    }

    /// Power of all validators that sent a vote of `kind` in `round`, whatever the value.
    func totalPower(_ kind: VoteKind, round: Round) -> UInt64 { rounds[round]?.tally(kind).total ?? 0 }

    /// Power of the distinct validators that sent any vote in `round` (L55).
    func anyVotePower(round: Round) -> UInt64 { rounds[round]?.senderPower ?? 0 }

    /// The non-nil value with more than two thirds of the power for `kind` in `round`, if any.
    func quorumValue(_ kind: VoteKind, round: Round) -> Hash? {
        rounds[round]?.tally(kind).entries.first { $0.value != nil && validators.isQuorum($0.power) }?.value ?? nil
    }

    /// Rounds that have any votes, ascending.
    var roundsSeen: [Round] { rounds.keys.sorted() }

    /// The counted votes of `kind` in `round` for `value`, for a commit certificate.
    func votes(_ kind: VoteKind, round: Round, value: Hash?) -> [Vote] {
        rounds[round]?.counted(kind).filter { $0.blockHash == value } ?? []
    }
}

/// The counted votes of one round.
struct RoundVotes: Sendable {
    private var prevotes: [Int: Vote] = [:]
    private var precommits: [Int: Vote] = [:]
    private var prevoteTally = Tally()
    private var precommitTally = Tally()
    private var senders: Set<Int> = []
    private(set) var senderPower: UInt64 = 0
    /// Validators already reported for equivocating in this round, per kind: one piece of evidence each.
    private var reported: Set<[Int]> = []

    func tally(_ kind: VoteKind) -> Tally { kind == .prevote ? prevoteTally : precommitTally }

    /// Counted votes in validator order (the set's key order), so certificates are built deterministically.
    func counted(_ kind: VoteKind) -> [Vote] {
        let votes = kind == .prevote ? prevotes : precommits
        return votes.keys.sorted().map { votes[$0]! }
    }

    mutating func add(_ vote: Vote, index: Int, power: UInt64) -> VoteKeeper.Outcome {
        let existing = vote.kind == .prevote ? prevotes[index] : precommits[index]
        if let existing {
            if existing.blockHash == vote.blockHash { return .duplicate }
            guard reported.insert([index, Int(vote.kind.rawValue)]).inserted,
                let evidence = DoubleSignEvidence(existing, vote)
            else { return .duplicate }
            return .equivocation(evidence)
        }
        switch vote.kind {
        case .prevote:
            prevotes[index] = vote
            prevoteTally.add(vote.blockHash, power: power)
        case .precommit:
            precommits[index] = vote
            precommitTally.add(vote.blockHash, power: power)
        }
        if senders.insert(index).inserted { senderPower += power }
        return .added
    }
}

/// Power per voted value, in order of first appearance (an array, so no hash order leaks out).
struct Tally: Sendable {
    private(set) var entries: [(value: Hash?, power: UInt64)] = []
    private(set) var total: UInt64 = 0

    mutating func add(_ value: Hash?, power: UInt64) {
        total += power
        if let index = entries.firstIndex(where: { $0.value == value }) {
            entries[index].power += power
        } else {
            entries.append((value, power))
        }
    }

    func power(for value: Hash?) -> UInt64 { entries.first { $0.value == value }?.power ?? 0 }
}
