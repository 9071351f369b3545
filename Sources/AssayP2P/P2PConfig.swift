import AssayCrypto
import NIOCore

/// A peer to dial: its TCP address. Its node key is learned (and checked) in the handshake.
public struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}

public struct P2PConfig: Sendable {
    public var chainID: String
    /// The node key: authenticates this node to its peers.
    public var identity: SecretKey
    public var listenHost: String
    /// 0 picks a free port; `P2PService.start()` returns the one bound.
    public var listenPort: Int
    /// Peers this node dials and keeps redialing.
    public var peers: [PeerAddress]
    /// Node keys allowed to connect (the chain's validators); see `P2PService.setAllowedKeys`.
    public var allowedKeys: Set<PublicKey>
    /// The largest frame from an authenticated peer; a larger one closes the connection before it is buffered.
    public var frameBytesMax: Int
    /// The largest frame before the peer has authenticated (hello and auth are about 100 bytes).
    public var handshakeFrameBytesMax: Int
    /// Accepted connections still in their handshake, in total and from one IP address; beyond either, a new
    /// connection is closed at once. Connections this node dials are not counted.
    public var pendingHandshakesMax: Int
    public var pendingHandshakesPerIPMax: Int
    /// A peer with more than this many messages, or bytes, written but not yet accepted by its socket is
    /// too slow and gets disconnected.
    public var outboundMessagesMax: Int
    public var outboundBytesMax: Int
    /// Inbound messages the consumer has not taken yet; newer ones are dropped beyond this.
    public var inboundMessagesMax: Int
    public var handshakeTimeout: TimeAmount
    /// An established link idle for this long in the sending direction gets an encrypted keepalive frame ...
    public var keepaliveInterval: TimeAmount
    /// ... and one that received nothing for this long is closed as dead (and redialed if configured).
    public var peerTimeout: TimeAmount
    public var reconnectDelayInitial: TimeAmount
    public var reconnectDelayMax: TimeAmount

    /// The largest application message that fits one frame once encrypted.
    public var messageBytesMax: Int { frameBytesMax - DirectionalCipher.tagBytes }

    public init(
        chainID: String, identity: SecretKey, listenHost: String = "127.0.0.1", listenPort: Int = 0,
        peers: [PeerAddress] = [], allowedKeys: Set<PublicKey>, frameBytesMax: Int = 8 << 20,
        handshakeFrameBytesMax: Int = 1_024, pendingHandshakesMax: Int = 64, pendingHandshakesPerIPMax: Int = 8,
        outboundMessagesMax: Int = 4_096, outboundBytesMax: Int = 64 << 20, inboundMessagesMax: Int = 16_384,
        handshakeTimeout: TimeAmount = .seconds(10), keepaliveInterval: TimeAmount = .seconds(1),
        peerTimeout: TimeAmount = .seconds(3), reconnectDelayInitial: TimeAmount = .milliseconds(100),
        reconnectDelayMax: TimeAmount = .seconds(1)
    ) {
        precondition(handshakeFrameBytesMax <= frameBytesMax && frameBytesMax > DirectionalCipher.tagBytes)
        precondition(keepaliveInterval < peerTimeout, "a live peer must get to send a keepalive before its timeout")
        self.chainID = chainID
        self.identity = identity
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.peers = peers
        self.allowedKeys = allowedKeys
        self.frameBytesMax = frameBytesMax
        self.handshakeFrameBytesMax = handshakeFrameBytesMax
        self.pendingHandshakesMax = pendingHandshakesMax
        self.pendingHandshakesPerIPMax = pendingHandshakesPerIPMax
        self.outboundMessagesMax = outboundMessagesMax
        self.outboundBytesMax = outboundBytesMax
        self.inboundMessagesMax = inboundMessagesMax
        self.handshakeTimeout = handshakeTimeout
        self.keepaliveInterval = keepaliveInterval
        self.peerTimeout = peerTimeout
        self.reconnectDelayInitial = reconnectDelayInitial
        self.reconnectDelayMax = reconnectDelayMax
    }
}
