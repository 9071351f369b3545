import AssayCrypto
import Logging
import NIOCore
import NIOPosix
import Synchronization

@testable import AssayP2P

/// A log handler that keeps every message, for asserting what an operator would read.
struct CapturingLogHandler: LogHandler {
    let lines: LogLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) { lines.append("\(event.message)") }
}

final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

func capturingLogger() -> (Logger, LogLines) {
    let lines = LogLines()
    return (Logger(label: "test") { _ in CapturingLogHandler(lines: lines) }, lines)
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1_000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

func service(
    _ key: SecretKey, port: Int = 0, peers: [Int] = [], allowed: [SecretKey], logger: Logger? = nil,
    handshakeTimeout: TimeAmount = .seconds(1), pendingMax: Int = 64, pendingPerIPMax: Int = 8,
    keepalive: TimeAmount = .seconds(1), peerTimeout: TimeAmount = .seconds(3)
) -> P2PService {
    let config = P2PConfig(
        chainID: "chain", identity: key, listenPort: port,
        peers: peers.map { PeerAddress(host: "127.0.0.1", port: $0) },
        allowedKeys: Set(allowed.map(\.publicKey)), frameBytesMax: 1 << 16, pendingHandshakesMax: pendingMax,
        pendingHandshakesPerIPMax: pendingPerIPMax, handshakeTimeout: handshakeTimeout,
        keepaliveInterval: keepalive, peerTimeout: peerTimeout, reconnectDelayInitial: .milliseconds(50),
        reconnectDelayMax: .milliseconds(400))
    return P2PService(config: config, logger: logger ?? Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
}

/// A TCP connection to `port` from the loopback address `from` that does only what the test does with it.
func rawConnection(to port: Int, from: String = "127.0.0.1", received: AsyncStream<[UInt8]>.Continuation? = nil)
    async throws -> any Channel
{
    try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(to: try SocketAddress(ipAddress: from, port: 0))
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                if let received { try channel.pipeline.syncOperations.addHandler(ByteCollector(received)) }
            }
        }
        .connect(host: "127.0.0.1", port: port).get()
}

/// Hands every byte a raw connection receives to a stream, and finishes it when the connection closes.
final class ByteCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let continuation: AsyncStream<[UInt8]>.Continuation

    init(_ continuation: AsyncStream<[UInt8]>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(Array(unwrapInboundIn(data).readableBytesView))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }
}

/// A peer driven by hand over a real socket: it dials, runs the handshake with a `ConnectionStateMachine`,
/// and afterwards sends only what the test sends (so it can go silent).
struct RawPeer {
    let channel: any Channel
    var machine: ConnectionStateMachine
    var inbox: AsyncStream<[UInt8]>.Iterator

    init(key: SecretKey, port: Int) async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: [UInt8].self)
        channel = try await rawConnection(to: port, received: continuation)
        machine = ConnectionStateMachine(
            role: .initiator, identity: key, chainID: "chain", handshakeFrameBytesMax: 1_024, frameBytesMax: 1 << 16,
            isAllowed: { _ in true })
        inbox = stream.makeAsyncIterator()
    }

    /// Runs the handshake; returns the peer's key once established.
    mutating func handshake() async throws -> PublicKey? {
        try await write(machine.start())
        while let bytes = await inbox.next() {
            for action in machine.receive(bytes) {
                switch action {
                case let .write(frame): try await channel.writeAndFlush(ByteBuffer(bytes: frame))
                case let .established(key): return key
                case .deliver, .close: return nil
                }
            }
        }
        return nil
    }

    func write(_ actions: [ConnectionStateMachine.Action]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: writes(actions)))
    }
}

/// A loopback port that was free a moment ago.
func freePort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 0
    try await channel.close()
    return port
}
