import AssayRocksDB
import Logging
import ServiceLifecycle

/// Stops the node once its data directory is short of the `[storage] min_free_bytes` reserve, checked every
/// `interval` even while the node writes nothing: RocksDB's background flushes and compactions write too, and
/// meeting a full disk there aborts the process. Throwing ends the node's service group, so the node exits
/// non-zero with this error and RocksDB is closed on the way out; writes already refuse it (`checkWritable`).
struct DiskWatch: Service {
    let store: RocksDBStore
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try store.checkWritable() } catch {
                    logger.error("\(error)")
                    throw error
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
