import AssayRocksDB
import AssayStorage
import Foundation
import Logging
import Synchronization
import Testing

@testable import AssayNode

/// The node's stop path on a filling disk: `DiskWatch` ends the service group with the reserve's error.
@Suite struct DiskWatchTests {
    /// Free space the test sets, and how often the store read it.
    final class Disk: Sendable {
        let free = Mutex<UInt64>(1 << 30)
        let reads = Mutex(0)

        func read() -> UInt64 {
            reads.withLock { $0 += 1 }
            return free.withLock { $0 }
        }
    }

    @Test func theWatchThrowsTheShortfallOnceFreeSpaceDropsBelowTheReserve() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("assay-disk-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let disk = Disk()
        let store = try RocksDBStore(
            path: directory.path, namespaces: [], createIfMissing: true,
            reserve: DiskReserve(minFreeBytes: 64 << 20) { _ in disk.read() })
        let watch = DiskWatch(
            store: store, interval: .milliseconds(10), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let watching = Task { try await watch.run() }
        // Several checks with room to spare: the watch keeps running.
        while disk.reads.withLock({ $0 }) < 5 { try await Task.sleep(for: .milliseconds(10)) }
        disk.free.withLock { $0 = 1_000 }
        let error = await #expect(throws: StorageError.self) { try await watching.value }
        #expect(error?.kind == .noSpace)
        #expect(
            error?.message == "data directory \(directory.path) has 1000 bytes free, below min_free_bytes 67108864: stopping")
        var batch = WriteBatch()
        batch.put([1], [1])
        #expect(throws: try #require(error)) { try store.write(batch, durability: .synced) }
    }

    @Test func theStorageSectionIsOptionalAndValidated() throws {
        let config = NodeConfig.defaults(moniker: "n", p2pListen: "127.0.0.1:1", rpcListen: "127.0.0.1:2", peers: [])
        #expect(try config.tomlText().contains("[storage]\nmin_free_bytes = 67108864"))
        #expect(try (config.storage ?? .defaults).reserve()?.minFreeBytes == 64 << 20)
        #expect(try NodeConfig.Storage(minFreeBytes: 0, retainBlocks: 0).reserve() == nil)
        #expect(throws: NodeConfig.LoadError.self) { try NodeConfig.Storage(minFreeBytes: -1, retainBlocks: 0).reserve() }
        var old = config
        old.storage = nil
        #expect(try !old.tomlText().contains("[storage]"))
        // A section written before retain_blocks existed keeps every block; one that names it prunes.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("assay-config-\(UUID().uuidString).toml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        for (section, retained) in [("min_free_bytes = 1", UInt64(0)), ("retain_blocks = 500", 500)] {
            try (try old.tomlText() + "\n[storage]\n\(section)\n").write(toFile: path, atomically: true, encoding: .utf8)
            #expect(try NodeConfig.load(path: path).storage?.retainBlocks == retained)
        }
    }
}
