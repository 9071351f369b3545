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

func service(_ key: SecretKey, port: Int = 0, peers: [Int] = [], allowed: [SecretKey], logger: Logger? = nil)
    -> P2PService
{
    let config = P2PConfig(
        chainID: "chain", identity: key, listenPort: port,
        peers: peers.map { PeerAddress(host: "127.0.0.1", port: $0) },
        allowedKeys: Set(allowed.map(\.publicKey)), frameBytesMax: 1 << 16, handshakeTimeout: .milliseconds(300),
        reconnectDelayInitial: .milliseconds(50), reconnectDelayMax: .milliseconds(400))
    return P2PService(config: config, logger: logger ?? Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
}

/// A loopback port that was free a moment ago.
func freePort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 0
    try await channel.close()
    return port
}
