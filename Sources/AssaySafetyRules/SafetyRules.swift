import AssayCodec
import AssayCrypto
import AssayStorage
import AssayTypes

/// The only holder of the validator key. It signs proposals and votes in strictly increasing
/// (height, round, step) order, persisting what it signed with a synced write before the signature
/// leaves, so that no crash can make this validator sign two different messages for one step.
///
/// Order of operations (Aptos SafetyRules): load the persisted record, return the earlier signature
/// for the identical request, check the rules, sign, persist, return.
public final class SafetyRules {
    public static let namespace = Namespace("safety")
    static let recordKey = Array("last-signed".utf8)

    private let signer: any Signer
    private let store: any KeyValueStore
    private let chainID: String
    public private(set) var lastSigned: SignedRecord?

    /// Loads the last signed record of this key from `store`.
    public init(signer: any Signer, store: any KeyValueStore, chainID: String) throws(SafetyError) {
        self.signer = signer
        self.store = store
        self.chainID = chainID
        let raw: [UInt8]?
        do { raw = try store.get(Self.recordKey, in: Self.namespace) } catch { throw .storage(error) }
        if let raw {
            do { lastSigned = try SignedRecord(canonicalBytes: raw) } catch { throw .corruptRecord(error) }
        }
    }

    public var publicKey: PublicKey { signer.publicKey }

    public func signProposal(height: Height, round: Round, proofOfLockRound: Round?, blockHash: Hash)
        throws(SafetyError) -> Proposal
    {
        let bytes = Proposal.signBytes(
            chainID: chainID, height: height, round: round, proofOfLockRound: proofOfLockRound, blockHash: blockHash)
        let signature = try sign(bytes, at: SignedPosition(height: height, round: round, step: .proposal))
        return Proposal(
            height: height, round: round, proofOfLockRound: proofOfLockRound, blockHash: blockHash,
            proposer: signer.publicKey, signature: signature)
    }

    public func signVote(_ kind: VoteKind, height: Height, round: Round, blockHash: Hash?) throws(SafetyError) -> Vote {
        let bytes = Vote.signBytes(chainID: chainID, kind: kind, height: height, round: round, blockHash: blockHash)
        let step: SignedPosition.Step = kind == .prevote ? .prevote : .precommit
        let signature = try sign(bytes, at: SignedPosition(height: height, round: round, step: step))
        return Vote(
            kind: kind, height: height, round: round, blockHash: blockHash, validator: signer.publicKey,
            signature: signature)
    }

    private func sign(_ bytes: [UInt8], at position: SignedPosition) throws(SafetyError) -> Signature {
        if let last = lastSigned {
            // Rule: the same step again yields the same signature, and only for the very same bytes.
            if position == last.position {
                guard bytes == last.signBytes else { throw .conflictingSignBytes(position) }
                return last.signature
            }
            // Rule: never go back to an earlier height, round or step.
            guard last.position < position else { throw .regression(last: last.position, requested: position) }
        }
        let signature: Signature
        do { signature = try signer.sign(bytes) } catch { throw .signer(error) }
        let record = SignedRecord(position: position, signBytes: bytes, signature: signature)
        var batch = WriteBatch()
        batch.put(Self.recordKey, record.canonicalBytes, in: Self.namespace)
        // Persist before the signature leaves: a crash after this line re-returns the same signature.
        do { try store.write(batch, durability: .synced) } catch { throw .storage(error) }
        lastSigned = record
        return signature
    }
}

/// Why SafetyRules refused to sign.
public enum SafetyError: Error, Equatable, Sendable, CustomStringConvertible {
    case regression(last: SignedPosition, requested: SignedPosition)
    case conflictingSignBytes(SignedPosition)
    case storage(StorageError)
    case corruptRecord(CodecError)
    case signer(CryptoError)

    public var description: String {
        switch self {
        case let .regression(last, requested): "refusing to sign at \(requested): already signed at \(last)"
        case let .conflictingSignBytes(position): "refusing to sign different bytes at \(position)"
        case let .storage(error): "safety record storage failed: \(error)"
        case let .corruptRecord(error): "safety record is corrupt: \(error)"
        case let .signer(error): "signer failed: \(error)"
        }
    }
}

/// A point in the signing order: height, then round, then proposal < prevote < precommit.
public struct SignedPosition: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalCodable {
    public enum Step: UInt8, Sendable, Comparable {
        case proposal = 1
        case prevote = 2
        case precommit = 3

        public static func < (lhs: Step, rhs: Step) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public var height: Height
    public var round: Round
    public var step: Step

    public init(height: Height, round: Round, step: Step) {
        self.height = height
        self.round = round
        self.step = step
    }

    public static func < (lhs: SignedPosition, rhs: SignedPosition) -> Bool {
        (lhs.height, lhs.round, lhs.step.rawValue) < (rhs.height, rhs.round, rhs.step.rawValue)
    }

    public var description: String { "height \(height) round \(round) \(step)" }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(height)
        writer.write(round)
        writer.write(step.rawValue)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        height = try reader.readUInt64()
        round = try reader.readUInt32()
        let raw = try reader.readUInt8()
        guard let step = Step(rawValue: raw) else { throw .unknownTag(UInt64(raw), type: "SignedPosition.Step") }
        self.step = step
    }
}

/// What SafetyRules persists: the last position signed, its sign bytes and the signature.
public struct SignedRecord: Hashable, Sendable, CanonicalCodable {
    static let signBytesMax = 1_024

    public var position: SignedPosition
    public var signBytes: [UInt8]
    public var signature: Signature

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(position)
        writer.writeBytes(signBytes)
        writer.write(signature)
    }

    public init(position: SignedPosition, signBytes: [UInt8], signature: Signature) {
        self.position = position
        self.signBytes = signBytes
        self.signature = signature
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        position = try reader.read()
        signBytes = try reader.readBytes(bound: Self.signBytesMax)
        signature = try reader.read()
    }
}
