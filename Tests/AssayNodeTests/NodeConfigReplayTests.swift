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

    @Test func aSampleSectionBecomesAPolicyAndAMissingOneMeansTheDefaults() throws {
        let sample = try load("[replay]\nmode = \"sample\"\ntiles_per_result = 4\nthreads = 2\n")
        #expect(try sample.replay?.policy() == SpotCheckPolicy(mode: .sample, tilesPerResult: 4))
        #expect(sample.replay?.threads == 2)
        let all = try load("[replay]\nmode = \"all\"\n")
        #expect(try all.replay?.policy() == SpotCheckPolicy(mode: .all, tilesPerResult: 16))
        let absent = try load("")
        #expect(absent.replay == nil)
        #expect(try (absent.replay ?? .defaults).policy() == SpotCheckPolicy(mode: .sample, tilesPerResult: 16))
        let written = NodeConfig.defaults(moniker: "n", p2pListen: "127.0.0.1:1", rpcListen: "127.0.0.1:2", peers: [])
        #expect(try written.tomlText().contains("tiles_per_result = 16"))
    }

    @Test func invalidReplaySettingsAreRefused() throws {
        #expect(throws: (any Error).self) { try load("[replay]\nmode = \"some\"\nthreads = 1\n") }
        let zero = try load("[replay]\nmode = \"sample\"\ntiles_per_result = 0\nthreads = 1\n")
        #expect(throws: NodeConfig.LoadError.self) { try zero.replay?.policy() }
        let threads = try load("[replay]\nmode = \"all\"\nthreads = 0\n")
        #expect(throws: NodeConfig.LoadError.self) { try threads.replay?.policy() }
        // The whole-job sample's keys are refused with a pointer to tiles_per_result.
        let old = "[replay]\nmode = \"sample\"\nsample_fraction = 0.5\nseed = 1\nthreads = 1\n"
        #expect(throws: NodeConfig.LoadError.self) { try load(old) }
        do { _ = try load(old) } catch { #expect("\(error)".contains("tiles_per_result")) }
    }
}
