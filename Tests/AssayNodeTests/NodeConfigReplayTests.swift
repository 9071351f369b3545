import Foundation
import Testing

@testable import AssayNode

/// The `[replay]` section of config.toml: optional, validated, and written by `node init`.
@Suite struct NodeConfigReplayTests {
    func load(_ replay: String) throws -> NodeConfig {
        var text = try NodeConfig.defaults(moniker: "n", p2pListen: "127.0.0.1:1", rpcListen: "127.0.0.1:2", peers: [])
            .tomlText()
        let range = try #require(text.range(of: "[replay]"))
        let end = text[range.upperBound...].range(of: "\n[")?.lowerBound ?? text.endIndex
        text.replaceSubrange(range.lowerBound..<end, with: replay)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("assay-config-\(UUID().uuidString).toml")
        defer { try? FileManager.default.removeItem(at: path) }
        try text.write(to: path, atomically: true, encoding: .utf8)
        return try NodeConfig.load(path: path.path)
    }

    @Test func aSampleSectionBecomesASeededSelectionAndAMissingOneMeansAll() throws {
        let sample = try load("[replay]\nmode = \"sample\"\nsample_fraction = 0.25\nseed = 42\nthreads = 2\n")
        #expect(try sample.replay?.selection() == ReplaySelection(mode: .sample, sampleFraction: 0.25, seed: 42))
        #expect(sample.replay?.threads == 2)
        let absent = try load("")
        #expect(absent.replay == nil)
        #expect(try (absent.replay ?? .defaults).selection().mode == .all)
    }

    @Test func invalidReplaySettingsAreRefused() throws {
        #expect(throws: (any Error).self) {
            try load("[replay]\nmode = \"some\"\nsample_fraction = 0.5\nseed = 1\nthreads = 1\n")
        }
        let fraction = try load("[replay]\nmode = \"sample\"\nsample_fraction = 1.5\nseed = 1\nthreads = 1\n")
        #expect(throws: NodeConfig.LoadError.self) { try fraction.replay?.selection() }
        let threads = try load("[replay]\nmode = \"all\"\nsample_fraction = 1.0\nseed = 1\nthreads = 0\n")
        #expect(throws: NodeConfig.LoadError.self) { try threads.replay?.selection() }
    }
}
