import AssayStorage
import CRocksDB
import Synchronization

/// The RocksDB `KeyValueStore`: one data directory, one column family per namespace.
/// Safe to share between threads: RocksDB serialises writes and reads see consistent versions.
/// The directory stays locked until this store and every snapshot taken from it are released.
/// Writes stop for good at the first one that fails, or that `reserve` refuses: a node that met a full or failing
/// disk stops on that error instead of retrying into it.
public final class RocksDBStore: KeyValueStore {
    public let directory: String
    public let namespaces: [Namespace]
    private let reader: RocksDBReader
    private let syncedWrites = WriteOptions(sync: true)
    private let bufferedWrites = WriteOptions(sync: false)
    private let reserve: DiskReserve?
    /// The failure that stopped writes, returned to every later write.
    private let writesStopped = Mutex<StorageError?>(nil)

    /// Opens (or, when `createIfMissing`, creates) the database in `path` with a column family per namespace.
    /// The default namespace is always opened; column families already in the directory are opened too,
    /// because RocksDB refuses to open a database without all of them. With a `reserve`, opening fails too
    /// when the directory's file system is already short of it (opening writes a new manifest and log).
    public init(path: String, namespaces: [Namespace], createIfMissing: Bool, reserve: DiskReserve? = nil)
        throws(StorageError)
    {
        directory = path
        self.reserve = reserve
        if let reserve, let shortfall = reserve.shortfall(in: Self.nearestExisting(path)) {
            throw StorageError(.noSpace, shortfall)
        }
        let options = DatabaseOptions(createIfMissing: createIfMissing)
        let existing = try Self.existingColumnFamilies(path: path, options: options, createIfMissing: createIfMissing)
        let names = Self.union(existing, [Namespace.default.name] + namespaces.map(\.name))
        let families = try Self.open(path: path, options: options, columnFamilies: names)
        self.namespaces = names.map(Namespace.init)
        reader = RocksDBReader(families: families, readOptions: ReadOptions(snapshot: nil))
    }

    public func get(_ key: [UInt8], in namespace: Namespace) throws(StorageError) -> [UInt8]? {
        try reader.get(key, in: namespace)
    }

    public func scan(
        _ namespace: Namespace, from start: [UInt8], to end: [UInt8]?, limit: Int
    ) throws(StorageError) -> [(key: [UInt8], value: [UInt8])] {
        try reader.scan(namespace, from: start, to: end, limit: limit)
    }

    /// Applies every operation or none: the native batch is built completely (failing on an unknown
    /// namespace before anything is written) and then handed to RocksDB in one `rocksdb_write`.
    public func write(_ batch: WriteBatch, durability: Durability) throws(StorageError) {
        try checkWritable()
        let native = try nativeBatch(batch)
        let options = durability == .synced ? syncedWrites : bufferedWrites
        let database = reader.families.database
        let error = callReportingError { rocksdb_write(database.raw, options.raw, native.raw, $0) }.error
        if let error { throw stopWrites(RocksDBErrorText.storageError(error, directory: directory, during: "write")) }
    }

    /// Throws the failure that stopped writes, or stops them now if the disk reserve is short. The node also calls
    /// it on a timer, so that it stops before RocksDB's own background writes (flushes, compactions) fill the disk.
    public func checkWritable() throws(StorageError) {
        if let stopped = writesStopped.withLock({ $0 }) { throw stopped }
        if let reserve, let shortfall = reserve.shortfall(in: directory) {
            throw stopWrites(StorageError(.noSpace, shortfall))
        }
    }

    /// Records `failure` as the reason writes stopped (the first one wins) and returns that reason.
    private func stopWrites(_ failure: StorageError) -> StorageError {
        writesStopped.withLock { stopped in
            if stopped == nil { stopped = failure }
            return stopped!
        }
    }

    public func snapshot() throws(StorageError) -> Snapshot {
        let handle = SnapshotHandle(database: reader.families.database)
        return Snapshot(reader: RocksDBReader(families: reader.families, readOptions: ReadOptions(snapshot: handle)))
    }

    /// Reads as of the moment it was taken; holds the database open until released.
    public struct Snapshot: KeyValueReader {
        let reader: RocksDBReader

        public func get(_ key: [UInt8], in namespace: Namespace) throws(StorageError) -> [UInt8]? {
            try reader.get(key, in: namespace)
        }

        public func scan(
            _ namespace: Namespace, from start: [UInt8], to end: [UInt8]?, limit: Int
        ) throws(StorageError) -> [(key: [UInt8], value: [UInt8])] {
            try reader.scan(namespace, from: start, to: end, limit: limit)
        }
    }

    private func nativeBatch(_ batch: WriteBatch) throws(StorageError) -> NativeWriteBatch {
        let native = NativeWriteBatch()
        let families = reader.families
        for operation in batch.operations {
            switch operation {
            case let .put(namespace, key, value):
                let family = try families.handle(namespace).raw
                key.withCChars { keyBytes, keyCount in
                    value.withCChars { valueBytes, valueCount in
                        rocksdb_writebatch_put_cf(native.raw, family, keyBytes, keyCount, valueBytes, valueCount)
                    }
                }
            case let .delete(namespace, key):
                let family = try families.handle(namespace).raw
                key.withCChars { keyBytes, keyCount in
                    rocksdb_writebatch_delete_cf(native.raw, family, keyBytes, keyCount)
                }
            }
        }
        return native
    }
}
