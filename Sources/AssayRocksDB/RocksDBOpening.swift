import AssayStorage
import CRocksDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension RocksDBStore {
    /// The column families recorded in the directory, or none for a directory that holds no database yet.
    static func existingColumnFamilies(
        path: String, options: DatabaseOptions, createIfMissing: Bool
    ) throws(StorageError) -> [String] {
        // A RocksDB directory always has CURRENT; without it there is nothing to list.
        guard access(path + "/CURRENT", F_OK) == 0 else {
            if createIfMissing { return [] }
            let what = access(path, F_OK) == 0 ? "holds no RocksDB database (no CURRENT file)" : "does not exist"
            throw StorageError(.missing, "data directory \(path) \(what) and creating one was not requested")
        }
        var count = 0
        let (list, error) = callReportingError { rocksdb_list_column_families(options.raw, path, &count, $0) }
        // RocksDB allocates the list even when it reports an error (LeakSanitizer found it leaking on that path).
        defer { if let list { rocksdb_list_column_families_destroy(list, count) } }
        if let error {
            throw RocksDBErrorText.storageError(error, directory: path, during: "listing column families")
        }
        guard let list else { return [] }
        return (0..<count).compactMap { list[$0].map { String(cString: $0) } }
    }

    /// `path` if it exists, else its nearest existing parent (a data directory RocksDB is about to create).
    static func nearestExisting(_ path: String) -> String {
        var candidate = path
        while access(candidate, F_OK) != 0, let slash = candidate.lastIndex(of: "/") {
            candidate = slash == candidate.startIndex ? "/" : String(candidate[..<slash])
        }
        return candidate.isEmpty || access(candidate, F_OK) != 0 ? "." : candidate
    }

    /// Names in first-seen order, without repeats.
    static func union(_ first: [String], _ second: [String]) -> [String] {
        var seen = Set<String>()
        return (first + second).filter { seen.insert($0).inserted }
    }

    /// Opens the database with exactly these column families and wraps each handle.
    static func open(
        path: String, options: DatabaseOptions, columnFamilies names: [String]
    ) throws(StorageError) -> ColumnFamilies {
        var handles = [OpaquePointer?](repeating: nil, count: names.count)
        let familyOptions = [OpaquePointer?](repeating: options.raw, count: names.count)
        let (raw, error) = withCStrings(names) { cNames in
            callReportingError { errorPointer in
                rocksdb_open_column_families(
                    options.raw, path, Int32(names.count), cNames, familyOptions, &handles, errorPointer
                )
            }
        }
        if let error { throw RocksDBErrorText.storageError(error, directory: path, during: "open") }
        guard let raw else { throw StorageError(.io, "RocksDB open of data directory \(path) returned no handle") }
        let database = Database(raw: raw, options: options)
        var byNamespace: [Namespace: ColumnFamily] = [:]
        for (name, handle) in zip(names, handles) {
            guard let handle else {
                throw StorageError(.io, "RocksDB open of data directory \(path) returned no handle for '\(name)'")
            }
            byNamespace[Namespace(name)] = ColumnFamily(raw: handle, database: database)
        }
        return ColumnFamilies(directory: path, database: database, byNamespace: byNamespace)
    }

    /// Calls `body` with the names as a C array of NUL-terminated strings, valid for the call only.
    private static func withCStrings<Result>(
        _ names: [String], _ body: ([UnsafePointer<CChar>?]) -> Result
    ) -> Result {
        let copies = names.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        return body(copies.map { UnsafePointer($0) })
    }
}
