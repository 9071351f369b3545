import AssayAPI
import AssayCrypto
import AssayTypes
import HummingbirdWebSocket
import NIOCore

/// One WebSocket connection at `/websocket`: JSON-RPC text frames in, responses and notifications out, all through
/// the connection's bounded queue in the hub. `subscribe` and `unsubscribe` are handled here; any other request
/// goes to the dispatcher, as over HTTP.
struct WebSocketSession {
    /// The largest request message (and frame) accepted.
    static let frameBytesMax = 1 << 20
    /// Messages go out in frames of at most this size, the default frame limit of common WebSocket clients; a
    /// client reads them as one message (e.g. swift-websocket's `inbound.messages(maxSize:)`).
    static let fragmentBytesMax = 1 << 14
    /// How long a dropped connection's close frame may wait for a client that stopped reading before the
    /// connection is closed without it.
    static let closeGrace = TimeAmount.seconds(1)

    let hub: SubscriptionHub
    let dispatcher: RPCDispatcher
    let node: any NodeAPI

    /// Serves one connection until either side ends it. What ended the reading (invalid UTF-8 in a text message,
    /// a message over the limit) is thrown, so that the WebSocket layer closes with its code (1007, 1009).
    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, channel: any Channel) async throws {
        let (connection, outbox) = hub.connect(dropped: { Self.close(channel, after: Self.closeGrace) })
        defer { hub.disconnect(connection) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await writeQueued(outbox, of: connection, to: outbound) }
            group.addTask { try await readRequests(inbound, connection: connection) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Writes the connection's queue out; a message keeps its place in the queue's byte count until written.
    private func writeQueued(_ outbox: AsyncStream<[UInt8]>, of connection: UInt64, to outbound: WebSocketOutboundWriter)
        async
    {
        for await message in outbox {
            guard hub.isLive(connection) else { break }  // dropped: what is still queued goes nowhere
            do { try await Self.write(message, to: outbound) } catch { return }
            hub.dequeued(connection, byteCount: message.count)
        }
        // Not cancelled by the session, so the hub ended the queue: the client fell too far behind. If it reads
        // nothing, this close frame waits forever; `close(_:after:)` ends the connection anyway.
        if !Task.isCancelled { try? await outbound.close(.policyViolation, reason: "subscriber too slow") }
    }

    /// Closes the connection after `delay` without waiting for any write: a client that stopped reading would
    /// otherwise hold its socket, its session and its queued messages for good.
    private static func close(_ channel: any Channel, after delay: TimeAmount) {
        channel.eventLoop.scheduleTask(in: delay) { channel.close(promise: nil) }
    }

    private func readRequests(_ inbound: WebSocketInboundStream, connection: UInt64) async throws {
        for try await message in inbound.messages(maxSize: Self.frameBytesMax) {
            guard case let .text(text) = message else {
                reply(RPCResponse(id: .null, error: .invalidRequest("send JSON-RPC as text frames")), connection)
                continue
            }
            await handle(Array(text.utf8), connection: connection)
        }
    }

    private func handle(_ body: [UInt8], connection: UInt64) async {
        let request: JSONValue
        switch RPCDispatcher.parse(body) {
        case let .success(parsed): request = parsed
        case let .failure(error): return reply(RPCResponse(id: .null, error: error), connection)
        }
        let subscribe = SubscriptionMethods.subscribe.name, unsubscribe = SubscriptionMethods.unsubscribe.name
        guard case let .call(call) = RPCDispatcher.check(request), call.method == subscribe || call.method == unsubscribe
        else {
            if let response = await dispatcher.handle(request) { hub.send(response, to: connection) }
            return
        }
        // A request without an id is a notification: it runs and gets no response.
        let id = call.id
        do throws(RPCError) {
            let params = try Self.params(call.params)
            if call.method == subscribe {
                let topic = try Self.topic(try RPCMethod.decode(SubscribeParams.self, from: params))
                try hub.subscribe(connection, to: topic) { subscription in
                    id.map { RPCDispatcher.encode(RPCResponse(id: $0, result: SubscribedView(subscription: subscription))) }
                }
                // Committed before the subscription began: send it now (the hub sends a transaction once).
                if case let .transaction(hash) = topic, let record = await node.transaction(hash: hash) {
                    hub.publish(transaction: record)
                }
            } else {
                let subscription = try RPCMethod.decode(UnsubscribeParams.self, from: params).subscription
                guard hub.unsubscribe(connection, subscription: subscription) else {
                    throw .notFound("subscription \(subscription)")
                }
                reply(id.map { RPCResponse(id: $0, result: UnsubscribedView(unsubscribed: true)) }, connection)
            }
        } catch {
            reply(id.map { RPCResponse(id: $0, error: error) }, connection)
        }
    }

    private static func write(_ message: [UInt8], to outbound: WebSocketOutboundWriter) async throws {
        try await outbound.withTextMessageWriter { writer in
            var start = 0
            repeat {
                let end = min(start + fragmentBytesMax, message.count)
                try await writer(ByteBuffer(bytes: message[start..<end]))
                start = end
            } while start < message.count
        }
    }

    private func reply(_ response: RPCResponse?, _ connection: UInt64) {
        if let response { hub.send(RPCDispatcher.encode(response), to: connection) }
    }

    private static func params(_ params: JSONValue?) throws(RPCError) -> [String: JSONValue] {
        guard case let .object(named)? = params else { throw .invalidParams("params must be an object") }
        return named
    }

    /// `{"event":"new_block"}`, `{"event":"tx","hash":H}` or `{"event":"jobs","address":A}`.
    static func topic(_ params: SubscribeParams) throws(RPCError) -> SubscriptionHub.Topic {
        switch params.event {
        case "new_block": return .newBlock
        case "tx":
            guard let hash = params.hash else { throw .invalidParams("missing parameter 'hash'") }
            return .transaction(try RPCMethods.parseHash(hash, name: "hash"))
        case "jobs":
            guard let address = params.address else { throw .invalidParams("missing parameter 'address'") }
            return .jobs(try RPCMethods.parseAddress(address, name: "address"))
        default: throw .invalidParams("'event' must be \"new_block\", \"tx\" or \"jobs\"")
        }
    }
}
