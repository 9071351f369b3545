import AssayBlobs
import AssayLedger
import AssayMempool
import AssayRocksDB
import AssayTypes

/// The availability rule for gossip: a transaction refused for a blob this node lacks is admitted only after the
/// blobs it references have been fetched from peers (the P2P blob fetcher), never before.
struct GossipBlobFetch: Sendable {
    let store: RocksDBStore
    let mempool: Mempool
    let fetch: @Sendable (BlobRef) async throws -> Void

    func fetchThenAdmit(_ transaction: Transaction) {
        let refs = blobRefs(of: transaction.body)
        Task {
            for ref in refs { try await fetch(ref) }
            _ = try? mempool.admit(transaction.canonicalBytes)
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
