import AssayCodec
import AssayCrypto

/// Consensus round number within a height.
public typealias Round = UInt32

public enum VoteKind: UInt8, Hashable, Sendable, CanonicalCodable {
    case prevote = 1
    case precommit = 2

    public func encode(to writer: inout CanonicalWriter) { writer.write(rawValue) }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let raw = try reader.readUInt8()
        guard let kind = VoteKind(rawValue: raw) else { throw .unknownTag(UInt64(raw), type: "VoteKind") }
        self = kind
    }
}

/// Domain tags keep a signature over one kind of message from ever verifying as another.
enum SignDomain {
    static let vote = "assay/vote/v1"
    static let proposal = "assay/proposal/v1"
}

/// A signed prevote or precommit for a block hash, or for nil (no block) when `blockHash` is nil.
public struct Vote: Hashable, Sendable {
    public var kind: VoteKind
    public var height: Height
    public var round: Round
    public var blockHash: Hash?
    public var validator: PublicKey
    public var signature: Signature

    public init(
        kind: VoteKind, height: Height, round: Round, blockHash: Hash?, validator: PublicKey, signature: Signature
    ) {
        self.kind = kind
        self.height = height
        self.round = round
        self.blockHash = blockHash
        self.validator = validator
        self.signature = signature
    }

    /// What the validator signs: the domain tag, the chain, and the vote without its signature.
    public static func signBytes(chainID: String, kind: VoteKind, height: Height, round: Round, blockHash: Hash?)
        -> [UInt8]
    {
        var writer = CanonicalWriter(reservingCapacity: 96)
        writer.write(SignDomain.vote)
        writer.write(chainID)
        writer.write(kind)
        writer.write(height)
        writer.write(round)
        writer.write(blockHash)
        return writer.bytes
    }

    public func signBytes(chainID: String) -> [UInt8] {
        Self.signBytes(chainID: chainID, kind: kind, height: height, round: round, blockHash: blockHash)
    }

    public func hasValidSignature(chainID: String) -> Bool {
        validator.verify(signature, for: signBytes(chainID: chainID))
    }
}

extension Vote: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(kind)
        writer.write(height)
        writer.write(round)
        writer.write(blockHash)
        writer.write(validator)
        writer.write(signature)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        kind = try reader.read()
        height = try reader.readUInt64()
        round = try reader.readUInt32()
        blockHash = try reader.readOptional()
        validator = try reader.read()
        signature = try reader.read()
    }
}

/// A signed proposal of a block for a round. `proofOfLockRound` is the round whose prevotes justify
/// re-proposing a locked or valid block (-1 in the paper; nil here) .
public struct Proposal: Hashable, Sendable {
    public var height: Height
    public var round: Round
    public var proofOfLockRound: Round?
    public var blockHash: Hash
    public var proposer: PublicKey
    public var signature: Signature

    public init(
        height: Height, round: Round, proofOfLockRound: Round?, blockHash: Hash, proposer: PublicKey,
        signature: Signature
    ) {
        self.height = height
        self.round = round
        self.proofOfLockRound = proofOfLockRound
        self.blockHash = blockHash
        self.proposer = proposer
        self.signature = signature
    }

    public static func signBytes(
        chainID: String, height: Height, round: Round, proofOfLockRound: Round?, blockHash: Hash
    ) -> [UInt8] {
        var writer = CanonicalWriter(reservingCapacity: 96)
        writer.write(SignDomain.proposal)
        writer.write(chainID)
        writer.write(height)
        writer.write(round)
        writer.write(proofOfLockRound)
        writer.write(blockHash)
        return writer.bytes
    }

    public func signBytes(chainID: String) -> [UInt8] {
        Self.signBytes(
            chainID: chainID, height: height, round: round, proofOfLockRound: proofOfLockRound, blockHash: blockHash)
    }

    public func hasValidSignature(chainID: String) -> Bool {
        proposer.verify(signature, for: signBytes(chainID: chainID))
    }
}

extension Proposal: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(height)
        writer.write(round)
        writer.write(proofOfLockRound)
        writer.write(blockHash)
        writer.write(proposer)
        writer.write(signature)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        height = try reader.readUInt64()
        round = try reader.readUInt32()
        proofOfLockRound = try reader.readOptional()
        blockHash = try reader.read()
        proposer = try reader.read()
        signature = try reader.read()
    }
}

/// Two votes by one validator for the same height, round and kind but different blocks: proof of
/// equivocation, which the ledger's evidence transaction turns into a slash and a tombstone.
public struct DoubleSignEvidence: Hashable, Sendable, CanonicalCodable {
    public let first: Vote
    public let second: Vote

    /// Orders the pair by encoding so that the same equivocation always has the same bytes.
    public init?(_ a: Vote, _ b: Vote) {
        guard a.validator == b.validator, a.height == b.height, a.round == b.round, a.kind == b.kind,
            a.blockHash != b.blockHash
        else { return nil }
        let ordered = a.canonicalBytes.lexicographicallyPrecedes(b.canonicalBytes)
        first = ordered ? a : b
        second = ordered ? b : a
    }

    /// Both signatures verify and the votes conflict.
    public func isValid(chainID: String) -> Bool {
        DoubleSignEvidence(first, second) != nil && first.hasValidSignature(chainID: chainID)
            && second.hasValidSignature(chainID: chainID)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(first)
        writer.write(second)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let a: Vote = try reader.read()
        let b: Vote = try reader.read()
        guard let evidence = DoubleSignEvidence(a, b), evidence.first == a else {
            throw .invalidValue("evidence votes do not conflict or are not in canonical order")
        }
        self = evidence
    }
}
