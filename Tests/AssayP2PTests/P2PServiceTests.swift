import AssayCrypto
import NIOCore
import NIOPosix
import Testing

@testable import AssayP2P

@Suite(.serialized) struct P2PServiceTests {
    @Test func threeNodesConnectAndExchangeMessagesBothWays() async throws {
        let keys = [node(1), node(2), node(3)]
        let first = service(keys[0], allowed: keys)
        let firstPort = try await first.start()
        let second = service(keys[1], peers: [firstPort], allowed: keys)
        let secondPort = try await second.start()
        let third = service(keys[2], peers: [firstPort, secondPort], allowed: keys)
        try await third.start()
        let all = [first, second, third]
        #expect(await eventually { all.allSatisfy { $0.connectedPeers.count == 2 } })

        #expect(first.send(to: keys[2].publicKey, [1, 2, 3]))
        third.broadcast([4, 5])
        var thirdInbox = third.inbound.makeAsyncIterator()
        #expect(await thirdInbox.next() == InboundMessage(peer: keys[0].publicKey, bytes: [1, 2, 3]))
        var firstInbox = first.inbound.makeAsyncIterator()
        #expect(await firstInbox.next() == InboundMessage(peer: keys[2].publicKey, bytes: [4, 5]))
        var secondInbox = second.inbound.makeAsyncIterator()
        #expect(await secondInbox.next() == InboundMessage(peer: keys[2].publicKey, bytes: [4, 5]))
        for service in all { await service.stop() }
        #expect(first.connectedPeers.isEmpty)
    }

    @Test func nodesDialingEachOtherKeepOneConnection() async throws {
        let keys = [node(1), node(2)]
        let ports = [try await freePort(), try await freePort()]
        let first = service(keys[0], port: ports[0], peers: [ports[1]], allowed: keys)
        let second = service(keys[1], port: ports[1], peers: [ports[0]], allowed: keys)
        async let started = (first.start(), second.start())
        _ = try await started
        #expect(await eventually { first.connectedPeers.count == 1 && second.connectedPeers.count == 1 })
        try await Task.sleep(for: .milliseconds(300))
        let (kept, mirror) = (try #require(first.connectedPeers.first), try #require(second.connectedPeers.first))
        #expect(kept.role != mirror.role)  // both ends kept the same TCP connection
        #expect(kept.role == (keys[0].publicKey < keys[1].publicKey ? .initiator : .responder))
        #expect(second.send(to: keys[0].publicKey, [7]))
        var inbox = first.inbound.makeAsyncIterator()
        #expect(await inbox.next() == InboundMessage(peer: keys[1].publicKey, bytes: [7]))
        await first.stop()
        await second.stop()
    }

    @Test func aNodeKeyOutsideTheValidatorListIsRefusedAndLogged() async throws {
        let (logger, lines) = capturingLogger()
        let validator = service(node(1), allowed: [node(1), node(2)], logger: logger)
        let port = try await validator.start()
        let stranger = service(node(7), peers: [port], allowed: [node(1), node(7)])
        try await stranger.start()
        let expected = "node key \(node(7).publicKey) is not in the chain's validator list"
        #expect(await eventually {
            lines.all.contains { $0.hasPrefix("refused peer 127.0.0.1:") && $0.hasSuffix(expected) }
        })
        #expect(validator.connectedPeers.isEmpty && stranger.connectedPeers.isEmpty)
        await stranger.stop()
        await validator.stop()
    }

    @Test func anOversizeFrameClosesTheConnection() async throws {
        let (logger, lines) = capturingLogger()
        let validator = service(node(1), allowed: [node(1)], logger: logger)
        let port = try await validator.start()
        let raw = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        try await raw.writeAndFlush(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0x7F]))
        try await raw.closeFuture.get()
        #expect(lines.all.contains { $0.hasSuffix("frame of 2147483647 bytes exceeds the limit of 65536 bytes") })
        await validator.stop()
    }

    @Test func aSilentPeerIsDroppedWhenTheHandshakeTimesOut() async throws {
        let (logger, lines) = capturingLogger()
        let validator = service(node(1), allowed: [node(1)], logger: logger)
        let port = try await validator.start()
        let raw = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        try await raw.closeFuture.get()
        #expect(lines.all.contains { $0.hasSuffix("handshake did not complete in time") })
        await validator.stop()
    }

    @Test func aDialerReconnectsAfterThePeerRestarts() async throws {
        let keys = [node(1), node(2)]
        let listener = service(keys[0], allowed: keys)
        let port = try await listener.start()
        let dialer = service(keys[1], peers: [port], allowed: keys)
        try await dialer.start()
        #expect(await eventually { dialer.connectedPeers.map(\.key) == [keys[0].publicKey] })
        await listener.stop()
        #expect(await eventually { dialer.connectedPeers.isEmpty })
        let restarted = service(keys[0], port: port, allowed: keys)
        try await restarted.start()
        #expect(await eventually { dialer.connectedPeers.map(\.key) == [keys[0].publicKey] })
        #expect(restarted.send(to: keys[1].publicKey, [42]))
        var inbox = dialer.inbound.makeAsyncIterator()
        #expect(await inbox.next() == InboundMessage(peer: keys[0].publicKey, bytes: [42]))
        await dialer.stop()
        await restarted.stop()
    }
}
