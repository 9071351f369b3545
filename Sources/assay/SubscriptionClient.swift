import AssayAPI
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
    static func follow<Payload: Codable & Sendable>(
        node: URL, params: SubscribeParams, subscribed: () async throws -> Void,
        deliver: (Payload) async throws -> Void
    ) async throws {
        guard let host = node.host else { throw CommandFailure("--node \(node) has no host") }
        let port = node.port ?? 80
        let channel = try await connect(host: host, port: port)
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(textFrame(try SubscriptionMethods.subscribe.request(params)))
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
                    let text = Data(message.readableBytesView)
                    message.clear()
                    try await handle(text, subscribed: subscribed, deliver: deliver)
                default:
                    continue
                }
            }
        }
    }

    private static func handle<Payload: Codable & Sendable>(
        _ text: Data, subscribed: () async throws -> Void, deliver: (Payload) async throws -> Void
    ) async throws {
        let message: SubscriptionMessage<Payload>
        do { message = try SubscriptionMessage(text) } catch let error as RPCError {
            throw CommandFailure("subscribe refused: \(error)")
        }
        switch message {
        case .subscribed: try await subscribed()
        case let .notification(_, payload): try await deliver(payload)
        }
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
