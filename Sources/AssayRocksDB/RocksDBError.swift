import AssayStorage
import CRocksDB

/// Calls a RocksDB C function that reports failure through `char** errptr`.
/// Returns the function's result and the error text, if any; the C string is freed here.
func callReportingError<Result>(
    _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Result
) -> (result: Result, error: String?) {
    var error: UnsafeMutablePointer<CChar>?
    let result = body(&error)
    guard let error else { return (result, nil) }
    defer { rocksdb_free(error) }
    return (result, String(cString: error))
}

/// Turns RocksDB's error text into a `StorageError` that names the data directory.
/// RocksDB reports only a status string ("IO error: ...", "Corruption: ..."), so the kind is read from it.
enum RocksDBErrorText {
    static func storageError(_ text: String, directory: String, during action: String) -> StorageError {
        if text.contains("While lock file") {
            return StorageError(.alreadyOpen, "data directory \(directory) is already in use by another process (RocksDB LOCK held)")
        }
        if text.contains("lock hold by current process") {
            return StorageError(.alreadyOpen, "data directory \(directory) is already open in this process (RocksDB LOCK held)")
        }
        if text.hasPrefix("Corruption:") || namesMissingManifest(text) {
            return StorageError(.corrupt, "data directory \(directory) is corrupt (\(action)): \(text)")
        }
        if text.contains("does not exist (create_if_missing is false)") {
            return StorageError(.missing, "data directory \(directory) holds no database and creating one was not requested")
        }
        return StorageError(.io, "RocksDB \(action) failed in data directory \(directory): \(text)")
    }

    /// CURRENT exists (checked before opening) but points at a manifest that is not there.
    private static func namesMissingManifest(_ text: String) -> Bool {
        text.contains("/MANIFEST-") && text.contains("No such file or directory")
    }
}
