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
/// links on 127.0.0.1 (four `P2PService`s and blob stores in this process), against single-core SHA-256 on
/// 1 MiB measured in the same run. Each fetcher writes every chunk to a file and hashes it twice (proof check, then
/// assembly), and every byte is encrypted and decrypted once, so the transfer cannot reach SHA-256's speed.
enum BlobBench {
    static let blobBytes = 256 << 20
    static let fetchers = 3

    static func run() throws {
        let shaBytesPerSecond = sha256BytesPerSecond()
        Measure.line("sha256 1 MiB, one core", shaBytesPerSecond / 1e6, "MB/s")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("assay-blob-bench-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let rssBefore = peakRSSBytes()
        let seconds = try blocking { try await transfer(in: directory) }
        let megabytes = Double(blobBytes) / 1e6
        Measure.line("blob transfer 256 MiB to 3 peers, wall time", seconds, "s")
        Measure.line("  per peer", megabytes / seconds, "MB/s")
        Measure.line("  aggregate (3 peers)", Double(fetchers) * megabytes / seconds, "MB/s")
        print("  ratio to sha256 (per peer): \(Measure.format(megabytes / seconds / (shaBytesPerSecond / 1e6), digits: 2))")
        print(
            "  ratio to sha256 (aggregate): "
                + Measure.format(Double(fetchers) * megabytes / seconds / (shaBytesPerSecond / 1e6), digits: 2)
                + "  (target >= 0.25)")
        let peak = peakRSSBytes()
        Measure.line("peak RSS of the process (4 nodes)", Double(peak) / 1e6, "MB")
        Measure.line("  growth over the peak before setup", Double(max(0, peak - rssBefore)) / 1e6, "MB")
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

    /// Sets up the holder and the fetchers, and returns the seconds from the first request to the last blob
    /// complete.
    static func transfer(in directory: URL) async throws -> Double {
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let keys = (1...(fetchers + 1)).map { try! SecretKey(bytes: [UInt8](repeating: 0, count: 31) + [UInt8($0)]) }
        var nodes: [BenchNode] = []
        for (number, key) in keys.enumerated() {
            let dialing = number == 0 ? [] : [nodes[0].port]
            nodes.append(
                try await BenchNode(
                    key: key, allowed: keys, dialing: dialing, directory: directory.appendingPathComponent("node\(number)"),
                    logger: logger))
        }
        let ref = try fill(nodes[0].blobs)
        while nodes[0].p2p.connectedPeers.count < fetchers { try await Task.sleep(for: .milliseconds(20)) }

        let start = Measure.now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for node in nodes.dropFirst() {
                group.addTask { try await node.fetcher.fetch(ref, deadline: .now + .seconds(600)) }
            }
            try await group.waitForAll()
        }
        let seconds = Measure.now() - start
        for node in nodes.dropFirst() { precondition(node.blobs.status(ref) == .complete(ref: ref)) }
        for node in nodes { await node.stop() }
        return seconds
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

    static func peakRSSBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
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

/// One node's blob side: its P2P service, blob store, and a loop routing blob messages as the node's
/// `InboundRouter` does.
private final class BenchNode: Sendable {
    let p2p: P2PService
    let blobs: BlobStore
    let fetcher: BlobFetcher
    let routing: Task<Void, Never>
    let port: Int

    init(key: SecretKey, allowed: [SecretKey], dialing: [Int], directory: URL, logger: Logger) async throws {
        blobs = try BlobStore(directory: directory.path, maxBlobBytes: UInt64(BlobBench.blobBytes))
        p2p = P2PService(
            config: P2PConfig(
                chainID: "bench", identity: key, peers: dialing.map { PeerAddress(host: "127.0.0.1", port: $0) },
                allowedKeys: Set(allowed.map(\.publicKey)).subtracting([key.publicKey])),
            logger: logger)
        port = try await p2p.start()
        let traffic = BlobTraffic()
        fetcher = BlobFetcher(store: blobs, p2p: p2p, traffic: traffic, logger: logger)
        let routes = BlobRouting(server: BlobServer(store: blobs, p2p: p2p, traffic: traffic), fetcher: fetcher)
        let p2p = p2p
        routing = Task {
            for await message in p2p.inbound {
                if let wire = try? WireMessage(canonicalBytes: message.bytes) { _ = routes.route(wire, from: message.peer) }
            }
        }
    }

    func stop() async {
        await p2p.stop()
        await routing.value
    }
}
