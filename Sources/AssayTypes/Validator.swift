import AssayCodec
import AssayCrypto

/// A member of the validator set: the key that signs its votes and authenticates its node, and its voting power.
public struct Validator: Hashable, Sendable, CanonicalCodable {
    public var publicKey: PublicKey
    public var power: UInt64

    public init(publicKey: PublicKey, power: UInt64) {
        self.publicKey = publicKey
        self.power = power
    }

    public var address: Address { Address(publicKey: publicKey) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(publicKey)
        writer.write(power)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        publicKey = try reader.read()
        power = try reader.readUInt64()
    }
}

/// The validators of one height, sorted by public key with unique keys and non-zero power, so that
/// its encoding and hash are the same on every node.
public struct ValidatorSet: Hashable, Sendable {
    public static let sizeMax = 1_000

    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case empty, tooMany(Int), duplicate(PublicKey), zeroPower(PublicKey), powerOverflow

        public var description: String {
            switch self {
            case .empty: "validator set is empty"
            case let .tooMany(count): "validator set has \(count) members, at most \(ValidatorSet.sizeMax) allowed"
            case let .duplicate(key): "validator \(key) appears twice"
            case let .zeroPower(key): "validator \(key) has zero voting power"
            case .powerOverflow: "total voting power overflows 63 bits"
            }
        }
    }

    public let validators: [Validator]
    public let totalPower: UInt64

    /// Sorts the members by key and checks the set's rules. Total power stays below 2^62 so that
    /// quorum arithmetic (3 x power) cannot overflow.
    public init(_ members: [Validator]) throws(Problem) {
        guard !members.isEmpty else { throw .empty }
        guard members.count <= Self.sizeMax else { throw .tooMany(members.count) }
        let sorted = members.sorted { $0.publicKey < $1.publicKey }
        var total: UInt64 = 0
        for (index, member) in sorted.enumerated() {
            if index > 0 && sorted[index - 1].publicKey == member.publicKey { throw .duplicate(member.publicKey) }
            guard member.power > 0 else { throw .zeroPower(member.publicKey) }
            total += min(member.power, 1 << 62)
            guard member.power < 1 << 62, total < 1 << 62 else { throw .powerOverflow }
        }
        validators = sorted
        totalPower = total
    }

    public var count: Int { validators.count }

    public func index(of key: PublicKey) -> Int? {
        var low = 0
        var high = validators.count
        while low < high {
            let mid = (low + high) / 2
            if validators[mid].publicKey < key { low = mid + 1 } else { high = mid }
        }
        return low < validators.count && validators[low].publicKey == key ? low : nil
    }

    public func power(of key: PublicKey) -> UInt64 { index(of: key).map { validators[$0].power } ?? 0 }

    /// More than two thirds of the total power.
    public func isQuorum(_ power: UInt64) -> Bool { 3 * power > 2 * totalPower }

    /// At least one honest validator among them: more than one third of the total power.
    public func exceedsOneThird(_ power: UInt64) -> Bool { 3 * power > totalPower }

    public var hash: Hash { SHA256.hash(canonicalBytes) }

    /// The set after `changes` (CometBFT's validator updates): a change sets a member's power, adds a new member, or
    /// with power 0 removes one; power 0 for a key that is not a member changes nothing (a key added and removed in
    /// the same block nets to that). Throws when the result breaks the set's rules (for example, empty), or when a
    /// change names one key twice.
    public func applying(_ changes: [Validator]) throws(Problem) -> ValidatorSet {
        var members = validators
        var changed: Set<PublicKey> = []
        for change in changes {
            guard changed.insert(change.publicKey).inserted else { throw .duplicate(change.publicKey) }
            if let index = members.firstIndex(where: { $0.publicKey == change.publicKey }) {
                if change.power == 0 { members.remove(at: index) } else { members[index].power = change.power }
            } else {
                if change.power > 0 { members.append(change) }
            }
        }
        return try ValidatorSet(members)
    }
}

extension ValidatorSet: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) { writer.write(validators) }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let members: [Validator] = try reader.readArray(bound: Self.sizeMax)
        do { try self.init(members) } catch { throw .invalidValue("\(error)") }
        // Canonical means already sorted: a re-ordered list is a different byte string for the same set.
        guard validators == members else { throw .invalidValue("validators are not sorted by public key") }
    }
}
