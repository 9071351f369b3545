import AssayRocksDB
import AssayStorage
import Foundation
import Testing

/// What only a persistent store can get wrong: reopening, locking, missing and damaged directories.
@Suite struct RocksDBStoreTests {
    let a = Namespace("a")

    @Test func reopenKeepsBufferedAndSyncedWrites() throws {
        let directory = try TemporaryDirectory()
        let path = directory.child("db")
        do {
            let store = try RocksDBStore(path: path, namespaces: [a], createIfMissing: true)
            var batch = WriteBatch()
            batch.put([1], [1], in: a)
            try store.write(batch, durability: .synced)
            batch = WriteBatch()
            batch.put([2], [2])
            try store.write(batch, durability: .buffered)
        }
        let reopened = try RocksDBStore(path: path, namespaces: [a], createIfMissing: false)
        #expect(try reopened.get([1], in: a) == [1])
        #expect(try reopened.get([2]) == [2])
    }

    /// Column families already in the directory are opened even when not asked for; new ones are created.
    @Test func reopenKeepsExistingNamespacesAndAddsNewOnes() throws {
        let directory = try TemporaryDirectory()
        let path = directory.child("db")
        do {
            let store = try RocksDBStore(path: path, namespaces: [a], createIfMissing: true)
            var batch = WriteBatch()
            batch.put([1], [1], in: a)
            try store.write(batch, durability: .synced)
        }
        let later = Namespace("later")
        let reopened = try RocksDBStore(path: path, namespaces: [later], createIfMissing: false)
        #expect(Set(reopened.namespaces) == [.default, a, later])
        #expect(try reopened.get([1], in: a) == [1])
        #expect(try reopened.get([1], in: later) == nil)
    }

    @Test func secondOpenOfOneDirectoryIsRefusedByName() throws {
        let directory = try TemporaryDirectory()
        let path = directory.child("db")
        let first = try RocksDBStore(path: path, namespaces: [a], createIfMissing: true)
        let error = #expect(throws: StorageError.self) {
            try RocksDBStore(path: path, namespaces: [a], createIfMissing: true)
        }
        #expect(error?.kind == .alreadyOpen)
        #expect(error?.message.contains("data directory \(path) is already") == true)
        #expect(error?.message.contains("LOCK held") == true)
        withExtendedLifetime(first) {}
    }

    @Test func directoryIsFreeAgainOnceStoreIsReleased() throws {
        let directory = try TemporaryDirectory()
        let path = directory.child("db")
        _ = try RocksDBStore(path: path, namespaces: [a], createIfMissing: true)
        _ = try RocksDBStore(path: path, namespaces: [a], createIfMissing: false)
    }

    @Test func missingDirectoryWithoutCreateIsNamed() throws {
        let directory = try TemporaryDirectory()
        for path in [directory.child("absent"), directory.path] {
            let error = #expect(throws: StorageError.self) {
                try RocksDBStore(path: path, namespaces: [a], createIfMissing: false)
            }
            #expect(error?.kind == .missing)
            #expect(error?.message.contains("data directory \(path) ") == true)
        }
        #expect(!FileManager.default.fileExists(atPath: directory.child("absent")))
    }

    @Test(arguments: ["garbage\n", "MANIFEST-000999\n", "no newline"])
    func damagedCurrentFileIsReportedAsCorrupt(current: String) throws {
        let directory = try TemporaryDirectory()
        let path = directory.child("db")
        do {
            let store = try RocksDBStore(path: path, namespaces: [a], createIfMissing: true)
            var batch = WriteBatch()
            batch.put([1], [1], in: a)
            try store.write(batch, durability: .synced)
        }
        try current.write(toFile: path + "/CURRENT", atomically: false, encoding: .utf8)
        let error = #expect(throws: StorageError.self) {
            try RocksDBStore(path: path, namespaces: [a], createIfMissing: false)
        }
        #expect(error?.kind == .corrupt)
        #expect(error?.message.contains("data directory \(path) is corrupt") == true)
    }

    @Test func snapshotOutlivesItsStore() throws {
        let directory = try TemporaryDirectory()
        let snapshot: RocksDBStore.Snapshot
        do {
            let store = try RocksDBStore(path: directory.child("db"), namespaces: [a], createIfMissing: true)
            var batch = WriteBatch()
            batch.put([1], [1], in: a)
            try store.write(batch, durability: .buffered)
            snapshot = try store.snapshot()
        }
        #expect(try snapshot.get([1], in: a) == [1])
        #expect(try snapshot.scan(a, prefix: []).count == 1)
    }
}
