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
    public var frameBytesMax: Int
    /// A peer with more than this many messages, or bytes, written but not yet accepted by its socket is
    /// too slow and gets disconnected.
    public var outboundMessagesMax: Int
    public var outboundBytesMax: Int
    /// Inbound messages the consumer has not taken yet; newer ones are dropped beyond this.
    public var inboundMessagesMax: Int
    public var handshakeTimeout: TimeAmount
    public var reconnectDelayInitial: Duration
    public var reconnectDelayMax: Duration

    public init(
        chainID: String, identity: SecretKey, listenHost: String = "127.0.0.1", listenPort: Int = 0,
        peers: [PeerAddress] = [], allowedKeys: Set<PublicKey>, frameBytesMax: Int = 16 << 20,
        outboundMessagesMax: Int = 4_096, outboundBytesMax: Int = 64 << 20, inboundMessagesMax: Int = 16_384,
        handshakeTimeout: TimeAmount = .seconds(10), reconnectDelayInitial: Duration = .milliseconds(100),
        reconnectDelayMax: Duration = .seconds(5)
    ) {
        self.chainID = chainID
        self.identity = identity
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.peers = peers
        self.allowedKeys = allowedKeys
        self.frameBytesMax = frameBytesMax
        self.outboundMessagesMax = outboundMessagesMax
        self.outboundBytesMax = outboundBytesMax
        self.inboundMessagesMax = inboundMessagesMax
        self.handshakeTimeout = handshakeTimeout
        self.reconnectDelayInitial = reconnectDelayInitial
        self.reconnectDelayMax = reconnectDelayMax
    }
}
