import AssayCodec
import AssayCrypto
import AssayTypes
import Crypto
import Foundation

/// Which side opened the TCP connection. The dialer is the initiator.
public enum ConnectionRole: UInt8, Sendable, Equatable {
    case initiator = 0
    case responder = 1
}

/// The first frame each side sends, in the clear: protocol version, chain and a fresh X25519 key.
struct HandshakeHello: Equatable, CanonicalCodable {
    var version: UInt8
    var chainID: String
    var ephemeralKey: [UInt8]

    func encode(to writer: inout CanonicalWriter) {
        writer.write(version)
        writer.write(chainID)
        writer.writeFixed(ephemeralKey)
    }

    init(version: UInt8, chainID: String, ephemeralKey: [UInt8]) {
        self.version = version
        self.chainID = chainID
        self.ephemeralKey = ephemeralKey
    }

    init(from reader: inout CanonicalReader) throws(CodecError) {
        version = try reader.readUInt8()
        chainID = try reader.readString(bound: Transaction.chainIDBound)
        ephemeralKey = try reader.readFixed(count: 32)
    }
}

/// The second frame, already encrypted: the node's static key and its signature over the transcript.
struct HandshakeAuth: Equatable, CanonicalCodable {
    var nodeKey: PublicKey
    var signature: Signature

    init(nodeKey: PublicKey, signature: Signature) {
        self.nodeKey = nodeKey
        self.signature = signature
    }

    func encode(to writer: inout CanonicalWriter) {
        writer.write(nodeKey)
        writer.write(signature)
    }

    init(from reader: inout CanonicalReader) throws(CodecError) {
        nodeKey = try reader.read()
        signature = try reader.read()
    }
}

/// The key schedule of a connection. Both sides compute the same transcript hash over the domain tag, the chain
/// and both ephemeral keys (initiator's first); each signs it with its role appended, so a signature cannot be
/// reflected back; HKDF-SHA256 of the X25519 secret, salted with the transcript, gives one key per direction.
enum Handshake {
    static let version: UInt8 = 1
    static let domain = "assay/p2p-handshake/v1"

    static func transcript(chainID: String, initiatorKey: [UInt8], responderKey: [UInt8]) -> Hash {
        var writer = CanonicalWriter(reservingCapacity: 128)
        writer.write(domain)
        writer.write(chainID)
        writer.writeFixed(initiatorKey)
        writer.writeFixed(responderKey)
        return AssayCrypto.SHA256.hash(writer.bytes)
    }

    static func signedBytes(transcript: Hash, signer: ConnectionRole) -> [UInt8] {
        transcript.bytes + [signer.rawValue]
    }

    /// (sending, receiving) ciphers for `role`.
    static func ciphers(
        secret: SharedSecret, transcript: Hash, role: ConnectionRole
    ) -> (sending: DirectionalCipher, receiving: DirectionalCipher) {
        func key(_ label: String) -> DirectionalCipher {
            DirectionalCipher(
                key: secret.hkdfDerivedSymmetricKey(
                    using: Crypto.SHA256.self, salt: transcript.bytes, sharedInfo: Array(label.utf8),
                    outputByteCount: 32))
        }
        let forward = key("assay/p2p initiator->responder")
        let backward = key("assay/p2p responder->initiator")
        return role == .initiator ? (forward, backward) : (backward, forward)
    }
}
