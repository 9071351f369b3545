import AssayTypes
import Dispatch
import Synchronization

/// Admits gossiped transactions on a serial worker of its own, so the caller (the node's inbound message loop,
/// which also carries votes and proposals) never waits behind their signature checks. At most `capacity`
/// transactions wait; a batch that does not fit is dropped and counted: gossip is best effort, and the node
/// that sent it keeps its copy.
public final class GossipAdmission: Sendable {
    private let mempool: Mempool
    private let capacity: Int
    private let queue = DispatchQueue(label: "assay.mempool.gossip", qos: .utility)
    private let waiting = Mutex(0)
    private let dropped = Atomic<Int>(0)
    private let blobsMissing: (@Sendable (Transaction) -> Void)?

    /// `blobsMissing` receives a transaction refused only because this node lacks a blob it references (the
    /// availability rule): the node fetches the blobs from peers and admits it afterwards. Without it such a
    /// transaction is dropped like any refusal.
    public init(mempool: Mempool, capacity: Int, blobsMissing: (@Sendable (Transaction) -> Void)? = nil) {
        precondition(capacity > 0)
        self.mempool = mempool
        self.capacity = capacity
        self.blobsMissing = blobsMissing
    }

    /// Queues the batch for admission and returns at once: true if queued, false if dropped for lack of room.
    @discardableResult
    public func enqueue(_ transactions: [Transaction]) -> Bool {
        let fits = waiting.withLock { waiting in
            guard waiting + transactions.count <= capacity else { return false }
            waiting += transactions.count
            return true
        }
        guard fits else {
            dropped.add(transactions.count, ordering: .relaxed)
            return false
        }
        queue.async {
            // Refusals are normal here: a peer forwards what its own pool admitted under its own state.
            for transaction in transactions { self.admit(transaction) }
            self.waiting.withLock { $0 -= transactions.count }
        }
        return true
    }

    private func admit(_ transaction: Transaction) {
        do throws(AdmissionError) {
            try mempool.admit(transaction.canonicalBytes)
        } catch .blobNotHeld {
            blobsMissing?(transaction)
        } catch {}
    }

    /// Transactions dropped because the queue was full.
    public var droppedCount: Int { dropped.load(ordering: .relaxed) }

    /// Returns once every batch queued so far has been admitted or refused.
    public func waitUntilIdle() { queue.sync {} }
}
