import AssayAPI
import AssayCrypto
import AssayRPC
import AssayTypes
import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import Logging
import NIOCore
import NIOPosix
import Testing

@Suite struct WebSocketTests {
    /// Reads the next JSON-RPC message from the server.
    static func next(_ messages: inout WebSocketInboundMessageStream.AsyncIterator) async throws -> JSONValue {
        guard case let .text(text)? = try await messages.next() else { throw WebSocketTestError("connection ended") }
        return try JSONValue.parse(Array(text.utf8))
    }

    @Test func subscribersGetNewBlocksTheirTransactionsCommitAndCanUnsubscribe() async throws {
        let node = FakeNode()
        let hub = SubscriptionHub()
        let server = RPCServer(config: RPCServerConfig(port: 0), node: node, hub: hub)
        let pending = transfer(key(2), nonce: 3)
        try await server.application().test(.live) { client in
            let port = try #require(client.port)
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/websocket", logger: Logger(label: "test")) {
                inbound, outbound, _ in
                var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                try await outbound.write(.text(#"{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"event":"new_block"}}"#))
                let blocks = try await Self.next(&messages)
                #expect(blocks["id"] == .integer(1))
                let blockSubscription = try #require(blocks["result"]?["subscription"])
                try await outbound.write(.text(#"{"jsonrpc":"2.0","id":2,"method":"subscribe","params":{"event":"tx","hash":"\#(pending.hash)"}}"#))
                let tx = try await Self.next(&messages)
                let txSubscription = try #require(tx["result"]?["subscription"])
                #expect(txSubscription != blockSubscription)

                hub.publish(block: NewBlockView(node.block))
                let block = try await Self.next(&messages)
                #expect(block["method"] == .string("subscription"))
                #expect(block["params"]?["subscription"] == blockSubscription)
                #expect(block["params"]?["result"]?["height"] == .integer(1))
                #expect(block["params"]?["result"]?["hash"] == .string(node.block.hash.description))
                #expect(block["params"]?["result"]?["num_txs"] == .integer(1))

                hub.publish(transaction: TransactionRecord(
                    transaction: pending, height: 2, index: 0, code: 0, log: "", events: []))
                let committed = try await Self.next(&messages)
                #expect(committed["params"]?["subscription"] == txSubscription)
                #expect(committed["params"]?["result"]?["hash"] == .string(pending.hash.description))
                #expect(committed["params"]?["result"]?["height"] == .integer(2))
                #expect(!hub.isWatched(.transaction(pending.hash)), "a tx subscription is served once")

                // A transaction already committed is sent right after the subscription.
                try await outbound.write(.text(#"{"jsonrpc":"2.0","id":3,"method":"subscribe","params":{"event":"tx","hash":"\#(node.committed.hash)"}}"#))
                let known = try await Self.next(&messages)
                #expect(known["id"] == .integer(3))
                let immediate = try await Self.next(&messages)
                #expect(immediate["params"]?["result"]?["hash"] == .string(node.committed.hash.description))

                // A message larger than a client's default 16 KiB frame limit arrives whole, in fragments.
                let log = String(repeating: "x", count: 40_000)
                let big = try Transaction.signed(
                    chainID: chain, nonce: 3, fee: 10, body: .settle(Settle(jobID: .zero)), key: key(4))
                try await outbound.write(.text(#"{"jsonrpc":"2.0","id":7,"method":"subscribe","params":{"event":"tx","hash":"\#(big.hash)"}}"#))
                #expect(try await Self.next(&messages)["id"] == .integer(7))
                hub.publish(transaction: TransactionRecord(transaction: big, height: 3, index: 0, code: 0, log: log, events: []))
                let bigNotice = try await Self.next(&messages)
                #expect(bigNotice["params"]?["result"]?["log"] == .string(log))

                guard case let .string(id) = blockSubscription else { throw WebSocketTestError("id is not a string") }
                try await outbound.write(.text(#"{"jsonrpc":"2.0","id":4,"method":"unsubscribe","params":{"subscription":"\#(id)"}}"#))
                #expect(try await Self.next(&messages)["result"]?["unsubscribed"] == .bool(true))
                #expect(!hub.isWatched(.newBlock))
                // Other methods work over the socket too; a bad subscription is a clear error.
                try await outbound.write(.text(#"{"jsonrpc":"2.0","id":5,"method":"status"}"#))
                #expect(try await Self.next(&messages)["result"]?["latest_height"] == .integer(1))
                try await outbound.write(.text(#"{"jsonrpc":"2.0","id":6,"method":"subscribe","params":{"event":"blocks"}}"#))
                #expect(try await Self.next(&messages)["error"]?["code"] == .integer(-32602))
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
    }

    @Test func aSubscriberThatFallsBehindIsDroppedWithoutBlockingThePublisher() async throws {
        let hub = SubscriptionHub()
        let node = FakeNode()
        let (connection, outbox) = hub.connect()
        try hub.subscribe(connection, to: .newBlock) { Array("subscribed \($0)".utf8) }
        // The response to subscribe takes the first place in the queue.
        for _ in 0..<(SubscriptionHub.queueMessagesMax - 1) { hub.publish(block: NewBlockView(node.block)) }
        #expect(hub.isLive(connection), "a full queue is still a live connection")
        hub.publish(block: NewBlockView(node.block))
        #expect(!hub.isLive(connection))
        #expect(hub.connectionCount == 1, "dropped, but open until its session disconnects")
        var received = 0
        for await _ in outbox { received += 1 }
        #expect(received == SubscriptionHub.queueMessagesMax, "the queue ends after what fitted")
    }
}

/// Issue 15: invalid UTF-8 and unmasked frames were accepted; queues were bounded in messages only.
@Suite struct WebSocketBoundsTests {
    /// Upgrades a raw connection, sends one frame right behind the request and returns the close code the server
    /// answers with.
    func closeCode(answering frame: [UInt8]) async throws -> UInt16? {
        try await RPCServer(config: RPCServerConfig(port: 0), node: FakeNode()).application().test(.live) { client in
            let reply = try await RawTCP.exchange(
                port: try #require(client.port), sending: RawTCP.webSocketUpgrade() + frame,
                until: { RawTCP.closeCode($0) != nil })
            #expect(reply.text.hasPrefix("HTTP/1.1 101 "), "\(reply.text)")
            return RawTCP.closeCode(reply)
        }
    }

    @Test func invalidUTF8InATextMessageClosesWith1007() async throws {
        let frame = RawTCP.webSocketFrame(opcode: 0x1, payload: [0x22, 0xff, 0xfe, 0x22], mask: [1, 2, 3, 4])
        #expect(try await closeCode(answering: frame) == 1007)
    }

    @Test func anUnmaskedClientFrameClosesWith1002() async throws {
        let request = Array(#"{"jsonrpc":"2.0","id":1,"method":"health"}"#.utf8)
        #expect(try await closeCode(answering: RawTCP.webSocketFrame(opcode: 0x1, payload: request, mask: nil)) == 1002)
    }

    @Test func aMaskedValidRequestIsAnswered() async throws {
        let request = Array(#"{"jsonrpc":"2.0","id":1,"method":"health"}"#.utf8)
        let frame = RawTCP.webSocketFrame(opcode: 0x1, payload: request, mask: [9, 8, 7, 6])
        try await RPCServer(config: RPCServerConfig(port: 0), node: FakeNode()).application().test(.live) { client in
            let answer = Array(#"{"id":1,"jsonrpc":"2.0","result":{}}"#.utf8)
            let reply = try await RawTCP.exchange(
                port: try #require(client.port), sending: RawTCP.webSocketUpgrade() + frame,
                until: { $0.afterHead.count >= answer.count + 2 })
            #expect(Array(reply.afterHead.prefix(answer.count + 2)) == [0x81, UInt8(answer.count)] + answer)
        }
    }

    /// A client that pipelines requests and never reads: its socket stops taking bytes, so the close frame of a
    /// dropped connection cannot be written. The node still ends the session and closes the socket.
    @Test func aClientThatNeverReadsIsDisconnectedOnceItsQueueOverflows() async throws {
        let request = Array(#"{"jsonrpc":"2.0","id":1,"method":"status"}"#.utf8)
        let frame = RawTCP.webSocketFrame(opcode: 0x1, payload: request, mask: [1, 2, 3, 4])
        let server = RPCServer(config: RPCServerConfig(port: 0), node: FakeNode(), hub: SubscriptionHub(queueBytesMax: 64 << 10))
        try await server.application().test(.live) { client in
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(ChannelOptions.autoRead, value: false)
                .connect(host: "127.0.0.1", port: try #require(client.port)).get()
            // The upgrade first, so the frames reach a session rather than the upgrade's pending buffer.
            channel.writeAndFlush(ByteBuffer(bytes: RawTCP.webSocketUpgrade()), promise: nil)
            #expect(await eventually { server.hub.connectionCount == 1 })
            // Far more answers than the socket buffers and the queue hold together.
            let requests = Array(repeating: frame, count: 100_000).flatMap { $0 }
            channel.writeAndFlush(ByteBuffer(bytes: requests), promise: nil)
            #expect(await eventually { server.hub.connectionCount == 0 }, "the session of a client that never reads ended")
            try? await channel.close()
        }
    }

    /// Polls `condition` until it holds or `seconds` pass.
    func eventually(seconds: Double = 30, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1_000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    @Test func aQueueOverItsByteBoundDropsTheConnection() async throws {
        let hub = SubscriptionHub(queueBytesMax: 10_000)
        let (connection, outbox) = hub.connect()
        let message = [UInt8](repeating: 0x20, count: 4_000)
        hub.send(message, to: connection)
        hub.send(message, to: connection)
        hub.dequeued(connection, byteCount: message.count)  // the writer took one out
        hub.send(message, to: connection)
        #expect(hub.isLive(connection), "8,000 bytes queued fit in 10,000")
        hub.send(message, to: connection)
        #expect(!hub.isLive(connection), "12,000 bytes do not")
        var received = 0
        for await _ in outbox { received += 1 }
        #expect(received == 3)
    }

    @Test func anEmptyQueueTakesOneMessageLargerThanTheBound() async throws {
        let hub = SubscriptionHub(queueBytesMax: 1_000)
        let (connection, outbox) = hub.connect()
        hub.send([UInt8](repeating: 0x20, count: 5_000), to: connection)
        #expect(hub.isLive(connection))
        hub.send([0x20], to: connection)
        #expect(!hub.isLive(connection))
        var received: [Int] = []
        for await message in outbox { received.append(message.count) }
        #expect(received == [5_000])
    }
}

struct WebSocketTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
