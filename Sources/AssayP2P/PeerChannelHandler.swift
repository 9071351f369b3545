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

/// Performs the actions of a `ConnectionStateMachine` on a NIO channel, and bounds what waits to be written.
/// Outbound data is one plaintext application message per write.
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
    private var closing = false
    private var remote = "unknown"
    private var pendingMessages = 0
    private var pendingBytes = 0

    init(role: ConnectionRole, config: P2PConfig, dialed: PeerAddress?, events: any PeerEvents, logger: Logger) {
        machine = ConnectionStateMachine(
            role: role, identity: config.identity, chainID: config.chainID, frameBytesMax: config.frameBytesMax,
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
        perform(machine.receive(buffer.readableBytesView), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimeout?.cancel()
        if let connection {
            logger.info("disconnected from peer \(connection.key) at \(remote)")
            events.closed(connection)
        } else if !closing {
            logger.warning("peer \(remote): \(ConnectionError.closedDuringHandshake)")
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is HandshakeDeadline, connection == nil {
            close(context: context, reason: .handshakeTimedOut)
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
        let frame: [UInt8]
        do { frame = try machine.send(message) } catch {
            promise?.fail(error)
            close(context: context, reason: error)
            return
        }
        pendingMessages += 1
        pendingBytes += frame.count
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenComplete { _ in
            self.pendingMessages -= 1
            self.pendingBytes -= frame.count
        }
        written.futureResult.cascade(to: promise)
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: frame)), promise: written)
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
