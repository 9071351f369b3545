import AssayCodec
import AssayCrypto
import AssayTypes
import Crypto
import NIOCore

/// The protocol of one peer connection as a pure value: fed the bytes that arrive and the messages to send,
/// it returns the actions the channel handler performs. No sockets, no clock.
///
/// Both sides send a hello frame at once and derive the session keys from the peer's hello. The initiator
/// then sends its encrypted auth frame; the responder checks it (signature, allowed key) and only then answers
/// with its own; each side is established once it has accepted the other's auth. Every later frame is one
/// encrypted application message, or an encrypted empty keepalive that is not delivered.
///
/// Until the peer has authenticated, frames are limited to `handshakeFrameBytesMax` (hello and auth are about
/// 100 bytes), so an unauthenticated peer cannot make this node buffer a large frame.
struct ConnectionStateMachine {
    enum Action: Equatable {
        case write([UInt8])
        case established(PublicKey)
        case deliver([UInt8])
        case close(ConnectionError)
    }

    private enum State {
        case awaitingHello
        case awaitingAuth(transcript: Hash, sending: DirectionalCipher, receiving: DirectionalCipher)
        case established(peer: PublicKey, sending: DirectionalCipher, receiving: DirectionalCipher)
        case closed
    }

    let role: ConnectionRole
    private let identity: SecretKey
    private let chainID: String
    private let ephemeral: Curve25519.KeyAgreement.PrivateKey
    private let isAllowed: (PublicKey) -> Bool
    private let frameBytesMax: Int
    private var decoder: FrameDecoder
    private var state = State.awaitingHello

    init(
        role: ConnectionRole, identity: SecretKey, chainID: String,
        ephemeral: Curve25519.KeyAgreement.PrivateKey = .init(), handshakeFrameBytesMax: Int, frameBytesMax: Int,
        isAllowed: @escaping (PublicKey) -> Bool
    ) {
        precondition(handshakeFrameBytesMax <= frameBytesMax)
        self.role = role
        self.identity = identity
        self.chainID = chainID
        self.ephemeral = ephemeral
        self.isAllowed = isAllowed
        self.frameBytesMax = frameBytesMax
        decoder = FrameDecoder(frameBytesMax: handshakeFrameBytesMax)
    }

    var isEstablished: Bool { if case .established = state { true } else { false } }

    /// Why the connection ended when the peer closed it before this side did: where the handshake stood tells
    /// a crashed or foreign peer apart from one that refused this node after reading its auth.
    var closedByPeerReason: ConnectionError? {
        switch state {
        case .awaitingHello: .closedBeforeHello
        case .awaitingAuth: role == .initiator ? .closedAfterOwnAuth : .closedBeforeAuth
        case .established, .closed: nil
        }
    }

    /// The hello frame to write as soon as the connection is up.
    func start() -> [Action] {
        let hello = HandshakeHello(
            version: Handshake.version, chainID: chainID, ephemeralKey: Array(ephemeral.publicKey.rawRepresentation))
        return [.write(FrameDecoder.frame(hello.canonicalBytes))]
    }

    /// Bytes from the socket, in any split.
    mutating func receive(_ bytes: some Collection<UInt8>) -> [Action] {
        if case .closed = state { return [] }
        decoder.append(bytes)
        var actions: [Action] = []
        do {
            while var frame = try decoder.nextFrame() {
                actions += try handle(&frame)
            }
        } catch {
            state = .closed
            actions.append(.close(error))
        }
        return actions
    }

    /// An application message as the encrypted frame to write; only after `.established`.
    mutating func send(_ message: [UInt8]) throws(ConnectionError) -> ByteBuffer {
        guard case .established(let peer, var sending, let receiving) = state else {
            preconditionFailure("send before the handshake completed")
        }
        let frame = try sending.sealedFrame(message)
        state = .established(peer: peer, sending: sending, receiving: receiving)
        return frame
    }

    /// An encrypted empty frame: it tells the peer this side is alive and is never delivered.
    mutating func keepalive() throws(ConnectionError) -> ByteBuffer { try send(Self.keepaliveMessage) }

    static let keepaliveMessage: [UInt8] = []

    /// Handles one frame; an encrypted one is opened in place (`frame` is the decoder's array, not a copy).
    private mutating func handle(_ frame: inout [UInt8]) throws(ConnectionError) -> [Action] {
        switch state {
        case .awaitingHello: return try receiveHello(frame)
        case let .awaitingAuth(transcript, sending, receiving):
            return try receiveAuth(&frame, transcript: transcript, sending: sending, receiving: receiving)
        case .established(let peer, let sending, var receiving):
            try receiving.open(&frame)
            state = .established(peer: peer, sending: sending, receiving: receiving)
            return frame == Self.keepaliveMessage ? [] : [.deliver(frame)]
        case .closed: return []
        }
    }

    private mutating func receiveHello(_ frame: [UInt8]) throws(ConnectionError) -> [Action] {
        let hello: HandshakeHello
        do { hello = try HandshakeHello(canonicalBytes: frame) } catch { throw .malformedHandshake("\(error)") }
        guard hello.version == Handshake.version else { throw .incompatibleVersion(hello.version) }
        guard hello.chainID == chainID else { throw .wrongChain(hello.chainID) }
        guard let peerKey = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: hello.ephemeralKey),
            let secret = try? ephemeral.sharedSecretFromKeyAgreement(with: peerKey)
        else { throw .malformedHandshake("ephemeral key is not a usable X25519 key") }
        // A low-order point (all zeros among them) forces a known all-zero secret (RFC 7748, section 6.1).
        guard secret.withUnsafeBytes({ $0.contains { $0 != 0 } }) else { throw .weakEphemeralKey }
        let ownKey = Array(ephemeral.publicKey.rawRepresentation)
        let transcript = Handshake.transcript(
            chainID: chainID, initiatorKey: role == .initiator ? ownKey : hello.ephemeralKey,
            responderKey: role == .initiator ? hello.ephemeralKey : ownKey)
        var (sending, receiving) = Handshake.ciphers(secret: secret, transcript: transcript, role: role)
        // The initiator proves itself first; the responder reveals its key only to a peer it accepted.
        let actions = role == .initiator ? [Action.write(try authFrame(transcript: transcript, sending: &sending))] : []
        state = .awaitingAuth(transcript: transcript, sending: sending, receiving: receiving)
        return actions
    }

    private func authFrame(transcript: Hash, sending: inout DirectionalCipher) throws(ConnectionError) -> [UInt8] {
        let signature: Signature
        do { signature = try identity.sign(Handshake.signedBytes(transcript: transcript, signer: role)) } catch {
            throw .malformedHandshake("signing the transcript failed: \(error)")
        }
        let auth = HandshakeAuth(nodeKey: identity.publicKey, signature: signature)
        return FrameDecoder.frame(try sending.seal(auth.canonicalBytes))
    }

    private mutating func receiveAuth(
        _ frame: inout [UInt8], transcript: Hash, sending: DirectionalCipher, receiving: DirectionalCipher
    ) throws(ConnectionError) -> [Action] {
        var receiving = receiving
        try receiving.open(&frame)
        let auth: HandshakeAuth
        do { auth = try HandshakeAuth(canonicalBytes: frame) } catch { throw .malformedHandshake("\(error)") }
        let peerRole: ConnectionRole = role == .initiator ? .responder : .initiator
        guard auth.nodeKey.verify(auth.signature, for: Handshake.signedBytes(transcript: transcript, signer: peerRole))
        else { throw .badHandshakeSignature(auth.nodeKey) }
        guard auth.nodeKey != identity.publicKey else { throw .selfConnection }
        guard isAllowed(auth.nodeKey) else { throw .notAllowed(auth.nodeKey) }
        var sending = sending
        let reply = role == .responder ? [Action.write(try authFrame(transcript: transcript, sending: &sending))] : []
        state = .established(peer: auth.nodeKey, sending: sending, receiving: receiving)
        decoder.frameBytesMax = frameBytesMax
        return reply + [.established(auth.nodeKey)]
    }
}
