import AssayTypes

/// Votes of one height, tallied by voting power. As in the paper, "2f+1 prevotes for v" counts the
/// distinct validators that sent a prevote for v: an equivocating validator counts toward each value
/// it voted for (so a proof-of-lock another node saw can be verified here too), but only once in the
/// totals of "any value". Its second vote also yields evidence.
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
    /// An equivocating validator's votes beyond this many values per round and kind are ignored.
    static let valuesPerValidatorMax = 3

    private var prevotes: [Int: [Vote]] = [:]
    private var precommits: [Int: [Vote]] = [:]
    private var prevoteTally = Tally()
    private var precommitTally = Tally()
    private var senders: Set<Int> = []
    private(set) var senderPower: UInt64 = 0

    func tally(_ kind: VoteKind) -> Tally { kind == .prevote ? prevoteTally : precommitTally }

    /// Counted votes in validator order (the set's key order), so certificates are built deterministically.
    func counted(_ kind: VoteKind) -> [Vote] {
        let votes = kind == .prevote ? prevotes : precommits
        return votes.keys.sorted().flatMap { votes[$0]! }
    }

    mutating func add(_ vote: Vote, index: Int, power: UInt64) -> VoteKeeper.Outcome {
        let existing = (vote.kind == .prevote ? prevotes[index] : precommits[index]) ?? []
        if existing.contains(where: { $0.blockHash == vote.blockHash }) { return .duplicate }
        guard existing.count < Self.valuesPerValidatorMax else { return .ignored }
        switch vote.kind {
        case .prevote:
            prevotes[index, default: []].append(vote)
            prevoteTally.add(vote.blockHash, power: power, newSender: existing.isEmpty)
        case .precommit:
            precommits[index, default: []].append(vote)
            precommitTally.add(vote.blockHash, power: power, newSender: existing.isEmpty)
        }
        if senders.insert(index).inserted { senderPower += power }
        // Evidence once per validator, round and kind: the first two conflicting votes.
        if existing.count == 1, let evidence = DoubleSignEvidence(existing[0], vote) { return .equivocation(evidence) }
        return .added
    }
}

/// Power per voted value, in order of first appearance (an array, so no hash order leaks out).
struct Tally: Sendable {
    private(set) var entries: [(value: Hash?, power: UInt64)] = []
    private(set) var total: UInt64 = 0

    /// `newSender`: the validator's first vote of this kind in the round, counted in `total`.
    mutating func add(_ value: Hash?, power: UInt64, newSender: Bool) {
        if newSender { total += power }
        if let index = entries.firstIndex(where: { $0.value == value }) {
            entries[index].power += power
        } else {
            entries.append((value, power))
        }
    }

    func power(for value: Hash?) -> UInt64 { entries.first { $0.value == value }?.power ?? 0 }
}
