import AssayBlobs
import AssayLedger
import AssayMempool
import AssayRocksDB
import AssayTypes
import Dispatch
import Logging
import Synchronization

/// Retention's local half (docs/ARCHITECTURE.md, Blobs): after each commit, deletes
/// - the blobs the block released (its `blobReleased` events; the ledger decides which, from committed state, so
///   every node deletes the same ones);
/// - complete blobs that nothing uses: no use in committed state (`blob_uses`) and no pending transaction
///   referencing them, once held for `blob_retention_blocks` committed blocks (uploads nobody used, outputs of
///   refused results);
/// - partial blobs whose held chunks have not changed for `blob_retention_blocks` committed blocks (stopped uploads
///   and fetches).
/// When this node first saw a blob, and since when a partial has been idle, are heights kept in memory, not in the
/// ledger: a restart starts the count again, which only keeps blobs longer. Runs one commit at a time on a queue of
/// its own, off the engine's.
final class BlobCollector: Sendable {
    struct Collected: Equatable, Sendable {
        var blobs = 0
        var bytes: UInt64 = 0
        var partials = 0
    }

    let store: BlobStore
    private let state: RocksDBStore
    private let mempool: Mempool
    private let logger: Logger
    private let tracking = Mutex(Tracking())
    private let queue = DispatchQueue(label: "assay.blobs.collect")

    private struct Tracking {
        var collected = Collected()
        /// The committed height at which each complete blob was first seen, or last found in use.
        var seen: [BlobID: Height] = [:]
        /// Each partial's held chunk count, and the height since which it has not changed.
        var partials: [BlobRef: (held: Int, since: Height)] = [:]
    }

    init(store: BlobStore, state: RocksDBStore, mempool: Mempool, logger: Logger) {
        self.store = store
        self.state = state
        self.mempool = mempool
        self.logger = logger
    }

    var total: Collected { tracking.withLock { $0.collected } }

    /// Queues the collection after the commit of the block at `height`.
    func committed(_ outcome: BlockOutcome, height: Height) {
        queue.async { self.collect(outcome, height: height) }
    }

    func collect(_ outcome: BlockOutcome, height: Height) {
        for case let .blobReleased(blob) in outcome.endBlockEvents { remove(BlobID(blob)) }
        let retention: UInt64
        do { retention = try LedgerQuery(store: state).params().blobRetentionBlocks } catch {
            logger.warning("blob collection skipped at height \(height): cannot read the parameters: \(error)")
            return
        }
        collectUnused(at: height, retention: retention)
        collectIdlePartials(at: height, retention: retention)
    }

    private func collectUnused(at height: Height, retention: UInt64) {
        let held = store.heldRefs
        let due = tracking.withLock { tracking in
            tracking.seen = tracking.seen.filter { id, _ in held.contains { $0.id == id } }
            for ref in held where tracking.seen[ref.id] == nil { tracking.seen[ref.id] = height }
            return held.filter { height - tracking.seen[$0.id]! >= retention }
        }
        guard !due.isEmpty else { return }
        let pending = mempool.referencedBlobIDs
        for ref in due {
            if pending.contains(ref.id) || isUsedInState(ref.id) {
                // Looked at again a retention period later; when the ledger releases it, its event deletes it.
                tracking.withLock { $0.seen[ref.id] = height }
            } else {
                remove(ref.id)
            }
        }
    }

    private func collectIdlePartials(at height: Height, retention: UInt64) {
        let partials = store.partials
        let idle = tracking.withLock { tracking in
            var progress: [BlobRef: (held: Int, since: Height)] = [:]
            for partial in partials {
                let known = tracking.partials[partial.ref]
                progress[partial.ref] = known?.held == partial.heldChunks ? known : (partial.heldChunks, height)
            }
            tracking.partials = progress
            return partials.map(\.ref).filter { height - progress[$0]!.since >= retention }
        }
        for ref in idle {
            do {
                guard try store.removePartial(ref) else { continue }
                tracking.withLock { $0.collected.partials += 1 }
            } catch {
                logger.warning("could not delete idle partial blob \(ref): \(error)")
            }
        }
    }

    /// A state that cannot be read counts as a use: keeping a blob costs disk, deleting a used one costs its job.
    private func isUsedInState(_ id: BlobID) -> Bool {
        (try? LedgerQuery(store: state).blobUses(id.digest)).map { $0 > 0 } ?? true
    }

    private func remove(_ id: BlobID) {
        guard case let .complete(ref) = store.status(id) else { return }
        do {
            guard try store.remove(id) else { return }
            tracking.withLock {
                $0.collected.blobs += 1
                $0.collected.bytes += ref.length
            }
        } catch {
            // A blob left behind costs disk, never correctness: the next start does not need it.
            logger.warning("could not delete blob \(id): \(error)")
        }
    }
}
