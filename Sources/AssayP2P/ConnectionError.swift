import AssayCodec
import AssayCrypto

/// Why a peer connection is refused or closed. The description is what the log line says after the address.
public enum ConnectionError: Error, Equatable, Sendable, CustomStringConvertible {
    case frameTooLarge(bytes: Int, max: Int)
    case incompatibleVersion(UInt8)
    case wrongChain(String)
    case malformedHandshake(String)
    case badHandshakeSignature(PublicKey)
    case notAllowed(PublicKey)
    case selfConnection
    case decryptionFailed
    case nonceExhausted
    case duplicateConnection(PublicKey)
    case outboundQueueFull(messages: Int, bytes: Int)
    case handshakeTimedOut
    case weakEphemeralKey
    case pendingHandshakesFull(max: Int)
    case pendingHandshakesFromIPFull(ip: String, max: Int)
    case peerSilent(milliseconds: Int64)
    case closedBeforeHello
    case closedBeforeAuth
    case closedAfterOwnAuth

    public var description: String {
        switch self {
        case let .frameTooLarge(bytes, max): "frame of \(bytes) bytes exceeds the limit of \(max) bytes"
        case let .incompatibleVersion(version):
            "peer speaks protocol version \(version), this node speaks \(Handshake.version)"
        case let .wrongChain(chain): "peer is on chain '\(chain)'"
        case let .malformedHandshake(reason): "malformed handshake: \(reason)"
        case let .badHandshakeSignature(key): "handshake signature by node key \(key) does not verify"
        case let .notAllowed(key): "node key \(key) is not in the chain's validator list"
        case .selfConnection: "the peer is this node itself"
        case .decryptionFailed: "a frame failed authentication (corrupted or forged)"
        case .nonceExhausted: "the session's 2^64 message counter is used up"
        case let .duplicateConnection(key): "another connection to node key \(key) is kept instead"
        case let .outboundQueueFull(messages, bytes):
            "peer is too slow: \(messages) messages (\(bytes) bytes) are waiting to be written"
        case .handshakeTimedOut: "handshake did not complete in time"
        case .weakEphemeralKey: "peer's X25519 key is a low-order point (the shared secret would be all zeros)"
        case let .pendingHandshakesFull(max): "\(max) connections are already in their handshake"
        case let .pendingHandshakesFromIPFull(ip, max):
            "\(max) connections from \(ip) are already in their handshake"
        case let .peerSilent(milliseconds): "peer sent nothing for \(milliseconds) ms (dead, stalled or cut off)"
        case .closedBeforeHello: "peer closed the connection before sending its hello"
        case .closedBeforeAuth: "peer closed the connection during the handshake, before authenticating itself"
        case .closedAfterOwnAuth:
            "peer closed the connection right after this node authenticated, so it refused this node "
                + "(is this node's key in its validator list? its log says why)"
        }
    }
}
