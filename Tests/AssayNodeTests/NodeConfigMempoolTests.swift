import AssayMempool
import Foundation
import Testing

@testable import AssayNode

/// The `[mempool]` section: the gapped-transaction bounds are written by `node init`, optional when reading an
/// older config, and checked before they reach the pool.
@Suite struct NodeConfigMempoolTests {
    /// The config `node init` writes, with its `[mempool]` section replaced when `mempool` is given.
    func load(_ mempool: String? = nil) throws -> NodeConfig {
        var text = try NodeConfig.defaults(moniker: "n", p2pListen: "127.0.0.1:1", rpcListen: "127.0.0.1:2", peers: [])
            .tomlText()
        let range = try #require(text.range(of: "[mempool]"))
        let end = text[range.upperBound...].range(of: "\n[")?.lowerBound ?? text.endIndex
        if let mempool { text.replaceSubrange(range.lowerBound..<end, with: mempool) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("assay-config-\(UUID().uuidString).toml")
        defer { try? FileManager.default.removeItem(at: path) }
        try text.write(to: path, atomically: true, encoding: .utf8)
        return try NodeConfig.load(path: path.path)
    }

    @Test func theWrittenDefaultsAndAnOlderSectionGiveTheSamePool() throws {
        let written = try load()
        let older = try load("[mempool]\ntransactions_max = 100000\nbytes_max = 134217728\n")
        for config in [written, older] {
            let pool = try config.mempool.poolConfig(chainID: "c", feeMin: 3)
            #expect(pool.countMax == 100_000 && pool.gappedMax == 10_000 && pool.gappedPerSenderMax == 16)
            #expect(pool.gappedLifetimeBlocks == 100 && pool.feeMin == 3)
            #expect(config.mempool.gossipQueueMax == 20_000)
        }
    }

    @Test func badGappedBoundsAreRefusedWithTheirName() throws {
        for (line, name) in [
            ("gapped_max = 100", "gapped_max"), ("gapped_per_sender_max = -1", "gapped_per_sender_max"),
            ("gapped_lifetime_blocks = 0", "gapped_lifetime_blocks"),
            ("gossip_queue_transactions_max = 0", "gossip_queue_transactions_max"),
        ] {
            let config = try load("[mempool]\ntransactions_max = 100\nbytes_max = 134217728\n\(line)\n")
            let error = try #require(throws: NodeConfig.LoadError.self) {
                try config.mempool.poolConfig(chainID: "c", feeMin: 1)
            }
            #expect("\(error)".contains(name))
        }
    }
}
