import AssayCodec
import AssayCrypto
import Crypto
@testable import AssayP2P

/// The P2P layer below the wire messages: length-prefixed frames, and the handshake a connection runs before
/// its peer has authenticated (hello in the clear, then the encrypted auth), driven through the real
/// `ConnectionStateMachine` of a responder, as a node runs it for every accepted connection.
enum P2PHarnesses {
    static let all: [Harness] = [
        Harness("frame", "FrameDecoder: the same frames and the same refusal whatever the split of the bytes") { bytes in
            guard bytes.count >= 2 else { return }
            let frameBytesMax = bytes[0] & 1 == 0 ? 1024 : 64 * 1024
            let split = Int(bytes[1]) + 1
            let stream = Array(bytes[2...])
            let whole = frames(of: stream, frameBytesMax: frameBytesMax, split: stream.count)
            let pieces = frames(of: stream, frameBytesMax: frameBytesMax, split: split)
            if whole != pieces { fatalError("frames depend on how the bytes arrive (split \(split))") }
        },
        Harness("handshake", "ConnectionStateMachine as responder: hello, auth, then encrypted wire messages") { bytes in
            guard let mode = bytes.first else { return }
            let payload = Array(bytes.dropFirst())
            switch mode % 4 {
            case 0: handshake(raw: payload)
            case 1: handshake(auth: payload)
            case 2: established(messages: payload)
            default: established(raw: payload)
            }
        },
    ]

    /// The payloads `stream` splits into, fed `split` bytes at a time, and the error that ended it if any.
    private static func frames(of stream: [UInt8], frameBytesMax: Int, split: Int) -> FramesSeen {
        var decoder = FrameDecoder(frameBytesMax: frameBytesMax)
        var seen = FramesSeen()
        var start = 0
        repeat {
            let end = min(stream.count, start + max(split, 1))
            decoder.append(stream[start..<end])
            start = end
            do {
                while let frame = try decoder.nextFrame() { seen.frames.append(frame) }
            } catch {
                seen.refusal = "\(error)"
                return seen
            }
        } while start < stream.count
        seen.bufferedBytes = decoder.bufferedBytes
        return seen
    }

    private struct FramesSeen: Equatable {
        var frames: [[UInt8]] = []
        var refusal: String?
        var bufferedBytes = 0
    }

    // MARK: the handshake

    /// Anything at all as the first bytes of a connection.
    private static func handshake(raw: [UInt8]) {
        var responder = Peers.responder()
        _ = responder.receive(raw)
    }

    /// A valid hello, then `auth` as the plaintext of the encrypted auth frame.
    private static func handshake(auth: [UInt8]) {
        var responder = Peers.responder()
        var sending = Peers.shared.initiatorSending
        let sealed = try! sending.seal(auth)
        _ = responder.receive(Peers.shared.initiatorHello + FrameDecoder.frame(sealed))
    }

    /// A completed handshake, then `messages` (each a length byte and that many bytes) as encrypted frames whose
    /// plaintext the node decodes as wire messages.
    private static func established(messages: [UInt8]) {
        var responder = Peers.responder()
        var sending = Peers.shared.initiatorSendingAfterAuth
        var stream = Peers.shared.initiatorHello + Peers.shared.initiatorAuth
        var rest = messages[...]
        while let length = rest.popFirst() {
            let message = Array(rest.prefix(Int(length)))
            rest = rest.dropFirst(message.count)
            stream += FrameDecoder.frame(try! sending.seal(message))
        }
        for action in responder.receive(stream) {
            if case let .deliver(message) = action { decodeCanonical(WireMessage.self, message) }
        }
    }

    /// A completed handshake, then bytes that were never encrypted.
    private static func established(raw: [UInt8]) {
        var responder = Peers.responder()
        let actions = responder.receive(Peers.shared.initiatorHello + Peers.shared.initiatorAuth + raw)
        for action in actions {
            if case .deliver = action { fatalError("a frame the initiator never sealed was delivered") }
        }
    }
}

/// Two fixed validators and fixed ephemeral keys, so every input replays the same handshake; what the initiator
/// sends is computed once with the same key schedule the node uses.
private struct Peers: @unchecked Sendable {
    static let chainID = "assay-fuzz"
    static let initiatorIdentity = try! SecretKey(bytes: [UInt8](repeating: 0, count: 31) + [2])
    static let responderIdentity = try! SecretKey(bytes: [UInt8](repeating: 0, count: 31) + [1])
    nonisolated(unsafe) static let initiatorEphemeral = try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: [UInt8](repeating: 7, count: 32))
    nonisolated(unsafe) static let responderEphemeral = try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: [UInt8](repeating: 9, count: 32))

    static let shared = Peers()

    let initiatorHello: [UInt8]
    /// The initiator's cipher before it sealed its auth, and its auth frame and cipher after.
    let initiatorSending: DirectionalCipher
    let initiatorAuth: [UInt8]
    let initiatorSendingAfterAuth: DirectionalCipher

    static func responder() -> ConnectionStateMachine {
        ConnectionStateMachine(
            role: .responder, identity: responderIdentity, chainID: chainID, ephemeral: responderEphemeral,
            handshakeFrameBytesMax: 1024, frameBytesMax: 8 << 20, isAllowed: { $0 == initiatorIdentity.publicKey })
    }

    private init() {
        let ownKey = Array(Self.initiatorEphemeral.publicKey.rawRepresentation)
        let peerKey = Array(Self.responderEphemeral.publicKey.rawRepresentation)
        initiatorHello = FrameDecoder.frame(
            HandshakeHello(version: Handshake.version, chainID: Self.chainID, ephemeralKey: ownKey).canonicalBytes)
        let secret = try! Self.initiatorEphemeral.sharedSecretFromKeyAgreement(with: Self.responderEphemeral.publicKey)
        let transcript = Handshake.transcript(chainID: Self.chainID, initiatorKey: ownKey, responderKey: peerKey)
        var sending = Handshake.ciphers(secret: secret, transcript: transcript, role: .initiator).sending
        initiatorSending = sending
        let signature = try! Self.initiatorIdentity.sign(Handshake.signedBytes(transcript: transcript, signer: .initiator))
        let auth = HandshakeAuth(nodeKey: Self.initiatorIdentity.publicKey, signature: signature)
        initiatorAuth = FrameDecoder.frame(try! sending.seal(auth.canonicalBytes))
        initiatorSendingAfterAuth = sending
    }
}
