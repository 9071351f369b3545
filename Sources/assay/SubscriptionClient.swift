import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// A JSON-RPC 2.0 subscription over the node's WebSocket endpoint (`ws://host:port/websocket`, docs/rpc.md),
/// on SwiftNIO's WebSocket client. One connection carries one subscription; it ends when the node closes it.
enum SubscriptionClient {
    enum Upgrade {
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        case refused
    }

    /// The largest frame or message accepted from the node.
    static let messageBytesMax = 4 << 20

    /// Connects, subscribes with `params`, calls `subscribed` once the node confirms (so a caller can catch up
    /// on what happened before without missing anything after), then `deliver` with each notification's
    /// `result` in order, until the connection closes (returns) or fails (throws).
    static func follow(
        node: URL, params: [String: Any], subscribed: () async throws -> Void,
        deliver: ([String: Any]) async throws -> Void
    ) async throws {
        guard let host = node.host else { throw CommandFailure("--node \(node) has no host") }
        let port = node.port ?? 80
        let channel = try await connect(host: host, port: port)
        try await channel.executeThenClose { inbound, outbound in
            let request: [String: Any] = ["jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": params]
            try await outbound.write(textFrame(try JSONSerialization.data(withJSONObject: request)))
            var message = ByteBuffer()
            for try await frame in inbound {
                switch frame.opcode {
                case .ping:
                    try await outbound.write(WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData))
                case .connectionClose:
                    return
                case .text, .continuation:
                    var data = frame.unmaskedData
                    guard message.readableBytes + data.readableBytes <= messageBytesMax else {
                        throw CommandFailure("node sent a WebSocket message over \(messageBytesMax) bytes")
                    }
                    message.writeBuffer(&data)
                    guard frame.fin else { continue }
                    let text = message.readString(length: message.readableBytes) ?? ""
                    message.clear()
                    try await handle(text, subscribed: subscribed, deliver: deliver)
                default:
                    continue
                }
            }
        }
    }

    private static func handle(
        _ text: String, subscribed: () async throws -> Void, deliver: ([String: Any]) async throws -> Void
    ) async throws {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw CommandFailure("node sent a WebSocket message that is not a JSON object")
        }
        if let error = object["error"] as? [String: Any] {
            throw CommandFailure("subscribe refused: \(error["message"] ?? "unknown error") (code \(error["code"] ?? "?"))")
        }
        if (object["result"] as? [String: Any])?["subscription"] != nil { return try await subscribed() }
        guard object["method"] as? String == "subscription",
            let payload = (object["params"] as? [String: Any])?["result"] as? [String: Any]
        else { return }
        try await deliver(payload)
    }

    private static func textFrame(_ data: Data) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(bytes: data))
    }

    private static func connect(host: String, port: Int) async throws -> NIOAsyncChannel<WebSocketFrame, WebSocketFrame> {
        let upgrade: EventLoopFuture<Upgrade>
        do {
            upgrade = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(
                            maxFrameSize: messageBytesMax,
                            upgradePipelineHandler: { channel, _ in
                                channel.eventLoop.makeCompletedFuture {
                                    .websocket(try NIOAsyncChannel(wrappingChannelSynchronously: channel))
                                }
                            })
                        var headers = HTTPHeaders()
                        headers.add(name: "Host", value: "\(host):\(port)")
                        headers.add(name: "Content-Length", value: "0")
                        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/websocket", headers: headers)
                        let configuration = NIOTypedHTTPClientUpgradeConfiguration(
                            upgradeRequestHead: head, upgraders: [upgrader],
                            notUpgradingCompletionHandler: { channel in channel.eventLoop.makeCompletedFuture { .refused } })
                        return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                            configuration: .init(upgradeConfiguration: configuration))
                    }
                }
        } catch {
            throw CommandFailure("cannot reach the node's WebSocket at \(host):\(port): \(error)")
        }
        switch try await upgrade.get() {
        case let .websocket(channel): return channel
        case .refused: throw CommandFailure("the node at \(host):\(port) refused the WebSocket upgrade on /websocket")
        }
    }
}
