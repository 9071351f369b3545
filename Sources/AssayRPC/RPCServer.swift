import AssayAPI
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// The RPC listener and its bounds; docs/rpc.md ("Limits") and docs/ARCHITECTURE.md ("Bounds") list them.
public struct RPCServerConfig: Sendable {
    /// Request heads (request line and headers) over this many bytes get HTTP 431 and the connection is closed.
    public static let headerBytesMax = 32 << 10

    /// Loopback unless the operator opens it up on purpose.
    public var host: String
    /// 0 picks a free port (reported through `onRunning`).
    public var port: Int
    /// Larger request bodies get HTTP 413 with a JSON-RPC error, unread.
    public var bodyBytesMax: Int
    /// The most bytes one response body may take (`RPCDispatcher.responseBytesMax`).
    public var responseBytesMax: Int
    /// A connection with no request in progress for this long is closed; this also bounds the time a request
    /// head may take to arrive.
    public var idleTimeoutMs: Int
    /// A request whose body has not arrived whole this long after its head is cut off (the connection closed);
    /// a blob upload (`PUT /blobs/...`) is cut off only when no body bytes arrive for this long.
    public var requestTimeoutMs: Int

    public init(
        host: String = "127.0.0.1", port: Int = 26657, bodyBytesMax: Int = 8 << 20,
        responseBytesMax: Int = RPCDispatcher.responseBytesMaxDefault, idleTimeoutMs: Int = 30_000,
        requestTimeoutMs: Int = 30_000
    ) {
        self.host = host
        self.port = port
        self.bodyBytesMax = bodyBytesMax
        self.responseBytesMax = responseBytesMax
        self.idleTimeoutMs = idleTimeoutMs
        self.requestTimeoutMs = requestTimeoutMs
    }
}

/// The HTTP face of the dispatcher: `POST /` takes a JSON-RPC body, `GET /health` answers 200 or 503,
/// `GET /metrics` serves the Prometheus text the node supplies, `GET /` and `/explorer/...` the block explorer
/// (`ExplorerRoutes`), `/blobs/...` moves blobs in and out of the node's store (`BlobRoutes`: streamed bodies
/// bounded by `max_blob_bytes`, not `bodyBytesMax`), and `/websocket` upgrades to a WebSocket session with
/// subscriptions (`WebSocketSession`) fed by `hub`.
public struct RPCServer: Sendable {
    public let config: RPCServerConfig
    public let hub: SubscriptionHub
    private let dispatcher: RPCDispatcher
    private let node: any NodeAPI
    private let metrics: @Sendable () async -> String
    private let logger: Logger

    public init(
        config: RPCServerConfig, node: any NodeAPI, hub: SubscriptionHub = SubscriptionHub(),
        metrics: @escaping @Sendable () async -> String = { "" }, logger: Logger = Logger(label: "assay.rpc")
    ) {
        self.config = config
        self.hub = hub
        self.node = node
        dispatcher = RPCDispatcher(node: node, responseBytesMax: config.responseBytesMax)
        self.metrics = metrics
        self.logger = logger
    }

    /// A Hummingbird application to run (it is a ServiceLifecycle `Service`); `onRunning` gets the bound port.
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: router(),
            server: server(),
            configuration: ApplicationConfiguration(address: .hostname(config.host, port: config.port)),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// HTTP/1 with the WebSocket upgrade, text messages checked for valid UTF-8 (else close 1007), behind the
    /// guards of `RPCChannel`.
    private func server() -> HTTPServerBuilder {
        let webSocketResponder = webSocketRouter().buildResponder()
        let deadlines = HTTPConnectionGuard.Timeouts(
            idle: .milliseconds(Int64(config.idleTimeoutMs)), request: .milliseconds(Int64(config.requestTimeoutMs)))
        var http1 = HTTP1Channel.Configuration()
        http1.httpDecoder.maxHeaderListSize = RPCServerConfig.headerBytesMax
        http1.httpDecoder.maxHeaderFieldSize = RPCServerConfig.headerBytesMax
        let configuration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: http1,
            ws: WebSocketServerConfiguration(maxFrameSize: WebSocketSession.frameBytesMax, validateUTF8: true))
        return HTTPServerBuilder { responder in
            RPCChannel(
                inner: HTTP1WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: webSocketResponder, configuration: configuration),
                deadlines: deadlines)
        }
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let (dispatcher, node, metrics, bodyBytesMax) = (dispatcher, node, metrics, config.bodyBytesMax)
        router.post("/") { request, _ -> Response in
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: bodyBytesMax) } catch is NIOTooManyBytesError {
                let error = RPCError.invalidRequest("request body exceeds the limit of \(bodyBytesMax) bytes")
                return Self.json(RPCDispatcher.errorBody(error), status: .contentTooLarge)
            }
            guard let reply = await dispatcher.handle(body: Array(buffer: body)) else {
                return Response(status: .noContent)
            }
            return Self.json(reply, status: .ok)
        }
        router.get("/health") { _, _ -> Response in
            do throws(NodeAPIError) {
                try await node.health()
                return Self.json(Array("{}".utf8), status: .ok)
            } catch {
                return Self.json(RPCDispatcher.errorBody(RPCError.from(error)), status: .serviceUnavailable)
            }
        }
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: await metrics())))
        }
        BlobRoutes(store: node.blobs).register(on: router)
        ExplorerRoutes().register(on: router)
        return router
    }

    func webSocketRouter() -> Router<WebSocketChannelContext> {
        let router = Router(context: WebSocketChannelContext.self)
        let session = WebSocketSession(hub: hub, dispatcher: dispatcher, node: node)
        router.ws("/websocket") { inbound, outbound, context in
            try await session.run(inbound: inbound, outbound: outbound, channel: context.requestContext.channel)
        }
        return router
    }

    private static func json(_ bytes: [UInt8], status: HTTPResponse.Status) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// The WebSocket route's request context. It keeps the connection's channel so that a session can close a
/// connection whose client stopped reading, which no close frame would reach.
struct WebSocketChannelContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        webSocket = WebSocketHandlerReference()
        channel = source.channel
    }
}
