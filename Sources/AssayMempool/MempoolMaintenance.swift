import AssayTypes
import Dispatch
import Synchronization

/// Keeps the pool current after commits without letting the work pile up. The node reports each committed
/// block; one serial worker at utility priority applies every block reported since its last pass, then rechecks
/// the pool once. However fast blocks commit, at most one pass runs and at most one more is due, so a recheck of
/// a large pool never multiplies into several competing with the consensus engine for the CPU.
public final class MempoolMaintenance: Sendable {
    private struct CommittedBlock: Sendable {
        let transactions: [Transaction]
        let height: Height
    }

    private let mempool: Mempool
    private let beforePass: @Sendable () -> Void
    private let queue = DispatchQueue(label: "assay.mempool.maintenance", qos: .utility)
    /// Blocks reported since the last pass began; nil when no pass is scheduled.
    private let due = Mutex<[CommittedBlock]?>(nil)
    private let passes = Atomic<Int>(0)

    /// `beforePass` runs at the start of each pass (the node reads the chain's `min_fee` there).
    public init(mempool: Mempool, beforePass: @escaping @Sendable () -> Void = {}) {
        self.mempool = mempool
        self.beforePass = beforePass
    }

    /// Reports the block committed at `height`; returns at once.
    public func committed(_ transactions: [Transaction], height: Height) {
        let block = CommittedBlock(transactions: transactions, height: height)
        let schedule = due.withLock { due in
            defer { due = (due ?? []) + [block] }
            return due == nil
        }
        if schedule { queue.async { self.pass() } }
    }

    /// How many passes (each ending in one `recheck`) have completed.
    public var passCount: Int { passes.load(ordering: .acquiring) }

    /// Returns once every pass scheduled so far has finished.
    public func waitUntilIdle() { queue.sync {} }

    private func pass() {
        guard let blocks = due.withLock({ due in defer { due = nil }; return due }) else { return }
        beforePass()
        for block in blocks { mempool.update(committed: block.transactions, height: block.height) }
        mempool.recheck()
        passes.add(1, ordering: .releasing)
    }
}
