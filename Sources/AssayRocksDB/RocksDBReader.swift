import AssayStorage
import CRocksDB

/// Point reads and ordered scans shared by the live store and its snapshots; they differ only in read options.
struct RocksDBReader: Sendable {
    let families: ColumnFamilies
    let readOptions: ReadOptions

    var directory: String { families.directory }

    func get(_ key: [UInt8], in namespace: Namespace) throws(StorageError) -> [UInt8]? {
        let family = try families.handle(namespace)
        let (slice, error) = key.withCChars { keyBytes, keyCount in
            callReportingError { errorPointer in
                rocksdb_get_pinned_cf(families.database.raw, readOptions.raw, family.raw, keyBytes, keyCount, errorPointer)
            }
        }
        if let error { throw RocksDBErrorText.storageError(error, directory: directory, during: "get in \(namespace)") }
        // A pinned slice (NULL when absent) tells an empty value from a missing key and avoids a malloc'd copy.
        guard let slice else { return nil }
        defer { rocksdb_pinnableslice_destroy(slice) }
        var count = 0
        let bytes = rocksdb_pinnableslice_value(slice, &count)
        return [UInt8](UnsafeRawBufferPointer(start: bytes, count: count))
    }

    func scan(
        _ namespace: Namespace, from start: [UInt8], to end: [UInt8]?, limit: Int
    ) throws(StorageError) -> [(key: [UInt8], value: [UInt8])] {
        let family = try families.handle(namespace)
        if limit <= 0 { return [] }
        if let end, !start.lexicographicallyPrecedes(end) { return [] }
        // The upper bound is stored in the read options as a pointer, not a copy: it must outlive the iterator.
        let scanOptions = ReadOptions(snapshot: readOptions.snapshot)
        let walk = { (upperBound: UnsafeRawBufferPointer?) in
            if let upperBound {
                rocksdb_readoptions_set_iterate_upper_bound(scanOptions.raw, upperBound.cChars, upperBound.count)
            }
            return Self.walk(family: family, options: scanOptions, from: start, limit: limit)
        }
        let (pairs, error) = end.map { bound in bound.withUnsafeBytes { walk($0) } } ?? walk(nil)
        if let error { throw RocksDBErrorText.storageError(error, directory: directory, during: "scan of \(namespace)") }
        return pairs
    }

    private static func walk(
        family: ColumnFamily, options: ReadOptions, from start: [UInt8], limit: Int
    ) -> (pairs: [(key: [UInt8], value: [UInt8])], error: String?) {
        let iterator = rocksdb_create_iterator_cf(family.database.raw, options.raw, family.raw)
        defer { rocksdb_iter_destroy(iterator) }
        start.withCChars { bytes, count in rocksdb_iter_seek(iterator, bytes, count) }
        var pairs: [(key: [UInt8], value: [UInt8])] = []
        while pairs.count < limit, rocksdb_iter_valid(iterator) != 0 {
            var keyCount = 0
            var valueCount = 0
            let key = rocksdb_iter_key(iterator, &keyCount)
            let value = rocksdb_iter_value(iterator, &valueCount)
            pairs.append((
                key: [UInt8](UnsafeRawBufferPointer(start: key, count: keyCount)),
                value: [UInt8](UnsafeRawBufferPointer(start: value, count: valueCount))
            ))
            rocksdb_iter_next(iterator)
        }
        let error = callReportingError { rocksdb_iter_get_error(iterator, $0) }.error
        return (pairs, error)
    }
}

/// The column family handle of each namespace opened with the store.
struct ColumnFamilies: Sendable {
    let directory: String
    let database: Database
    let byNamespace: [Namespace: ColumnFamily]

    func handle(_ namespace: Namespace) throws(StorageError) -> ColumnFamily {
        guard let family = byNamespace[namespace] else {
            let known = byNamespace.keys.map(\.name).sorted().joined(separator: ", ")
            throw StorageError(
                .unknownColumnFamily,
                "namespace '\(namespace)' was not opened in data directory \(directory) (opened: \(known))"
            )
        }
        return family
    }
}

extension Array where Element == UInt8 {
    /// The bytes as the `const char*` and length that RocksDB's C API takes.
    func withCChars<Result>(_ body: (UnsafePointer<CChar>?, Int) -> Result) -> Result {
        withUnsafeBytes { body($0.cChars, $0.count) }
    }
}

extension UnsafeRawBufferPointer {
    var cChars: UnsafePointer<CChar>? { baseAddress?.assumingMemoryBound(to: CChar.self) }
}
