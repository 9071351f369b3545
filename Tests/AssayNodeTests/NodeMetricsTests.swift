import AssayBlobs
import AssayMempool
import AssayP2P
import AssayRPC
import Foundation
import Logging
import Testing

@testable import AssayNode

/// `/metrics` through swift-metrics and swift-prometheus serves exactly the metrics docs/rpc.md lists.
@Suite struct NodeMetricsTests {
    static let rpcDoc = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/rpc.md")

    /// The names in the first column of docs/rpc.md's Metrics table.
    static func documentedNames() throws -> Set<String> {
        let doc = try String(contentsOf: rpcDoc, encoding: .utf8)
        let section = try #require(
            doc.components(separatedBy: "\n## Metrics\n").last?.components(separatedBy: "\n## ").first)
        return Set(section.split(separator: "\n").compactMap { line in
            line.wholeMatch(of: /\| `(assay_[a-z_]+)` \|.*/).map { String($0.1) }
        })
    }

    /// The metric names of Prometheus text, from its samples (labels cut off).
    static func servedNames(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
            line.prefixMatch(of: /[a-z_]+/).map { String($0.0) }
        })
    }

    static func metrics(of node: NodeFixture) -> NodeMetrics {
        let logger = Logger(label: "test")
        let replay = ReplayWorker(
            policy: SpotCheckPolicy(mode: .sample, tilesPerResult: 1), secret: SpotChecker.secret(of: NodeFixture.nodeKey),
            threads: 1, account: node.account(),
            store: node.store, blobs: node.blobs, logger: logger)
        return NodeMetrics(
            application: node.application, mempool: node.mempool,
            gossip: GossipAdmission(mempool: node.mempool, capacity: 1),
            p2p: P2PService(config: P2PConfig(chainID: NodeFixture.chainID, identity: NodeFixture.nodeKey, allowedKeys: [])),
            replay: replay, hub: SubscriptionHub(),
            blobs: BlobCollector(store: node.blobs, state: node.store, mempool: node.mempool, logger: logger),
            blobTraffic: BlobTraffic())
    }

    @Test func servesEveryDocumentedMetricAndNoOther() throws {
        let documented = try Self.documentedNames()
        #expect(documented.count >= 28, "the table was found")
        let node = try NodeFixture()
        let served = Self.servedNames(Self.metrics(of: node).text())
        #expect(served.subtracting(documented).isEmpty, "served but not documented")
        #expect(documented.subtracting(served).isEmpty, "documented but not served")
    }

    @Test func countsCommittedMarketEventsAndSamplesTheHeight() throws {
        let node = try NodeFixture()
        let metrics = Self.metrics(of: node)
        let offer = try node.openMarket()
        let block = try node.commit([try node.job(offer: offer)])
        metrics.committed(block, try #require(node.outcomes.last))
        let text = metrics.text()
        #expect(text.contains("assay_height \(Double(node.height))\n"), "gauges are floating point")
        #expect(text.contains("assay_jobs_created_total 1\n"))
        #expect(text.contains("assay_transactions_total 1\n"))
        #expect(text.contains(#"assay_jobs_ended_total{outcome="settled"} 0"#))
        #expect(text.contains("# TYPE assay_jobs_created_total counter"))
    }
}
