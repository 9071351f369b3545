import AssayEngine
import AssayRocksDB
import AssayStorage
import AssayTypes
import Foundation
import Logging
import Synchronization

/// Deletes committed blocks older than `[storage] retain_blocks` (docs/operations.md, Pruning), with their commits
/// and transaction index entries, and moves the chain store's base past them; one atomic batch per step, so a crash
/// leaves either the old base or the new one. Blocks of the snapshots the node holds stay, since a joining node
/// fetches the snapshot's block from it. Runs off the engine's queue, one step at a time.
final class BlockPruner: Sendable {
    /// Blocks deleted per commit at most: enabling pruning on a long chain catches up over many commits instead
    /// of holding the disk for one long batch.
    static let blocksPerStepMax = 100

    let retainBlocks: Height
    let store: RocksDBStore
    let snapshots: SnapshotStore?
    let logger: Logger
    private let busy = Atomic<Bool>(false)

    init(retainBlocks: Height, store: RocksDBStore, snapshots: SnapshotStore?, logger: Logger) {
        precondition(retainBlocks > 0)
        self.retainBlocks = retainBlocks
        self.store = store
        self.snapshots = snapshots
        self.logger = logger
    }

    /// The lowest height to keep once block `height` is committed.
    func retainedFrom(tip height: Height) -> Height {
        let byCount = height >= retainBlocks ? height - retainBlocks + 1 : 1
        return min(byCount, snapshots?.oldestHeight ?? byCount)
    }

    /// Called on the engine's queue after block `height` was written; the step runs on a background queue.
    func committed(height: Height) {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return  // the previous step is still running: the next commit goes on from where it ends
        }
        DispatchQueue.global(qos: .utility).async { [self] in
            defer { busy.store(false, ordering: .releasing) }
            do { try prune(below: retainedFrom(tip: height)) } catch {
                logger.error("pruning below height \(retainedFrom(tip: height)) failed: \(error)")
            }
        }
    }

    /// One step: at most `blocksPerStepMax` blocks below `newBase`, in one batch.
    func prune(below newBase: Height) throws {
        var batch = WriteBatch()
        let pruned = try ChainStore(store: store).pruneWrites(below: newBase, limit: Self.blocksPerStepMax, into: &batch)
        guard !pruned.isEmpty else { return }
        for block in pruned { try TransactionIndex.pruneWrites(block, store: store, into: &batch) }
        try store.write(batch, durability: .buffered)
        logger.debug("pruned blocks \(pruned[0].height)...\(pruned[pruned.count - 1].height)")
    }
}
