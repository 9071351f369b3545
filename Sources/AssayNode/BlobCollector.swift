import AssayBlobs
import AssayLedger
import Logging
import Synchronization

/// Retention's local half: deletes the blobs a committed block released (its `blobReleased` events; the
/// ledger decides which, from committed state, so every node deletes the same ones) and counts what it freed.
/// Runs off the engine's queue, after the commit.
final class BlobCollector: Sendable {
    struct Collected: Equatable, Sendable {
        var blobs = 0
        var bytes: UInt64 = 0
    }

    let store: BlobStore
    private let logger: Logger
    private let collected = Mutex(Collected())

    init(store: BlobStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    var total: Collected { collected.withLock { $0 } }

    func collect(_ outcome: BlockOutcome) {
        for case let .blobReleased(blob) in outcome.endBlockEvents { remove(BlobID(blob)) }
    }

    private func remove(_ id: BlobID) {
        guard case let .complete(ref) = store.status(id) else { return }
        do {
            guard try store.remove(id) else { return }
            collected.withLock {
                $0.blobs += 1
                $0.bytes += ref.length
            }
        } catch {
            // A blob left behind costs disk, never correctness: the next start does not need it.
            logger.warning("could not delete released blob \(id): \(error)")
        }
    }
}
