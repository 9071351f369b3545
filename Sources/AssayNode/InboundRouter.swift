import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayEngine
import AssayLedger
import AssayMempool
import AssayP2P
import AssayRocksDB
import AssayTypes
import ServiceLifecycle

/// Sends what peers say where it belongs: consensus messages to the engine, gossiped transactions to
/// the mempool, block-sync requests answered from the block store.
struct InboundRouter: Service {
    let host: EngineHost
    let transport: P2PTransport
    let mempool: Mempool
    let p2p: P2PService
    let store: RocksDBStore
    /// Fetches a blob from peers (the P2P blob fetcher); nil until the node has one, and then a gossiped
    /// transaction needs its blobs held already.
    var fetchBlob: (@Sendable (BlobRef) async throws -> Void)? = nil

    func run() async throws {
        for await message in p2p.inbound.cancelOnGracefulShutdown() {
            guard let peer = transport.peerID(of: message.peer),
                let wire = try? WireMessage(canonicalBytes: message.bytes)
            else { continue }
            route(wire, from: peer, key: message)
        }
    }

    private func route(_ wire: WireMessage, from peer: PeerID, key message: InboundMessage) {
        switch wire {
        case let .transactions(transactions):
            for transaction in transactions { admitGossiped(transaction) }
        case let .proposal(proposal, block):
            host.deliver(.proposal(proposal, block), from: peer)
        case let .vote(vote):
            host.deliver(.vote(vote), from: peer)
        case let .syncResponse(blocks):
            for committed in blocks { host.deliver(.decided(committed.block, committed.commit), from: peer) }
        case let .statusAnnouncement(height):
            host.deliver(.status(height), from: peer)
        case let .syncRequest(fromHeight, maxCount):
            answerSync(to: message.peer, heights: Self.syncHeights(from: fromHeight, maxCount: maxCount))
        }
    }

    /// The availability rule for gossip: a transaction whose blobs this node lacks is admitted once they have been
    /// fetched from peers, never before.
    private func admitGossiped(_ transaction: Transaction) {
        let bytes = transaction.canonicalBytes
        do throws(AdmissionError) {
            try mempool.admit(bytes)
        } catch .blobNotHeld {
            guard let fetchBlob else { return }
            let refs = blobRefs(of: transaction.body)
            Task {
                for ref in refs { try await fetchBlob(ref) }
                _ = try? mempool.admit(bytes)
            }
        } catch {}
    }

    /// The carried blobs and, for a job, its registered model (whose length the committed state knows).
    private func blobRefs(of body: TransactionBody) -> [BlobRef] {
        guard case let .job(job) = body, let model = try? LedgerQuery(store: store).model(job.modelHash) else {
            return body.carriedBlobs
        }
        return body.carriedBlobs + [model]
    }

    /// The heights a sync request asks for: at most `WireMessage.syncBlocksMax`, and never past the largest
    /// height, since both numbers come from the peer (a request from 2^64-1 must not overflow).
    static func syncHeights(from height: Height, maxCount: UInt32) -> Range<Height> {
        let count = UInt64(min(maxCount, UInt32(WireMessage.syncBlocksMax)))
        return height..<(height > Height.max - count ? Height.max : height + count)
    }

    private func answerSync(to peer: AssayCrypto.PublicKey, heights: Range<Height>) {
        let chain = ChainStore(store: store)
        var blocks: [CommittedBlock] = []
        for next in heights {
            guard let stored = try? chain.block(at: next) else { break }
            blocks.append(CommittedBlock(block: stored.block, commit: stored.commit))
        }
        if !blocks.isEmpty { _ = p2p.send(to: peer, WireMessage.syncResponse(blocks).canonicalBytes) }
    }
}
