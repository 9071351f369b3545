import AssayCrypto
import AssayTypes
import Foundation
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

    let hub: SubscriptionHub
    let dispatcher: RPCDispatcher
    let node: any NodeAPI

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let (connection, outbox) = hub.connect()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await message in outbox {
                    do { try await Self.write(message, to: outbound) } catch { return }
                }
                // Not cancelled by the session, so the hub ended the queue: the client fell too far behind.
                if !Task.isCancelled { try? await outbound.close(.policyViolation, reason: "subscriber too slow") }
            }
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: Self.frameBytesMax) {
                        guard case let .text(text) = message else {
                            reply(RPCResponse(id: .null, error: .invalidRequest("send JSON-RPC as text frames")), connection)
                            continue
                        }
                        await handle(Array(text.utf8), connection: connection)
                    }
                } catch {}
            }
            await group.next()
            group.cancelAll()
            hub.disconnect(connection)
        }
    }

    private func handle(_ body: [UInt8], connection: UInt64) async {
        guard let request = try? JSONDecoder().decode(JSONValue.self, from: Data(body)),
            case let .object(fields) = request, fields["jsonrpc"] == .string("2.0"),
            case let .string(method)? = fields["method"], method == "subscribe" || method == "unsubscribe"
        else {
            if let response = await dispatcher.handle(body: body) { hub.send(response, to: connection) }
            return
        }
        // A request without an id is a notification: it runs and gets no response.
        let id = fields["id"]
        do throws(RPCError) {
            let params = try Self.params(fields["params"])
            if method == "subscribe" {
                let topic = try Self.topic(params)
                try hub.subscribe(connection, to: topic) { subscription in
                    id.map { RPCDispatcher.encode(RPCResponse(id: $0, result: ["subscription": subscription])) }
                }
                // Committed before the subscription began: send it now (the hub sends a transaction once).
                if case let .transaction(hash) = topic, let record = await node.transaction(hash: hash) {
                    hub.publish(transaction: record)
                }
            } else {
                guard case let .string(subscription)? = params["subscription"] else {
                    throw .invalidParams("missing parameter 'subscription'")
                }
                guard hub.unsubscribe(connection, subscription: subscription) else {
                    throw .notFound("subscription \(subscription)")
                }
                reply(id.map { RPCResponse(id: $0, result: ["unsubscribed": true]) }, connection)
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
    static func topic(_ params: [String: JSONValue]) throws(RPCError) -> SubscriptionHub.Topic {
        switch params["event"] {
        case .string("new_block"): return .newBlock
        case .string("tx"):
            guard case let .string(hash)? = params["hash"] else { throw .invalidParams("missing parameter 'hash'") }
            return .transaction(try RPCMethods.parseHash(hash, name: "hash"))
        case .string("jobs"):
            guard case let .string(address)? = params["address"] else {
                throw .invalidParams("missing parameter 'address'")
            }
            return .jobs(try RPCMethods.parseAddress(address, name: "address"))
        default: throw .invalidParams("'event' must be \"new_block\", \"tx\" or \"jobs\"")
        }
    }
}
