import CRocksDB

// One final class per RocksDB C handle, so handles cannot be mixed up and each is freed exactly once.
// RocksDB documents its database, column family, options and snapshot handles as safe to share between
// threads once created; none of these classes mutates its handle after init, hence `@unchecked Sendable`.

/// `rocksdb_options_t` with the table options and block cache it points into.
final class DatabaseOptions: @unchecked Sendable {
    let raw: OpaquePointer
    private let tableOptions: OpaquePointer
    private let blockCache: OpaquePointer

    static let blockCacheBytes = 64 << 20
    static let bloomBitsPerKey = 10.0
    static let backgroundJobs: Int32 = 2
    static let keptInfoLogFiles = 4

    init(createIfMissing: Bool) {
        raw = rocksdb_options_create()
        rocksdb_options_set_create_if_missing(raw, createIfMissing ? 1 : 0)
        // Namespaces added by a newer binary become new column families of an existing directory.
        rocksdb_options_set_create_missing_column_families(raw, 1)
        rocksdb_options_set_max_background_jobs(raw, Self.backgroundJobs)
        rocksdb_options_set_keep_log_file_num(raw, Self.keptInfoLogFiles)

        blockCache = rocksdb_cache_create_lru(Self.blockCacheBytes)
        tableOptions = rocksdb_block_based_options_create()
        rocksdb_block_based_options_set_block_cache(tableOptions, blockCache)
        // The table options take ownership of the filter policy.
        rocksdb_block_based_options_set_filter_policy(tableOptions, rocksdb_filterpolicy_create_bloom_full(Self.bloomBitsPerKey))
        rocksdb_options_set_block_based_table_factory(raw, tableOptions)
    }

    deinit {
        rocksdb_block_based_options_destroy(tableOptions)
        rocksdb_cache_destroy(blockCache)
        rocksdb_options_destroy(raw)
    }
}

/// An open `rocksdb_t`. Column families and snapshots hold a reference to it, so it closes after them.
final class Database: @unchecked Sendable {
    let raw: OpaquePointer
    let options: DatabaseOptions

    init(raw: OpaquePointer, options: DatabaseOptions) {
        self.raw = raw
        self.options = options
    }

    deinit { rocksdb_close(raw) }
}

final class ColumnFamily: @unchecked Sendable {
    let raw: OpaquePointer
    let database: Database

    init(raw: OpaquePointer, database: Database) {
        self.raw = raw
        self.database = database
    }

    deinit { rocksdb_column_family_handle_destroy(raw) }
}

final class WriteOptions: @unchecked Sendable {
    let raw: OpaquePointer

    init(sync: Bool) {
        raw = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(raw, sync ? 1 : 0)
    }

    deinit { rocksdb_writeoptions_destroy(raw) }
}

/// A point-in-time view; released before its database closes because it holds the database.
final class SnapshotHandle: @unchecked Sendable {
    let raw: OpaquePointer
    let database: Database

    init(database: Database) {
        self.database = database
        raw = rocksdb_create_snapshot(database.raw)
    }

    deinit { rocksdb_release_snapshot(database.raw, raw) }
}

/// `rocksdb_readoptions_t`, reading either the latest state or one snapshot (which it keeps alive).
final class ReadOptions: @unchecked Sendable {
    let raw: OpaquePointer
    let snapshot: SnapshotHandle?

    init(snapshot: SnapshotHandle?) {
        raw = rocksdb_readoptions_create()
        self.snapshot = snapshot
        if let snapshot { rocksdb_readoptions_set_snapshot(raw, snapshot.raw) }
    }

    deinit { rocksdb_readoptions_destroy(raw) }
}

/// A native write batch, built from a `WriteBatch` and applied with one `rocksdb_write`.
final class NativeWriteBatch {
    let raw: OpaquePointer

    init() { raw = rocksdb_writebatch_create() }

    deinit { rocksdb_writebatch_destroy(raw) }
}
