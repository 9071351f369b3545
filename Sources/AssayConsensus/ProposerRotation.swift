import AssayCodec
import AssayCrypto
import AssayTypes

/// CometBFT's weighted round-robin proposer selection (`IncrementProposerPriority`,
/// `RescalePriorities`, `shiftByAvgProposerPriority`), in integer arithmetic so that every node picks
/// the same proposer. Each step adds every validator's power to its priority, picks the highest
/// priority (ties: the lower public key, where CometBFT uses the lower address) and subtracts the
/// total power from it; over `totalPower` steps each validator proposes `power` times.
///
/// A value holds the priorities of one height with `proposer` the proposer of round 0; round r's
/// proposer is found by `r` more steps on a copy, and the next height's rotation is one step on.
public struct ProposerRotation: Hashable, Sendable {
    /// CometBFT's `PriorityWindowSizeFactor`: priorities are rescaled to stay within 2 x total power.
    static let windowFactor: Int64 = 2

    public let validators: ValidatorSet
    public private(set) var priorities: [Int64]
    public private(set) var proposerIndex: Int

    /// A new set: all priorities zero, then one step (as CometBFT's `NewValidatorSet`).
    public init(validators: ValidatorSet) {
        self.validators = validators
        priorities = Array(repeating: 0, count: validators.count)
        proposerIndex = 0
        increment(times: 1)
    }

    public var proposer: PublicKey { validators.validators[proposerIndex].publicKey }

    /// The proposer of `round` at this height.
    public func proposer(round: Round) -> PublicKey {
        guard round > 0 else { return proposer }
        var copy = self
        copy.increment(times: round)
        return copy.proposer
    }

    /// The rotation of the next height.
    public func advanced() -> ProposerRotation {
        var copy = self
        copy.increment(times: 1)
        return copy
    }

    /// The rotation of the next height with the validator `changes` applied first (power 0 removes), as CometBFT's
    /// `UpdateWithChangeSet` then `IncrementProposerPriority(1)`: members keep their priorities, a newcomer starts
    /// at -1.125 x the total power after the updates (before removals), so leaving and re-joining cannot reset a
    /// low priority, and the priorities are rescaled and centred on the new set.
    public func advanced(applying changes: [Validator]) throws(ValidatorSet.Problem) -> ProposerRotation {
        guard !changes.isEmpty else { return advanced() }
        let newSet = try validators.applying(changes)
        let newcomer = Self.newcomerPriority(validators, changes)
        var next = ProposerRotation(
            validators: newSet,
            priorities: newSet.validators.map { member in
                validators.index(of: member.publicKey).map { priorities[$0] } ?? newcomer
            })
        next.rescale(diffMax: Self.windowFactor * next.totalPower)
        next.shiftByAverage()
        next.increment(times: 1)
        return next
    }

    private init(validators: ValidatorSet, priorities: [Int64]) {
        self.validators = validators
        self.priorities = priorities
        proposerIndex = 0
    }

    /// CometBFT `computeNewPriorities`: -(T + T/8), T the total power after the updates and before the removals.
    private static func newcomerPriority(_ old: ValidatorSet, _ changes: [Validator]) -> Int64 {
        var total = old.totalPower
        for change in changes where change.power > 0 { total = total - old.power(of: change.publicKey) + change.power }
        let scaled = total.addingReportingOverflow(total >> 3)
        return scaled.overflow || scaled.partialValue > UInt64(Int64.max) ? .min : -Int64(scaled.partialValue)
    }

    private var totalPower: Int64 { Int64(validators.totalPower) }

    /// CometBFT `IncrementProposerPriority`: rescale, centre on the average, then `times` steps.
    mutating func increment(times: Round) {
        precondition(times > 0, "a rotation step count is positive")
        rescale(diffMax: Self.windowFactor * totalPower)
        shiftByAverage()
        for _ in 0..<times { step() }
    }

    /// CometBFT `RescalePriorities`: divide by ceil(diff / diffMax) when the spread exceeds diffMax
    /// (Go's `/` truncates toward zero, as Swift's does).
    private mutating func rescale(diffMax: Int64) {
        guard diffMax > 0, let high = priorities.max(), let low = priorities.min() else { return }
        let diff = high.subtractingSaturated(low)
        guard diff > diffMax else { return }
        let ratio = (diff + diffMax - 1) / diffMax
        for index in priorities.indices { priorities[index] /= ratio }
    }

    /// CometBFT `shiftByAvgProposerPriority`: subtract the floor of the average (Go's big.Int
    /// division is Euclidean, which is the floor for a positive divisor). The sum is taken in 128 bits.
    private mutating func shiftByAverage() {
        var sumHigh: Int64 = 0
        var sumLow: UInt64 = 0
        for priority in priorities {
            let (low, carry) = sumLow.addingReportingOverflow(UInt64(bitPattern: priority))
            sumLow = low
            sumHigh += (priority < 0 ? -1 : 0) + (carry ? 1 : 0)
        }
        let count = Int64(priorities.count)
        let sum = (high: sumHigh, low: sumLow)
        var (quotient, remainder) = count.dividingFullWidth(sum)
        if remainder < 0 { quotient -= 1 }
        for index in priorities.indices { priorities[index] = priorities[index].subtractingSaturated(quotient) }
    }

    /// CometBFT `incrementProposerPriority`: every priority grows by its power; the highest pays the total.
    private mutating func step() {
        for (index, validator) in validators.validators.enumerated() {
            priorities[index] = priorities[index].addingSaturated(Int64(validator.power))
        }
        var best = 0
        for index in priorities.indices.dropFirst() where priorities[index] > priorities[best] { best = index }
        priorities[best] = priorities[best].subtractingSaturated(totalPower)
        proposerIndex = best
    }
}

extension Int64 {
    func addingSaturated(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    func subtractingSaturated(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other > 0 ? .min : .max) : difference
    }
}

extension ProposerRotation: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(validators)
        writer.writeULEB128(UInt64(priorities.count))
        for priority in priorities { writer.write(priority) }
        writer.write(UInt32(proposerIndex))
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        validators = try reader.read()
        let count = try reader.readLength(bound: ValidatorSet.sizeMax)
        guard count == validators.count else { throw .invalidValue("one priority per validator expected") }
        var values: [Int64] = []
        for _ in 0..<count { values.append(try reader.readInt64()) }
        priorities = values
        let index = Int(try reader.readUInt32())
        guard index < validators.count else { throw .invalidValue("proposer index out of range") }
        proposerIndex = index
    }
}
