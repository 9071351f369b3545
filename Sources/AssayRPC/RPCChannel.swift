import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Hummingbird's HTTP/1 + WebSocket child channel with the guards it lacks: HTTP connections get deadlines and a
/// 400/431 answer to unparsable requests (`HTTPConnectionGuard`), and upgraded connections refuse unmasked client
/// frames (`ClientFrameMaskCheck`).
struct RPCChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value
    typealias Upgrade = NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>

    let inner: HTTP1WebSocketUpgradeChannel
    let deadlines: HTTPConnectionGuard.Timeouts

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            try Self.addGuards(to: channel, deadlines: deadlines, logger: logger)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async { await inner.handle(value: value, logger: logger) }

    /// Puts the HTTP guard right behind the upgrade handler (which holds back raw bytes while it upgrades), and
    /// swaps it for the frame check when the connection upgrades. The upgrade future's callbacks run on the event
    /// loop before the upgrade handler passes on the bytes it held, so no frame gets past unchecked.
    private static func addGuards(to channel: any Channel, deadlines: HTTPConnectionGuard.Timeouts, logger: Logger) throws {
        let pipeline = channel.pipeline.syncOperations
        let httpGuard = HTTPConnectionGuard(timeouts: deadlines, logger: logger)
        let upgrade = try pipeline.handler(type: Upgrade.self)
        try pipeline.addHandler(httpGuard, position: .after(upgrade))
        upgrade.upgradeResultFuture.assumeIsolated().whenSuccess { result in
            guard case .websocket = result else { return }
            let pipeline = channel.pipeline.syncOperations
            pipeline.removeHandler(httpGuard, promise: nil)
            do {
                let decoder = try pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
                try pipeline.addHandler(ClientFrameMaskCheck(), position: .after(decoder))
            } catch {
                logger.error("cannot guard the WebSocket pipeline: \(error)")
                channel.close(promise: nil)
            }
        }
    }
}

/// Deadlines and parse-error answers for one HTTP/1 connection, behind NIO's request decoder and upgrade handler.
///
/// - No request in progress (from the connection's start, or since the last response ended) for `idle`: closed.
///   This also bounds how long a request head may take to arrive, so a client trickling its headers is cut off.
/// - A request whose body has not fully arrived `request` after its head: closed. A blob upload (`PUT /blobs/...`,
///   hundreds of MiB in one request) is exempt from that whole-body deadline; it is closed instead when no body
///   bytes arrive for `request` (it stalls).
/// - While a response is owed, no deadline: the method's own bounds apply (e.g. `broadcast_tx_commit`'s timeout).
/// - A request the decoder cannot parse (bad request line, headers over the limit) is answered with 400 or 431 and
///   `Connection: close`, then the connection is closed.
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    struct Timeouts: Sendable {
        let idle: TimeAmount
        let request: TimeAmount
    }

    private let timeouts: Timeouts
    private let logger: Logger
    private var state = HTTPConnectionState()
    private var armed: HTTPConnectionState.Deadline?
    private var timer: Scheduled<Void>?
    /// When the current request's body last made progress (a stalled upload is measured from here).
    private var lastProgress = NIODeadline.now()

    init(timeouts: Timeouts, logger: Logger) {
        self.timeouts = timeouts
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { rearm(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        rearm(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(head): state.requestHeadRead(streamsUpload: Self.streamsUpload(head))
        case .body: lastProgress = .now()
        case .end: state.requestEndRead()
        }
        rearm(context)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        // 1xx heads (100 Continue, 101 Switching Protocols) do not open the response.
        case let .head(head): if head.status.code >= 200 { state.responseHeadWritten() }
        case .body: break
        case .end: state.responseEndWritten()
        }
        rearm(context)
        context.write(data, promise: promise)
    }

    /// Answers what the decoder could not parse, then closes. The error goes no further: the answer is given here.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        logger.debug("unparsable HTTP request, closing: \(parseError)")
        guard !state.responseOpen else {
            context.close(promise: nil)
            return
        }
        let status: HTTPResponseStatus = parseError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
        let head = HTTPResponseHead(
            version: .http1_1, status: status, headers: ["Connection": "close", "Content-Length": "0"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        let loopBound = context.loopBound
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in loopBound.value.close(promise: nil) }
    }

    /// A blob upload: its body may take longer than any fixed deadline, so only a stall cuts it off (BlobRoutes).
    static func streamsUpload(_ head: HTTPRequestHead) -> Bool {
        head.method == .PUT && head.uri.hasPrefix("/blobs/")
    }

    /// Arms the timer the state calls for, unless it already runs: a deadline runs from when it began.
    private func rearm(_ context: ChannelHandlerContext) {
        let deadline = state.deadline
        guard deadline != armed else { return }
        timer?.cancel()
        armed = deadline
        switch deadline {
        case nil: timer = nil
        case .idle, .request: schedule(context, in: deadline == .idle ? timeouts.idle : timeouts.request)
        case .stall:
            lastProgress = .now()
            schedule(context, in: timeouts.request)
        }
    }

    /// Closes the connection after `delay`, unless a streaming upload made progress meanwhile: then it waits for
    /// `request` after that progress (one timer per connection, not one per body part).
    private func schedule(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        let loopBound = context.loopBound
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            let context = loopBound.value
            let quiet = NIODeadline.now() - lastProgress
            if armed == .stall, quiet < timeouts.request {
                schedule(context, in: timeouts.request - quiet)
                return
            }
            logger.debug("closing an HTTP connection: \(armed.map { "\($0)" } ?? "") deadline passed")
            context.close(promise: nil)
        }
    }
}

/// What an HTTP/1 connection is doing, as far as deadlines and error answers care.
struct HTTPConnectionState: Equatable {
    /// `stall`: a streaming upload is being read, cut off only when it stops making progress.
    enum Deadline: Equatable { case idle, request, stall }

    /// A request head arrived and its end has not.
    private(set) var readingRequest = false
    /// The request being read is a streaming upload.
    private(set) var readingUpload = false
    /// Requests whose response has not ended (several when the client pipelines).
    private(set) var responsesOwed = 0
    /// A response head went out and its end has not.
    private(set) var responseOpen = false

    /// The deadline that applies now: the request's while one is being read, none while a response is owed,
    /// otherwise the idle one.
    var deadline: Deadline? {
        if readingRequest { return readingUpload ? .stall : .request }
        return responsesOwed == 0 ? .idle : nil
    }

    mutating func requestHeadRead(streamsUpload: Bool) {
        readingRequest = true
        readingUpload = streamsUpload
        responsesOwed += 1
    }

    mutating func requestEndRead() { readingRequest = false }

    mutating func responseHeadWritten() { responseOpen = true }

    mutating func responseEndWritten() {
        responseOpen = false
        // A response may end before its request did (e.g. 413 for a body left unread).
        responsesOwed = max(0, responsesOwed - 1)
    }
}

/// RFC 6455 section 5.1: a server must close the connection on an unmasked client frame. NIO's frame decoder
/// accepts them, so this handler, right behind it, answers the first one with close code 1002 and closes.
final class ClientFrameMaskCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private var refused = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        guard unwrapInboundIn(data).maskKey == nil else {
            context.fireChannelRead(data)
            return
        }
        refused = true
        var payload = context.channel.allocator.buffer(capacity: 64)
        payload.write(webSocketErrorCode: .protocolError)
        payload.writeString("client frames must be masked")
        let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)
        let loopBound = context.loopBound
        context.writeAndFlush(wrapOutboundOut(close)).whenComplete { _ in loopBound.value.close(promise: nil) }
    }
}
