import AssayCrypto
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import AssayP2P

/// A TCP relay on 127.0.0.1 that can cut its links the way a network partition does: bytes in flight vanish,
/// nothing closes, and new connections are refused until it heals.
final class PartitionRelay: Sendable {
    private let target: Int
    private let cut = Atomic<Bool>(false)
    private let listener = Mutex<(any Channel)?>(nil)
    let port: Int

    init(to target: Int) async throws {
        self.target = target
        port = try await freePort()
        try await listen()
    }

    /// Silences every relayed link in both directions and stops accepting.
    func partition() async throws {
        cut.store(true, ordering: .sequentiallyConsistent)
        try await listener.withLock { $0 }?.close()
    }

    func heal() async throws {
        cut.store(false, ordering: .sequentiallyConsistent)
        try await listen()
    }

    func stop() async { try? await listener.withLock { $0 }?.close() }

    var isCut: Bool { cut.load(ordering: .sequentiallyConsistent) }

    private func listen() async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] inbound in
                ClientBootstrap(group: inbound.eventLoop)
                    .channelInitializer { outbound in
                        outbound.eventLoop.makeCompletedFuture {
                            try outbound.pipeline.syncOperations.addHandler(Relay(to: inbound, relay: self))
                        }
                    }
                    .connect(host: "127.0.0.1", port: target)
                    .flatMapThrowing { outbound in
                        try inbound.pipeline.syncOperations.addHandler(Relay(to: outbound, relay: self))
                    }
            }
            .bind(host: "127.0.0.1", port: port).get()
        listener.withLock { $0 = channel }
    }

    /// One direction of a relayed link.
    private final class Relay: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let other: any Channel
        let relay: PartitionRelay

        init(to other: any Channel, relay: PartitionRelay) {
            self.other = other
            self.relay = relay
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if !relay.isCut { other.writeAndFlush(unwrapInboundIn(data), promise: nil) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            if !relay.isCut { other.close(promise: nil) }  // a close does not cross a partition either
            context.fireChannelInactive()
        }
    }
}

@Suite(.serialized) struct PartitionTests {
    /// With the default keepalive (1 s) and peer timeout (3 s), both ends drop a link cut by a partition and the
    /// dialer is back within its 1 s redial backoff once the partition heals. Before keepalives, both ends kept
    /// the dead link forever (no data in flight, so TCP never noticed).
    @Test func aCutLinkIsDroppedAndRejoinedAfterThePartitionHeals() async throws {
        let keys = [node(1), node(2)]
        let listener = P2PService(config: P2PConfig(chainID: "chain", identity: keys[0], allowedKeys: [keys[1].publicKey]))
        let port = try await listener.start()
        let relay = try await PartitionRelay(to: port)
        let dialer = P2PService(
            config: P2PConfig(
                chainID: "chain", identity: keys[1], peers: [PeerAddress(host: "127.0.0.1", port: relay.port)],
                allowedKeys: [keys[0].publicKey]))
        try await dialer.start()
        let linked = { listener.connectedPeers.count == 1 && dialer.connectedPeers.count == 1 }
        #expect(await eventually(linked))

        try await relay.partition()
        let cutAt = ContinuousClock.now
        #expect(await eventually { listener.connectedPeers.isEmpty && dialer.connectedPeers.isEmpty })
        let detected = ContinuousClock.now - cutAt
        try await relay.heal()
        let healedAt = ContinuousClock.now
        #expect(await eventually(linked))
        print("partition: both ends dropped the cut link after \(detected), rejoined \(ContinuousClock.now - healedAt) after healing")
        await dialer.stop()
        await relay.stop()
        await listener.stop()
    }
}
