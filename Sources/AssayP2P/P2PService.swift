import AssayCrypto
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A message from an authenticated peer.
public struct InboundMessage: Sendable, Equatable {
    public let peer: PublicKey
    public let bytes: [UInt8]
}

public struct PeerInfo: Sendable, Equatable {
    public let key: PublicKey
    public let remoteAddress: String
    /// `.initiator` when this node dialed the peer.
    public let role: ConnectionRole
}

/// The node's encrypted, permissioned peer-to-peer transport: listens, dials the configured peers (and redials
/// them with exponential backoff), keeps one connection per peer key, and moves opaque messages.
public final class P2PService: Sendable {
    public let config: P2PConfig
    /// Every message received from an established peer, in arrival order per peer.
    public let inbound: AsyncStream<InboundMessage>
    private let continuation: AsyncStream<InboundMessage>.Continuation
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state: Mutex<State>
    private let receivedBytes = Atomic<Int>(0)

    private struct State {
        var allowedKeys: Set<PublicKey>
        var connections: [PublicKey: PeerConnection] = [:]
        /// Every open channel, established or still in its handshake, so that `stop` closes them all.
        var openChannels: [ObjectIdentifier: any Channel] = [:]
        var server: (any Channel)?
        /// The pending redial of each configured peer that is waiting out its backoff.
        var redials: [PeerAddress: Scheduled<Void>] = [:]
        var keysByAddress: [PeerAddress: PublicKey] = [:]
        var establishedDials: Set<ObjectIdentifier> = []
        /// Accepted connections still in their handshake, with the peer's IP address.
        var pendingAccepts: [ObjectIdentifier: String] = [:]
        var droppedInbound = 0
        var stopped = false
    }

    public init(
        config: P2PConfig, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "assay.p2p")
    ) {
        self.config = config
        self.group = group
        self.logger = logger
        (inbound, continuation) = AsyncStream.makeStream(
            of: InboundMessage.self, bufferingPolicy: .bufferingOldest(config.inboundMessagesMax))
        state = Mutex(State(allowedKeys: config.allowedKeys))
    }

    /// Binds the listening socket and starts dialing the configured peers. Returns the bound port.
    @discardableResult
    public func start() async throws -> Int {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.install(on: channel, role: .responder, dialed: nil) }
            }
            .bind(host: config.listenHost, port: config.listenPort).get()
        state.withLock { $0.server = server }
        for address in config.peers { keepConnected(to: address, backoff: config.reconnectDelayInitial) }
        let port = server.localAddress?.port ?? config.listenPort
        logger.info("p2p listening on \(config.listenHost):\(port) as node \(config.identity.publicKey)")
        return port
    }

    /// Sends one message to a connected peer; false when that peer is not connected. `message` must not be
    /// empty (an empty frame is a keepalive) and must fit `config.messageBytesMax` for the peer to accept it.
    @discardableResult
    public func send(to peer: PublicKey, _ message: [UInt8]) -> Bool {
        guard let channel = state.withLock({ $0.connections[peer]?.channel }) else { return false }
        channel.writeAndFlush(message, promise: nil)
        return true
    }

    /// Sends one message to every connected peer.
    public func broadcast(_ message: [UInt8]) {
        for channel in state.withLock({ $0.connections.values.map(\.channel) }) {
            channel.writeAndFlush(message, promise: nil)
        }
    }

    /// Established peers, sorted by key.
    public var connectedPeers: [PeerInfo] {
        state.withLock { state in
            state.connections.values.map { PeerInfo(key: $0.key, remoteAddress: $0.remoteAddress, role: $0.role) }
        }.sorted { $0.key < $1.key }
    }

    /// Message bytes received from established peers since start (decrypted payloads, keepalives excluded):
    /// what block sync and state sync cost a joining node.
    public var receivedBytesTotal: Int { receivedBytes.load(ordering: .relaxed) }

    /// Inbound messages dropped because the consumer of `inbound` fell behind by `inboundMessagesMax`.
    public var droppedInboundCount: Int { state.withLock { $0.droppedInbound } }

    /// Replaces the allowed node keys (after a validator set change) and disconnects peers no longer in it.
    public func setAllowedKeys(_ keys: Set<PublicKey>) {
        let removed = state.withLock { state in
            state.allowedKeys = keys
            return state.connections.values.filter { !keys.contains($0.key) }
        }
        for connection in removed {
            logger.warning("disconnecting peer \(connection.key): \(ConnectionError.notAllowed(connection.key))")
            connection.channel.close(promise: nil)
        }
    }

    /// Stops dialing, closes the listener and every connection, and finishes `inbound`.
    public func stop() async {
        let (server, channels, redials) = state.withLock { state in
            state.stopped = true
            return (state.server, Array(state.openChannels.values), Array(state.redials.values))
        }
        for redial in redials { redial.cancel() }
        try? await server?.close()
        for channel in channels { try? await channel.close() }
        continuation.finish()
        logger.info("p2p stopped")
    }

    private func install(on channel: any Channel, role: ConnectionRole, dialed: PeerAddress?) throws {
        let id = ObjectIdentifier(channel)
        let ip = channel.remoteAddress?.ipAddress ?? "unknown"
        let refusal: (any Error)? = state.withLock { state in
            guard !state.stopped else { return ChannelError.ioOnClosedChannel }
            if role == .responder {
                if let full = pendingAcceptsFull(state.pendingAccepts, ip: ip) { return full }
                state.pendingAccepts[id] = ip
            }
            state.openChannels[id] = channel
            return nil
        }
        if let refusal = refusal as? ConnectionError {
            logger.warning("refused peer \(ip):\(channel.remoteAddress?.port ?? 0): \(refusal)")
        }
        if let refusal { throw refusal }
        channel.closeFuture.whenComplete { [self] _ in
            state.withLock { state in
                state.openChannels.removeValue(forKey: id)
                state.pendingAccepts.removeValue(forKey: id)
            }
        }
        let handler = PeerChannelHandler(role: role, config: config, dialed: dialed, events: self, logger: logger)
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    /// Why one more unauthenticated connection from `ip` is refused, if it is: a bound on the memory and
    /// handshake work that peers who have not proven a key can claim.
    private func pendingAcceptsFull(_ pending: [ObjectIdentifier: String], ip: String) -> ConnectionError? {
        guard pending.count < config.pendingHandshakesMax else {
            return .pendingHandshakesFull(max: config.pendingHandshakesMax)
        }
        let fromAddress = pending.values.count { $0 == ip }
        guard fromAddress < config.pendingHandshakesPerIPMax else {
            return .pendingHandshakesFromIPFull(ip: ip, max: config.pendingHandshakesPerIPMax)
        }
        return nil
    }

    /// Dials `address` until stopped, waiting while a connection to its key (either direction) is up and
    /// backing off exponentially between failed attempts. It runs on event-loop futures and timers, not in a task,
    /// so that redialing never waits for the cooperative thread pool, which synchronous work elsewhere in the
    /// process can hold for seconds.
    private func keepConnected(to address: PeerAddress, backoff: TimeAmount) {
        guard !state.withLock({ $0.stopped }) else { return }
        if let live = liveConnection(to: address) {
            live.closeFuture.whenComplete { [self] _ in
                keepConnected(to: address, backoff: config.reconnectDelayInitial)
            }
            return
        }
        connect(to: address).whenComplete { [self] result in
            guard case let .success(channel) = result else { return redial(address, after: backoff) }
            channel.closeFuture.whenComplete { [self] _ in
                let wasEstablished = state.withLock { $0.establishedDials.remove(ObjectIdentifier(channel)) != nil }
                redial(address, after: wasEstablished ? config.reconnectDelayInitial : backoff)
            }
        }
    }

    private func redial(_ address: PeerAddress, after delay: TimeAmount) {
        let next = min(delay * 2, config.reconnectDelayMax)
        state.withLock { state in
            guard !state.stopped else { return }
            state.redials[address] = group.next().scheduleTask(in: delay) { [self] in
                keepConnected(to: address, backoff: next)
            }
        }
    }

    private func liveConnection(to address: PeerAddress) -> (any Channel)? {
        state.withLock { state in state.keysByAddress[address].flatMap { state.connections[$0]?.channel } }
    }

    private func connect(to address: PeerAddress) -> EventLoopFuture<any Channel> {
        ClientBootstrap(group: group)
            .connectTimeout(.seconds(3))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.install(on: channel, role: .initiator, dialed: address)
                }
            }
            .connect(host: address.host, port: address.port)
    }
}

extension P2PService: PeerEvents {
    func isAllowed(_ key: PublicKey) -> Bool { state.withLock { $0.allowedKeys.contains(key) } }

    func established(_ connection: PeerConnection) -> Bool {
        let ownKey = config.identity.publicKey
        let (kept, replaced): (Bool, (any Channel)?) = state.withLock { state in
            state.pendingAccepts.removeValue(forKey: ObjectIdentifier(connection.channel))
            guard !state.stopped, state.allowedKeys.contains(connection.key) else { return (false, nil) }
            if let dialed = connection.dialed {
                state.keysByAddress[dialed] = connection.key
                state.establishedDials.insert(ObjectIdentifier(connection.channel))
            }
            let existing = state.connections[connection.key]
            if let existing, DuplicateConnections.keepsExisting(
                existing: existing.role, new: connection.role, ownKey: ownKey, peerKey: connection.key)
            {
                return (false, nil)
            }
            state.connections[connection.key] = connection
            return (true, existing?.channel)
        }
        // Closed outside the lock: closing may run the old channel's handlers on this thread.
        replaced?.close(promise: nil)
        return kept
    }

    func received(_ message: [UInt8], from peer: PublicKey) {
        receivedBytes.add(message.count, ordering: .relaxed)
        if case .dropped = continuation.yield(InboundMessage(peer: peer, bytes: message)) {
            state.withLock { $0.droppedInbound += 1 }
        }
    }

    func closed(_ connection: PeerConnection) {
        state.withLock { state in
            if let current = state.connections[connection.key], current.channel === connection.channel {
                state.connections[connection.key] = nil
            }
        }
    }
}
