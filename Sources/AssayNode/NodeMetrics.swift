import AssayLedger
import AssayMempool
import AssayP2P
import AssayRPC
import AssayTypes
import Metrics
import class Prometheus.PrometheusCollectorRegistry
import struct Prometheus.PrometheusMetricsFactory
import Synchronization

/// The node's metrics (docs/rpc.md, Metrics) through swift-metrics, served as Prometheus text at `/metrics`.
///
/// Each node has a `PrometheusCollectorRegistry` of its own and makes its metrics with a factory over it, never
/// through the process-global `MetricsSystem`: several nodes in one process (the tests) keep their figures apart.
/// Figures the commit path yields (block interval, transactions, market events) are recorded at each commit; figures
/// other components keep (pool sizes, peers, the replay worker's counts, atomics on blob paths) are read at each
/// scrape (`SampledMetric`).
final class NodeMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let lastCommitMs = Mutex<UInt64>(0)
    private let blockIntervalMs: Gauge
    private let blockTransactions: Gauge
    private let transactions: Counter
    private let jobsCreated: Counter
    private let resultsPosted: Counter
    private let jobsEnded: [JobOutcome: Counter]
    private let slashes: Counter
    private let sampled: [SampledMetric]

    init(
        application: LedgerApplication, mempool: Mempool, gossip: GossipAdmission, p2p: P2PService,
        replay: ReplayWorker, hub: SubscriptionHub, blobs: BlobCollector, blobTraffic: BlobTraffic
    ) {
        let factory = PrometheusMetricsFactory(registry: registry)
        blockIntervalMs = Gauge(label: "assay_block_interval_ms", factory: factory)
        blockTransactions = Gauge(label: "assay_block_transactions", factory: factory)
        transactions = Counter(label: "assay_transactions_total", factory: factory)
        jobsCreated = Counter(label: "assay_jobs_created_total", factory: factory)
        resultsPosted = Counter(label: "assay_results_posted_total", factory: factory)
        jobsEnded = Dictionary(uniqueKeysWithValues: JobOutcome.allCases.map { outcome in
            let dimensions = [("outcome", outcome.rawValue)]
            return (outcome, Counter(label: "assay_jobs_ended_total", dimensions: dimensions, factory: factory))
        })
        slashes = Counter(label: "assay_slashes_total", factory: factory)
        let replayed: @Sendable () -> ReplayCounters = { replay.counters.withLock { $0 } }
        sampled = [
            .gauge("assay_height", factory) { Double(application.snapshot.withLock { $0.height }) },
            .gauge("assay_mempool_transactions", factory) { Double(mempool.count) },
            .gauge("assay_mempool_bytes", factory) { Double(mempool.byteCount) },
            .gauge("assay_mempool_gapped", factory) { Double(mempool.gappedCount) },
            .counter("assay_mempool_gossip_dropped_total", factory) { UInt64(gossip.droppedCount) },
            .gauge("assay_peers", factory) { Double(p2p.connectedPeers.count) },
            .counter("assay_peer_received_bytes_total", factory) { UInt64(p2p.receivedBytesTotal) },
            .counter("assay_replay_results_total", factory) { UInt64(replayed().results) },
            .counter("assay_replay_mismatches_total", factory) { UInt64(replayed().mismatches) },
            .counter("assay_replay_challenges_sent_total", factory) { UInt64(replayed().challengesSent) },
            .counter("assay_replay_dropped_total", factory) { UInt64(replayed().dropped) },
            .counter("assay_replay_tiles_checked_total", factory) { UInt64(replayed().tilesChecked) },
            .counter("assay_replay_work_units_total", factory) { replayed().workUnits },
            .gauge("assay_replay_work_units_per_second", factory) { replayed().workUnitsPerSecond },
            .gauge("assay_websocket_connections", factory) { Double(hub.connectionCount) },
            .counter("assay_blob_fetched_bytes_total", factory) { blobTraffic.fetchedBytes.load(ordering: .relaxed) },
            .counter("assay_blob_served_bytes_total", factory) { blobTraffic.servedBytes.load(ordering: .relaxed) },
            .gauge("assay_blobs_held", factory) { Double(blobs.store.heldCount) },
            .gauge("assay_blob_bytes_held", factory) { Double(blobs.store.heldBytes) },
            .counter("assay_blobs_collected_total", factory) { UInt64(blobs.total.blobs) },
            .counter("assay_blob_bytes_collected_total", factory) { UInt64(blobs.total.bytes) },
            .counter("assay_blob_partials_collected_total", factory) { UInt64(blobs.total.partials) },
        ]
    }

    func committed(_ block: Block, _ outcome: BlockOutcome) {
        let timeMs = block.header.timeMs
        let previousMs = lastCommitMs.withLock { last in
            defer { last = timeMs }
            return last
        }
        if previousMs > 0 { blockIntervalMs.record(timeMs - min(timeMs, previousMs)) }
        blockTransactions.record(block.transactions.count)
        transactions.increment(by: block.transactions.count)
        for event in outcome.results.flatMap(\.events) + outcome.endBlockEvents {
            switch event {
            case .jobCreated: jobsCreated.increment()
            case .resultPosted: resultsPosted.increment()
            case let .jobEnded(_, outcome, _, _, _, _): jobsEnded[outcome]?.increment()
            case .slashed: slashes.increment()
            default: break
            }
        }
    }

    /// The Prometheus text exposition of every metric, the sampled ones read now.
    func text() -> String {
        for metric in sampled { metric.sample() }
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A figure another component keeps, read at each scrape: a gauge records it; a counter advances by what the
/// total grew since the last scrape (the owner keeps the total, so nothing on its path changes).
private final class SampledMetric: Sendable {
    private enum Kind: Sendable {
        case gauge(Gauge, read: @Sendable () -> Double)
        case counter(Counter, read: @Sendable () -> UInt64)
    }

    private let kind: Kind
    /// The total a counter has been advanced to.
    private let reported = Mutex<UInt64>(0)

    private init(_ kind: Kind) { self.kind = kind }

    static func gauge(
        _ name: String, _ factory: PrometheusMetricsFactory, read: @escaping @Sendable () -> Double
    ) -> SampledMetric {
        SampledMetric(.gauge(Gauge(label: name, factory: factory), read: read))
    }

    static func counter(
        _ name: String, _ factory: PrometheusMetricsFactory, read: @escaping @Sendable () -> UInt64
    ) -> SampledMetric {
        SampledMetric(.counter(Counter(label: name, factory: factory), read: read))
    }

    func sample() {
        switch kind {
        case let .gauge(gauge, read): gauge.record(read())
        case let .counter(counter, read):
            reported.withLock { reported in
                let total = read()
                counter.increment(by: total - min(total, reported))
                reported = max(reported, total)
            }
        }
    }
}
