import AssayCrypto
import Foundation
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
        // Required: the inbox reads below would wait forever for messages that unconnected services cannot send.
        try #require(await eventually(seconds: 30) { all.allSatisfy { $0.connectedPeers.count == 2 } })

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

    /// Dialing runs on event loops, not in tasks: a dialer connects even while synchronous work holds every
    /// thread of the cooperative pool (in a busy test process, or a node doing blocking work on it).
    @Test func aDialerConnectsWhileTheCooperativePoolIsHeld() async throws {
        let keys = [node(1), node(2)]
        let (logger, lines) = capturingLogger()
        let first = service(keys[0], allowed: [keys[0]], logger: logger)
        let port = try await first.start()
        let second = service(keys[1], peers: [port], allowed: keys)
        try await second.start()
        // Refused until `first` allows it, so from now on only a redial can connect.
        try #require(await eventually { lines.all.contains { $0.contains("refused peer") } })
        let poolWidth = ProcessInfo.processInfo.activeProcessorCount
        let sawConnection = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<poolWidth {
                group.addTask {
                    first.setAllowedKeys(Set(keys.map(\.publicKey)))
                    return Self.blockUntil(seconds: 10) { first.connectedPeers.count == 1 }
                }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        #expect(sawConnection)
        await second.stop()
        await first.stop()
    }

    /// Polls `condition` while holding the calling thread, as synchronous work does.
    private static func blockUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        for _ in 0..<Int(seconds * 100) {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition()
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
        let (strangerLogger, strangerLines) = capturingLogger()
        let stranger = service(node(7), peers: [port], allowed: [node(1), node(7)], logger: strangerLogger)
        try await stranger.start()
        let expected = "node key \(node(7).publicKey) is not in the chain's validator list"
        #expect(await eventually {
            lines.all.contains { $0.hasPrefix("refused peer 127.0.0.1:") && $0.hasSuffix(expected) }
        })
        // The refused dialer is told where to look: it was refused right after proving its key.
        #expect(await eventually {
            strangerLines.all.contains { $0 == "peer 127.0.0.1:\(port): \(ConnectionError.closedAfterOwnAuth)" }
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
        #expect(lines.all.contains { $0.hasSuffix("frame of 2147483647 bytes exceeds the limit of 1024 bytes") })
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

    @Test func aPeerThatStopsMidHandshakeIsNotTakenForARefusal() async throws {
        let (logger, lines) = capturingLogger()
        let validator = service(node(1), allowed: [node(1), node(2)], logger: logger, handshakeTimeout: .seconds(30))
        let port = try await validator.start()
        let peer = try await RawPeer(key: node(2), port: port)
        try await peer.write(peer.machine.start())  // its hello, then it dies before authenticating
        try await peer.channel.close()
        #expect(await eventually {
            lines.all.contains { $0.hasSuffix(": \(ConnectionError.closedBeforeAuth)") }
        })
        #expect(!lines.all.contains { $0.contains("validator list") })
        await validator.stop()
    }

    @Test func largeFramesBeforeTheHandshakeCloseEveryConnectionFromTheHeader() async throws {
        let (logger, lines) = capturingLogger()
        // The handshake timeout is far away: only the pre-authentication frame limit can close these.
        let validator = service(node(1), allowed: [node(1)], logger: logger, handshakeTimeout: .seconds(30))
        let port = try await validator.start()
        let announcement: [UInt8] = [0x60, 0xEA, 0, 0] + [UInt8](repeating: 1, count: 1_000)  // 60000 bytes
        var raws: [any Channel] = []
        for index in 0..<8 {
            let raw = try await rawConnection(to: port, from: "127.0.0.\(2 + index)")
            try await raw.writeAndFlush(ByteBuffer(bytes: announcement))
            raws.append(raw)
        }
        for raw in raws { try await raw.closeFuture.get() }
        let refusals = lines.all.filter { $0.hasSuffix("frame of 60000 bytes exceeds the limit of 1024 bytes") }
        #expect(refusals.count == 8)
        await validator.stop()
    }

    @Test func connectionsBeyondThePendingCapsAreClosedAtOnce() async throws {
        let (logger, lines) = capturingLogger()
        let validator = service(
            node(1), allowed: [node(1), node(2)], logger: logger, handshakeTimeout: .seconds(30), pendingMax: 5,
            pendingPerIPMax: 3)
        let port = try await validator.start()
        var pending: [any Channel] = []
        // Accepted connections are installed on either event loop, so one connected later can be installed
        // earlier: let each group settle before the connection that must find the cap full.
        for _ in 0..<3 { pending.append(try await rawConnection(to: port, from: "127.0.0.2")) }
        try await Task.sleep(for: .milliseconds(500))
        let fourthFromOneAddress = try await rawConnection(to: port, from: "127.0.0.2")
        try await fourthFromOneAddress.closeFuture.get()
        for _ in 0..<2 { pending.append(try await rawConnection(to: port, from: "127.0.0.3")) }
        try await Task.sleep(for: .milliseconds(500))
        let sixthInAll = try await rawConnection(to: port, from: "127.0.0.4")
        try await sixthInAll.closeFuture.get()
        #expect(pending.allSatisfy { $0.isActive })
        #expect(lines.all.contains { $0.hasSuffix("3 connections from 127.0.0.2 are already in their handshake") })
        #expect(lines.all.contains { $0.hasSuffix("5 connections are already in their handshake") })
        // Once the pending ones go away, an authenticated peer gets in.
        for channel in pending { try await channel.close() }
        let peer = service(node(2), peers: [port], allowed: [node(1), node(2)])
        try await peer.start()
        #expect(await eventually { validator.connectedPeers.map(\.key) == [node(2).publicKey] })
        await peer.stop()
        await validator.stop()
    }

    @Test func aSilentPeerIsClosedWhileAnIdleLiveLinkStaysUp() async throws {
        let (logger, lines) = capturingLogger()
        let keys = [node(1), node(2), node(3)]
        let validator = service(
            keys[0], allowed: keys, logger: logger, keepalive: .milliseconds(100), peerTimeout: .milliseconds(400))
        let port = try await validator.start()
        let live = service(
            keys[1], peers: [port], allowed: keys, keepalive: .milliseconds(100), peerTimeout: .milliseconds(400))
        try await live.start()
        var silent = try await RawPeer(key: keys[2], port: port)
        #expect(try await silent.handshake() == keys[0].publicKey)
        #expect(await eventually { validator.connectedPeers.count == 2 })
        // The raw peer now neither reads nor writes, like a process that was stopped or cut off.
        try await silent.channel.setOption(ChannelOptions.autoRead, value: false).get()
        #expect(await eventually { validator.connectedPeers.map(\.key) == [keys[1].publicKey] })
        #expect(lines.all.contains {
            $0.hasPrefix("closing peer \(keys[2].publicKey)") && $0.contains("peer sent nothing for")
        })
        // The other link carried no messages over many timeouts; keepalives alone kept it.
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(validator.connectedPeers.map(\.key) == [keys[1].publicKey])
        #expect(!lines.all.contains { $0.contains("\(keys[1].publicKey)") && !$0.hasPrefix("connected to peer") })
        try? await silent.channel.close()  // the validator has closed it already
        await live.stop()
        await validator.stop()
    }
}
