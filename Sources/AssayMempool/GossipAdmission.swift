import AssayCrypto
import AssayTypes
import Dispatch
import Synchronization

/// Admits gossiped transactions on a serial worker of its own, so the caller (the node's inbound message loop,
/// which also carries votes and proposals) never waits behind their signature checks. At most `capacity`
/// transactions wait; a batch that does not fit is dropped and counted: gossip is best effort, and the node
/// that sent it keeps its copy.
///
/// A transaction that carries blobs is gossiped on (`relay`) once admitted, to every peer including the one it
/// came from: a node admits it only while holding its blobs, so each copy a proposer receives tells it one more
/// validator holds them (docs/consensus.md, Blob availability rule).
public final class GossipAdmission: Sendable {
    private let mempool: Mempool
    private let capacity: Int
    private let queue = DispatchQueue(label: "assay.mempool.gossip", qos: .utility)
    private let waiting = Mutex(0)
    private let dropped = Atomic<Int>(0)
    private let blobsMissing: (@Sendable (Transaction, _ admit: @escaping @Sendable () -> Void) -> Void)?
    private let relay: (@Sendable (Transaction) -> Void)?

    /// `blobsMissing` receives a transaction refused only because this node lacks a blob it references (the
    /// availability rule) and the admission to run once it holds them: the node fetches the blobs from peers, then
    /// calls it. Without it such a transaction is dropped like any refusal. `relay` gossips a newly admitted
    /// transaction that carries blobs to every peer.
    public init(
        mempool: Mempool, capacity: Int,
        blobsMissing: (@Sendable (Transaction, _ admit: @escaping @Sendable () -> Void) -> Void)? = nil,
        relay: (@Sendable (Transaction) -> Void)? = nil
    ) {
        precondition(capacity > 0)
        self.mempool = mempool
        self.capacity = capacity
        self.blobsMissing = blobsMissing
        self.relay = relay
    }

    /// Queues the batch `peer` sent for admission and returns at once: true if queued, false if dropped for lack
    /// of room.
    @discardableResult
    public func enqueue(_ transactions: [Transaction], from peer: PublicKey? = nil) -> Bool {
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
            for transaction in transactions { self.admit(transaction, from: peer, fetchingBlobs: true) }
            self.waiting.withLock { $0 -= transactions.count }
        }
        return true
    }

    private func admit(_ transaction: Transaction, from peer: PublicKey?, fetchingBlobs: Bool) {
        do throws(AdmissionError) {
            try mempool.admit(transaction.canonicalBytes, from: peer)
            if !transaction.body.carriedBlobs.isEmpty { relay?(transaction) }
        } catch .blobNotHeld where fetchingBlobs {
            blobsMissing?(transaction) { self.admit(transaction, from: peer, fetchingBlobs: false) }
        } catch {}
    }

    /// Transactions dropped because the queue was full.
    public var droppedCount: Int { dropped.load(ordering: .relaxed) }

    /// Returns once every batch queued so far has been admitted or refused.
    public func waitUntilIdle() { queue.sync {} }
}
