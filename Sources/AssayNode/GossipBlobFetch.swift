import AssayBlobs
import AssayLedger
import AssayRocksDB
import AssayTypes
import Synchronization

/// The availability rule for gossip: a transaction refused for a blob this node lacks is admitted only after the
/// blobs it references have been fetched from peers (the P2P blob fetcher), never before.
final class GossipBlobFetch: Sendable {
    /// Fetches for gossiped transactions running at once; a transaction arriving beyond this is dropped (the node
    /// that gossiped it keeps it, and a proposer holding its blobs can still include it).
    static let fetchesMax = 16

    private let store: RocksDBStore
    private let fetch: @Sendable (BlobRef) async throws -> Void
    private let running = Atomic<Int>(0)

    init(store: RocksDBStore, fetch: @escaping @Sendable (BlobRef) async throws -> Void) {
        self.store = store
        self.fetch = fetch
    }

    /// Fetches the blobs `transaction` references, then runs `admit`; nothing when a fetch fails.
    func fetchThenAdmit(_ transaction: Transaction, admit: @escaping @Sendable () -> Void) {
        guard running.add(1, ordering: .relaxed).newValue <= Self.fetchesMax else {
            running.subtract(1, ordering: .relaxed)
            return
        }
        let refs = blobRefs(of: transaction.body)
        Task {
            defer { running.subtract(1, ordering: .relaxed) }
            for ref in refs { try await fetch(ref) }
            admit()
        }
    }

    /// The carried blobs and, for a job, its registered model (whose length the committed state knows).
    private func blobRefs(of body: TransactionBody) -> [BlobRef] {
        guard case let .job(job) = body, let model = try? LedgerQuery(store: store).model(job.modelHash) else {
            return body.carriedBlobs
        }
        return body.carriedBlobs + [model]
    }
}
