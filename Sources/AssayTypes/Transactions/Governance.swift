import AssayCodec
import AssayCrypto

/// What a governance proposal would do once it passes. Tags are fixed (docs/encoding-transactions.md).
public enum ProposalAction: Hashable, Sendable, CanonicalCodable {
    public static let parameterNameBytesMax = 64

    /// Adds a validator (its consensus key, power and the node key its P2P links authenticate with), or changes
    /// an existing one's power and node key; effective two heights after the proposal passes.
    case addValidator(PublicKey, power: UInt64, nodeKey: PublicKey)
    /// Removes a validator; effective two heights after the proposal passes.
    case removeValidator(PublicKey)
    /// Sets one chain parameter (named as in Genesis/README.md) from the next height on.
    case setParameter(name: String, value: UInt64)

    public func encode(to writer: inout CanonicalWriter) {
        switch self {
        case let .addValidator(key, power, nodeKey):
            writer.writeULEB128(0)
            writer.write(key)
            writer.write(power)
            writer.write(nodeKey)
        case let .removeValidator(key):
            writer.writeULEB128(1)
            writer.write(key)
        case let .setParameter(name, value):
            writer.writeULEB128(2)
            writer.write(name)
            writer.write(value)
        }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        switch try reader.readTag() {
        case 0: self = .addValidator(try reader.read(), power: try reader.readUInt64(), nodeKey: try reader.read())
        case 1: self = .removeValidator(try reader.read())
        case 2:
            self = .setParameter(
                name: try reader.readString(bound: Self.parameterNameBytesMax), value: try reader.readUInt64())
        case let tag: throw .unknownTag(tag, type: "ProposalAction")
        }
    }
}

/// A validator's proposal. Its id is the hash of this transaction; the proposer's vote counts as yes.
public struct GovernanceProposal: Hashable, Sendable, CanonicalCodable {
    public var action: ProposalAction

    public init(action: ProposalAction) { self.action = action }

    public func encode(to writer: inout CanonicalWriter) { writer.write(action) }
    public init(from reader: inout CanonicalReader) throws(CodecError) { action = try reader.read() }
}

/// A validator's vote on an open proposal.
public struct GovernanceVote: Hashable, Sendable, CanonicalCodable {
    public var proposalID: Hash
    public var approve: Bool

    public init(proposalID: Hash, approve: Bool) {
        self.proposalID = proposalID
        self.approve = approve
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(proposalID)
        writer.write(approve)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        proposalID = try reader.read()
        approve = try reader.readBool()
    }
}
