import AssayLedger
import AssayMempool
import AssayP2P
import AssayRPC
import AssayTypes
import Foundation
import Synchronization

/// Prometheus text-format metrics at `/metrics`: chain progress, block interval, transactions per block,
/// mempool size (with its gapped share and dropped gossip), peers, jobs created, results posted, job endings by
/// outcome, slashes, WebSocket connections, the replay worker's counters, blob bytes fetched from and served
/// to peers, and the blobs held and collected.
final class NodeMetrics: Sendable {
    private struct Counters {
        var lastCommitMs: UInt64 = 0
        var blockIntervalMs: UInt64 = 0
        var transactionsLastBlock = 0
        var transactionsTotal = 0
        var jobsEnded: [String: Int] = [:]
        var jobsCreated = 0
        var resultsPosted = 0
        var slashes = 0
    }

    private let application: LedgerApplication
    private let mempool: Mempool
    private let gossip: GossipAdmission
    private let p2p: P2PService
    private let replay: ReplayWorker
    private let hub: SubscriptionHub
    private let blobs: BlobCollector
    private let blobTraffic: BlobTraffic
    private let counters = Mutex(Counters())

    init(
        application: LedgerApplication, mempool: Mempool, gossip: GossipAdmission, p2p: P2PService,
        replay: ReplayWorker, hub: SubscriptionHub, blobs: BlobCollector, blobTraffic: BlobTraffic
    ) {
        self.blobTraffic = blobTraffic
        self.application = application
        self.blobs = blobs
        self.mempool = mempool
        self.gossip = gossip
        self.p2p = p2p
        self.replay = replay
        self.hub = hub
    }

    func committed(_ block: Block, _ outcome: BlockOutcome) {
        let events = outcome.results.flatMap(\.events) + outcome.endBlockEvents
        counters.withLock { counters in
            if counters.lastCommitMs > 0 { counters.blockIntervalMs = block.header.timeMs - min(block.header.timeMs, counters.lastCommitMs) }
            counters.lastCommitMs = block.header.timeMs
            counters.transactionsLastBlock = block.transactions.count
            counters.transactionsTotal += block.transactions.count
            for event in events {
                switch event {
                case .jobCreated: counters.jobsCreated += 1
                case .resultPosted: counters.resultsPosted += 1
                case let .jobEnded(_, outcome, _, _, _, _): counters.jobsEnded[outcome.rawValue, default: 0] += 1
                case .slashed: counters.slashes += 1
                default: break
                }
            }
        }
    }

    func text() async -> String {
        let chain = application.snapshot.withLock { $0 }
        let counters = counters.withLock { $0 }
        var lines = [
            "# TYPE assay_height gauge", "assay_height \(chain.height)",
            "# TYPE assay_block_interval_ms gauge", "assay_block_interval_ms \(counters.blockIntervalMs)",
            "# TYPE assay_block_transactions gauge", "assay_block_transactions \(counters.transactionsLastBlock)",
            "# TYPE assay_transactions_total counter", "assay_transactions_total \(counters.transactionsTotal)",
            "# TYPE assay_mempool_transactions gauge", "assay_mempool_transactions \(mempool.count)",
            "# TYPE assay_mempool_bytes gauge", "assay_mempool_bytes \(mempool.byteCount)",
            "# TYPE assay_mempool_gapped gauge", "assay_mempool_gapped \(mempool.gappedCount)",
            "# TYPE assay_mempool_gossip_dropped_total counter",
            "assay_mempool_gossip_dropped_total \(gossip.droppedCount)",
            "# TYPE assay_peers gauge", "assay_peers \(p2p.connectedPeers.count)",
            "# TYPE assay_jobs_created_total counter", "assay_jobs_created_total \(counters.jobsCreated)",
            "# TYPE assay_results_posted_total counter", "assay_results_posted_total \(counters.resultsPosted)",
            "# TYPE assay_jobs_ended_total counter",
        ]
        for outcome in JobOutcome.allCases {
            lines.append("assay_jobs_ended_total{outcome=\"\(outcome.rawValue)\"} \(counters.jobsEnded[outcome.rawValue] ?? 0)")
        }
        lines += ["# TYPE assay_slashes_total counter", "assay_slashes_total \(counters.slashes)"]
        let replayed = replay.counters.withLock { $0 }
        lines += [
            "# TYPE assay_replay_results_total counter", "assay_replay_results_total \(replayed.results)",
            "# TYPE assay_replay_mismatches_total counter", "assay_replay_mismatches_total \(replayed.mismatches)",
            "# TYPE assay_replay_challenges_sent_total counter",
            "assay_replay_challenges_sent_total \(replayed.challengesSent)",
            "# TYPE assay_replay_dropped_total counter", "assay_replay_dropped_total \(replayed.dropped)",
            "# TYPE assay_replay_tiles_checked_total counter", "assay_replay_tiles_checked_total \(replayed.tilesChecked)",
            "# TYPE assay_replay_work_units_total counter", "assay_replay_work_units_total \(replayed.workUnits)",
            "# TYPE assay_replay_work_units_per_second gauge",
            "assay_replay_work_units_per_second \(Int(replayed.workUnitsPerSecond))",
            "# TYPE assay_websocket_connections gauge", "assay_websocket_connections \(hub.connectionCount)",
            "# TYPE assay_blob_fetched_bytes_total counter",
            "assay_blob_fetched_bytes_total \(blobTraffic.fetchedBytes.load(ordering: .relaxed))",
            "# TYPE assay_blob_served_bytes_total counter",
            "assay_blob_served_bytes_total \(blobTraffic.servedBytes.load(ordering: .relaxed))",
        ]
        let collected = blobs.total
        lines += [
            "# TYPE assay_blobs_held gauge", "assay_blobs_held \(blobs.store.heldCount)",
            "# TYPE assay_blob_bytes_held gauge", "assay_blob_bytes_held \(blobs.store.heldBytes)",
            "# TYPE assay_blobs_collected_total counter", "assay_blobs_collected_total \(collected.blobs)",
            "# TYPE assay_blob_bytes_collected_total counter", "assay_blob_bytes_collected_total \(collected.bytes)",
            "# TYPE assay_blob_partials_collected_total counter",
            "assay_blob_partials_collected_total \(collected.partials)",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
