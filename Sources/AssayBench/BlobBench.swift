import AssayBlobs
import AssayCrypto
import AssayNode
import AssayP2P
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `Tools/bench blobs`: one node holding a 256 MiB blob, three peers fetching it at once over real encrypted P2P
/// links on 127.0.0.1, against single-core SHA-256 on 1 MiB measured in the same run. Each node runs in a process
/// of its own (this binary with the hidden role `blob-node`), so each one's peak RSS (VmHWM) is its own, printed with
/// its growth over the RSS it had just before the transfer. Each fetcher hashes every chunk once (its proof check)
/// and writes it once into the partial file, the holder hashes every chunk once (its check on first serving), and
/// every byte is encrypted and decrypted once, so the transfer cannot reach SHA-256's speed.
///
/// The parent and its nodes speak in lines: a node prints `ready <port> <blob id> <length>` (the holder) or
/// `ready` (a fetcher, once connected), a fetcher fetches on `go` and prints `fetched`, and every node exits on
/// `exit` (or when its input closes), so that the parent reads its VmHWM while it is still alive.
enum BlobBench {
    static let blobBytes = 256 << 20
    static let fetchers = 3
    static let nodeRole = "blob-node"

    static func run() throws {
        let shaBytesPerSecond = sha256BytesPerSecond()
        Measure.line("sha256 1 MiB, one core", shaBytesPerSecond / 1e6, "MB/s")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("assay-blob-bench-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let holder = try NodeProcess(role: ["holder", "0", directory.appendingPathComponent("node0").path])
        let ready = try holder.expect("ready").split(separator: " ")
        let (port, blob, length) = (String(ready[1]), String(ready[2]), String(ready[3]))
        let peers = try (1...fetchers).map { number in
            try NodeProcess(role: [
                "fetcher", "\(number)", directory.appendingPathComponent("node\(number)").path, port, blob, length,
            ])
        }
        for peer in peers { _ = try peer.expect("ready") }
        let idle = ([holder] + peers).map { $0.status("VmRSS") }
        let start = Measure.now()
        for peer in peers { peer.say("go") }
        for peer in peers { _ = try peer.expect("fetched") }
        let seconds = Measure.now() - start
        let peaks = ([holder] + peers).map { $0.status("VmHWM") }
        for node in [holder] + peers { node.finish() }

        let megabytes = Double(blobBytes) / 1e6
        Measure.line("blob transfer 256 MiB to 3 peers, wall time", seconds, "s")
        Measure.line("  per peer", megabytes / seconds, "MB/s")
        Measure.line("  aggregate (3 peers)", Double(fetchers) * megabytes / seconds, "MB/s")
        print("  ratio to sha256 (per peer): \(Measure.format(megabytes / seconds / (shaBytesPerSecond / 1e6), digits: 2))")
        print(
            "  ratio to sha256 (aggregate): "
                + Measure.format(Double(fetchers) * megabytes / seconds / (shaBytesPerSecond / 1e6), digits: 2)
                + "  (target >= 0.25)")
        for (number, (peak, before)) in zip(peaks, idle).enumerated() {
            let role = number == 0 ? "holder" : "fetcher \(number)"
            Measure.line("peak RSS of node \(number) (\(role), VmHWM)", Double(peak) / 1e6, "MB")
            Measure.line("  growth over its RSS before the transfer", Double(peak - before) / 1e6, "MB")
        }
    }

    static func sha256BytesPerSecond() -> Double {
        let chunk = [UInt8](repeating: 0x5a, count: blobChunkBytes)
        let count = 256
        var last = Digest32.zero
        let start = Measure.now()
        for _ in 0..<count { last = SHA256.hash(chunk) }
        precondition(last != .zero)
        return Double(count * blobChunkBytes) / (Measure.now() - start)
    }

    /// One node of the bench, in this process: `holder <number> <dir>` fills the blob and serves it;
    /// `fetcher <number> <dir> <holder port> <blob id> <length>` connects to the holder and fetches the blob on `go`.
    static func runNode(_ arguments: [String]) throws {
        guard arguments.count >= 3, let number = Int(arguments[1]) else {
            throw BenchError("usage: blob-node holder|fetcher <number> <dir> [<port> <blob id> <length>]")
        }
        let directory = URL(fileURLWithPath: arguments[2])
        MallocTuning.forBlobTraffic()  // as `Node.run` does
        switch arguments[0] {
        case "holder":
            let node = try blocking { try await BenchNode(number: number, dialing: [], directory: directory) }
            let ref = try fill(node.blobs)
            print("ready \(node.port) \(ref.id.hex) \(ref.length)")
        case "fetcher":
            guard arguments.count == 6, let port = Int(arguments[3]), let id = BlobID(hex: arguments[4]),
                let length = UInt64(arguments[5])
            else { throw BenchError("a fetcher needs the holder's port, the blob id and its length") }
            let ref = BlobRef(id: id, length: length)
            let node = try blocking { try await BenchNode(number: number, dialing: [port], directory: directory) }
            try blocking { while node.p2p.connectedPeers.isEmpty { try await Task.sleep(for: .milliseconds(20)) } }
            print("ready")
            fflush(nil)
            guard readLine() == "go" else { return }
            try blocking { try await node.fetcher.fetch(ref, deadline: .now + .seconds(600)) }
            precondition(node.blobs.status(ref) == .complete(ref: ref))
            print("fetched")
        default: throw BenchError("unknown blob-node role '\(arguments[0])'")
        }
        fflush(nil)
        // Stay alive (and connected) until the parent has read the peak RSS of every node.
        while let line = readLine(), line != "exit" {}
    }

    /// Writes the blob into the holder's store one chunk at a time, as an upload does.
    static func fill(_ store: BlobStore) throws -> BlobRef {
        func chunk(_ index: Int) -> [UInt8] {
            var generator = SplitMix64(seed: UInt64(index))
            return (0..<blobChunkBytes / 8).flatMap { _ in withUnsafeBytes(of: generator.next()) { Array($0) } }
        }
        var hasher = BlobHasher()
        for index in 0..<blobBytes / blobChunkBytes { hasher.update(chunk(index)) }
        let ref = hasher.finish().ref
        for index in 0..<ref.chunkCount { _ = try store.writeChunk(ref: ref, index: index, bytes: chunk(index)) }
        return ref
    }

    /// Runs async work from the synchronous bench entry point.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<T, any Error>?
        Task {
            do { result = .success(try await body()) } catch { result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try result!.get()
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A bench node running as a child process, spoken to in lines over its standard input and output.
private final class NodeProcess {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffered: [UInt8] = []

    init(role: [String]) throws {
        process.executableURL = URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0])
        process.arguments = [BlobBench.nodeRole] + role
        process.standardInput = input
        process.standardOutput = output
        try process.run()
    }

    /// Waits for the next line, which must start with `word`.
    func expect(_ word: String) throws -> String {
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                guard line.hasPrefix(word) else { throw BenchError("node \(process.arguments!): '\(line)', expected \(word)") }
                return line
            }
            let data = output.fileHandleForReading.availableData
            guard !data.isEmpty else { throw BenchError("node \(process.arguments!) exited before saying \(word)") }
            buffered += data
        }
    }

    func say(_ line: String) { input.fileHandleForWriting.write(Data((line + "\n").utf8)) }

    /// A size in bytes from /proc/<pid>/status, read while the process is alive: `VmRSS` (resident now) or `VmHWM`
    /// (its peak).
    func status(_ field: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    func finish() {
        say("exit")
        process.waitUntilExit()
    }
}

/// One node's blob side: its P2P service, blob store, and a loop routing blob messages as the node's
/// `InboundRouter` does. Node `n` has the key with last byte `n + 1`, and allows the keys of the other nodes.
private final class BenchNode: Sendable {
    let p2p: P2PService
    let blobs: BlobStore
    let fetcher: BlobFetcher
    let routing: Task<Void, Never>
    let port: Int

    init(number: Int, dialing: [Int], directory: URL) async throws {
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let keys = (0...BlobBench.fetchers).map {
            try! SecretKey(bytes: [UInt8](repeating: 0, count: 31) + [UInt8($0 + 1)])
        }
        let key = keys[number]
        blobs = try BlobStore(directory: directory.path, maxBlobBytes: UInt64(BlobBench.blobBytes))
        p2p = P2PService(
            config: P2PConfig(
                chainID: "bench", identity: key, peers: dialing.map { PeerAddress(host: "127.0.0.1", port: $0) },
                allowedKeys: Set(keys.map(\.publicKey)).subtracting([key.publicKey])),
            logger: logger)
        port = try await p2p.start()
        let traffic = BlobTraffic()
        fetcher = BlobFetcher(store: blobs, p2p: p2p, traffic: traffic, logger: logger)
        let routes = BlobRouting(
            server: BlobServer(store: blobs, p2p: p2p, traffic: traffic, logger: logger), fetcher: fetcher)
        let p2p = p2p
        routing = Task {
            for await message in p2p.inbound {
                if let wire = try? WireMessage(canonicalBytes: message.bytes) { _ = routes.route(wire, from: message.peer) }
            }
        }
    }
}
