import AssayCrypto
import Logging
import NIOCore

/// One established peer connection as the service sees it.
struct PeerConnection: Sendable {
    let key: PublicKey
    let channel: any Channel
    let role: ConnectionRole
    let remoteAddress: String
    /// The configured address this connection was dialed to, for outbound connections.
    let dialed: PeerAddress?
}

/// What a connection reports to the service; called on the connection's event loop.
protocol PeerEvents: Sendable {
    func isAllowed(_ key: PublicKey) -> Bool
    /// Returns false when the service keeps another connection to the same peer instead.
    func established(_ connection: PeerConnection) -> Bool
    func received(_ message: [UInt8], from peer: PublicKey)
    func closed(_ connection: PeerConnection)
}

/// Fired through the pipeline when the handshake time is up.
private struct HandshakeDeadline: Sendable {}

/// Fired through the pipeline every keepalive interval of an established connection.
private struct KeepaliveTick: Sendable {}

/// Performs the actions of a `ConnectionStateMachine` on a NIO channel, and bounds what waits to be written.
/// Outbound data is one plaintext application message per write. Once established, it sends a keepalive when it
/// wrote nothing for a keepalive interval and closes the link when the peer sent nothing for `peerTimeout`, so a
/// dead or cut-off peer is noticed (and redialed) in seconds rather than after TCP's retransmission backoff.
final class PeerChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = [UInt8]
    typealias OutboundOut = ByteBuffer

    private var machine: ConnectionStateMachine
    private let events: any PeerEvents
    private let logger: Logger
    private let config: P2PConfig
    private let dialed: PeerAddress?
    private var connection: PeerConnection?
    private var handshakeTimeout: Scheduled<Void>?
    private var keepalive: RepeatedTask?
    private var lastReadAt = NIODeadline.now()
    private var wroteSinceTick = false
    private var closing = false
    private var remote = "unknown"
    private var pendingMessages = 0
    private var pendingBytes = 0

    init(role: ConnectionRole, config: P2PConfig, dialed: PeerAddress?, events: any PeerEvents, logger: Logger) {
        machine = ConnectionStateMachine(
            role: role, identity: config.identity, chainID: config.chainID,
            handshakeFrameBytesMax: config.handshakeFrameBytesMax, frameBytesMax: config.frameBytesMax,
            isAllowed: events.isAllowed)
        self.events = events
        self.logger = logger
        self.config = config
        self.dialed = dialed
    }

    func channelActive(context: ChannelHandlerContext) {
        remote = Self.describe(context.channel.remoteAddress)
        let pipeline = context.pipeline
        handshakeTimeout = context.eventLoop.scheduleTask(in: config.handshakeTimeout) {
            pipeline.fireUserInboundEventTriggered(HandshakeDeadline())
        }
        perform(machine.start(), context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        lastReadAt = .now()
        perform(machine.receive(buffer.readableBytesView), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimeout?.cancel()
        keepalive?.cancel()
        if let connection {
            logger.info("disconnected from peer \(connection.key) at \(remote)")
            events.closed(connection)
        } else if !closing, let reason = machine.closedByPeerReason {
            logger.warning("peer \(remote): \(reason)")
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is HandshakeDeadline, connection == nil {
            close(context: context, reason: .handshakeTimedOut)
        } else if event is KeepaliveTick {
            keepaliveTick(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("peer \(remote): \(error)")
        context.close(promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let message = unwrapOutboundIn(data)
        precondition(message != ConnectionStateMachine.keepaliveMessage, "an empty message would read as a keepalive")
        enqueue(message, context: context, promise: promise)
    }

    /// Encrypts `message` and writes it, unless the peer is too slow: then it is disconnected.
    private func enqueue(_ message: [UInt8], context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard machine.isEstablished, !closing else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        guard pendingMessages < config.outboundMessagesMax, pendingBytes + message.count <= config.outboundBytesMax
        else {
            promise?.fail(ConnectionError.outboundQueueFull(messages: pendingMessages, bytes: pendingBytes))
            close(context: context, reason: .outboundQueueFull(messages: pendingMessages, bytes: pendingBytes))
            return
        }
        let frame: ByteBuffer
        do { frame = try machine.send(message) } catch {
            promise?.fail(error)
            close(context: context, reason: error)
            return
        }
        let frameBytes = frame.readableBytes
        pendingMessages += 1
        pendingBytes += frameBytes
        wroteSinceTick = true
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenComplete { _ in
            self.pendingMessages -= 1
            self.pendingBytes -= frameBytes
        }
        written.futureResult.cascade(to: promise)
        context.write(wrapOutboundOut(frame), promise: written)
    }

    private func startKeepalive(context: ChannelHandlerContext) {
        let pipeline = context.pipeline
        keepalive = context.eventLoop.scheduleRepeatedTask(
            initialDelay: config.keepaliveInterval, delay: config.keepaliveInterval
        ) { _ in pipeline.fireUserInboundEventTriggered(KeepaliveTick()) }
    }

    private func keepaliveTick(context: ChannelHandlerContext) {
        let silence = NIODeadline.now() - lastReadAt
        if silence >= config.peerTimeout {
            close(context: context, reason: .peerSilent(milliseconds: silence.nanoseconds / 1_000_000))
        } else if !wroteSinceTick {
            enqueue(ConnectionStateMachine.keepaliveMessage, context: context, promise: nil)
            context.flush()
        }
        wroteSinceTick = false
    }

    private func perform(_ actions: [ConnectionStateMachine.Action], context: ChannelHandlerContext) {
        for action in actions {
            switch action {
            case let .write(bytes):
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
            case let .established(key):
                handshakeTimeout?.cancel()
                let candidate = PeerConnection(
                    key: key, channel: context.channel, role: machine.role, remoteAddress: remote, dialed: dialed)
                guard events.established(candidate) else {
                    close(context: context, reason: .duplicateConnection(key))
                    return
                }
                connection = candidate
                lastReadAt = .now()
                startKeepalive(context: context)
                logger.info("connected to peer \(key) at \(remote) as \(machine.role)")
            case let .deliver(message):
                if let connection { events.received(message, from: connection.key) }
            case let .close(reason):
                close(context: context, reason: reason)
            }
        }
    }

    private func close(context: ChannelHandlerContext, reason: ConnectionError) {
        guard !closing else { return }
        closing = true
        switch (reason, connection) {
        case (.duplicateConnection, _): logger.debug("closing connection to \(remote): \(reason)")
        case (_, nil): logger.warning("refused peer \(remote): \(reason)")
        case let (_, connection?): logger.warning("closing peer \(connection.key) at \(remote): \(reason)")
        }
        context.close(promise: nil)
    }

    private static func describe(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return "unknown" }
        return "\(ip):\(port)"
    }
}
