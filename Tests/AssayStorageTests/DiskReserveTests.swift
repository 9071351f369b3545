import AssayRocksDB
import AssayStorage
import Synchronization
import Testing

/// The disk reserve: writes stop before a full disk, with one clear error, change nothing, and stay stopped.
@Suite struct DiskReserveTests {
    let a = Namespace("a")

    /// Free space a test sets, read by the store in place of statvfs.
    final class FreeSpace: Sendable {
        let bytes = Mutex<UInt64?>(1 << 30)
        func set(_ value: UInt64?) { bytes.withLock { $0 = value } }
        var reserve: DiskReserve { DiskReserve(minFreeBytes: 64 << 20) { [self] _ in bytes.withLock { $0 } } }
    }

    private func put(_ key: UInt8, in store: RocksDBStore) throws(StorageError) {
        var batch = WriteBatch()
        batch.put([key], [key], in: a)
        try store.write(batch, durability: .synced)
    }

    @Test func freeSpaceBelowTheReserveStopsWritesAndSaysWhy() {
        #expect(DiskReserve.shortfall(freeBytes: 64 << 20, minFreeBytes: 64 << 20, directory: "/d") == nil)
        #expect(DiskReserve.shortfall(freeBytes: .max, minFreeBytes: 64 << 20, directory: "/d") == nil)
        #expect(
            DiskReserve.shortfall(freeBytes: (64 << 20) - 1, minFreeBytes: 64 << 20, directory: "/d")
                == "data directory /d has 67108863 bytes free, below min_free_bytes 67108864: stopping")
        #expect(DiskReserve.shortfall(freeBytes: 0, minFreeBytes: 0, directory: "/d") == nil)
    }

    @Test func aShortReserveRefusesTheWriteChangesNothingAndWritesStayStopped() throws {
        let directory = try TemporaryDirectory()
        let free = FreeSpace()
        let store = try RocksDBStore(
            path: directory.child("db"), namespaces: [a], createIfMissing: true, reserve: free.reserve)
        try put(1, in: store)
        free.set(1 << 20)
        let error = #expect(throws: StorageError.self) { try put(2, in: store) }
        #expect(error?.kind == .noSpace)
        #expect(
            error?.message
                == "data directory \(directory.child("db")) has 1048576 bytes free, below min_free_bytes 67108864: stopping")
        #expect(try store.get([2], in: a) == nil)
        #expect(try store.get([1], in: a) == [1])
        // Space freed: this process still writes nothing (a restart resumes), and says the same thing.
        free.set(1 << 30)
        let stopped = try #require(error)
        #expect(throws: stopped) { try put(3, in: store) }
        #expect(throws: stopped) { try store.checkWritable() }
        #expect(try store.get([3], in: a) == nil)
    }

    @Test func unreadableFreeSpaceStopsWritesToo() throws {
        let directory = try TemporaryDirectory()
        let free = FreeSpace()
        let store = try RocksDBStore(
            path: directory.child("db"), namespaces: [a], createIfMissing: true, reserve: free.reserve)
        free.set(nil)
        let error = #expect(throws: StorageError.self) { try store.checkWritable() }
        #expect(error?.kind == .noSpace)
        #expect(error?.message.contains("cannot read the free space") == true)
    }

    @Test func aDirectoryAlreadyShortIsNotOpenedAndOneWithRoomIsReopened() throws {
        let directory = try TemporaryDirectory()
        let path = directory.child("db")
        let free = FreeSpace()
        do {
            try put(1, in: try RocksDBStore(path: path, namespaces: [a], createIfMissing: true, reserve: free.reserve))
        }
        free.set(0)
        let error = #expect(throws: StorageError.self) {
            try RocksDBStore(path: path, namespaces: [a], createIfMissing: true, reserve: free.reserve)
        }
        #expect(error?.kind == .noSpace)
        free.set(1 << 30)
        let reopened = try RocksDBStore(path: path, namespaces: [a], createIfMissing: false, reserve: free.reserve)
        #expect(try reopened.get([1], in: a) == [1])
    }

    @Test func theRealFreeSpaceOfATemporaryDirectoryIsRead() throws {
        let directory = try TemporaryDirectory()
        #expect((DiskReserve.statvfsFreeBytes(directory.path) ?? 0) > 0)
        #expect(DiskReserve.statvfsFreeBytes(directory.child("missing")) == nil)
    }
}
