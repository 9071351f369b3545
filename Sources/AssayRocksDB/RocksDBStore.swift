import AssayStorage
import CRocksDB

/// The RocksDB `KeyValueStore`: one data directory, one column family per namespace.
/// Safe to share between threads: RocksDB serialises writes and reads see consistent versions.
/// The directory stays locked until this store and every snapshot taken from it are released.
public final class RocksDBStore: KeyValueStore {
    public let directory: String
    public let namespaces: [Namespace]
    private let reader: RocksDBReader
    private let syncedWrites = WriteOptions(sync: true)
    private let bufferedWrites = WriteOptions(sync: false)

    /// Opens (or, when `createIfMissing`, creates) the database in `path` with a column family per namespace.
    /// The default namespace is always opened; column families already in the directory are opened too,
    /// because RocksDB refuses to open a database without all of them.
    public init(path: String, namespaces: [Namespace], createIfMissing: Bool) throws(StorageError) {
        directory = path
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
        let native = try nativeBatch(batch)
        let options = durability == .synced ? syncedWrites : bufferedWrites
        let database = reader.families.database
        let error = callReportingError { rocksdb_write(database.raw, options.raw, native.raw, $0) }.error
        if let error { throw RocksDBErrorText.storageError(error, directory: directory, during: "write") }
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
