import Foundation
import Testing

@testable import AssayNode

/// The `[p2p]` section of config.toml: the keys added for issue 15 are optional, validated and written.
@Suite struct NodeConfigP2PTests {
    func load(_ p2p: String) throws -> NodeConfig {
        var text = try NodeConfig.defaults(moniker: "n", p2pListen: "127.0.0.1:1", rpcListen: "127.0.0.1:2", peers: [])
            .tomlText()
        let range = try #require(text.range(of: "[p2p]"))
        let end = text[range.upperBound...].range(of: "\n[")?.lowerBound ?? text.endIndex
        text.replaceSubrange(range.lowerBound..<end, with: p2p)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("assay-config-\(UUID().uuidString).toml")
        defer { try? FileManager.default.removeItem(at: path) }
        try text.write(to: path, atomically: true, encoding: .utf8)
        return try NodeConfig.load(path: path.path)
    }

    static let before = "[p2p]\nlisten = \"127.0.0.1:1\"\npeers = []\nframe_bytes_max = 8388608\nsend_queue_max = 4096\n"

    @Test func aConfigWrittenBeforeTheNewKeysLoadsWithTheirDefaults() throws {
        let old = try load(Self.before)
        #expect(old.p2p == .defaults(listen: "127.0.0.1:1", peers: []))
        let written = try NodeConfig.defaults(moniker: "n", p2pListen: "127.0.0.1:1", rpcListen: "127.0.0.1:2", peers: [])
            .tomlText()
        for key in ["handshake_frame_bytes_max = 1024", "pending_handshakes_max = 64", "pending_handshakes_per_ip_max = 8",
                    "keepalive_interval_ms = 1000", "peer_timeout_ms = 3000", "serve_blobs = true"]
        {
            #expect(written.contains(key))
        }
        let tuned = try load(Self.before + "keepalive_interval_ms = 200\npeer_timeout_ms = 700\n")
        #expect(tuned.p2p.keepaliveIntervalMs == 200 && tuned.p2p.peerTimeoutMs == 700)
        let withholding = try load(Self.before + "serve_blobs = false\n")
        #expect(old.p2p.serveBlobs && !withholding.p2p.serveBlobs)
    }

    @Test func inconsistentTransportSettingsAreRefused() throws {
        for bad in [
            "keepalive_interval_ms = 3000\npeer_timeout_ms = 3000\n", "handshake_frame_bytes_max = 16777216\n",
            "pending_handshakes_per_ip_max = 0\n",
        ] {
            #expect(throws: NodeConfig.LoadError.self) { try load(Self.before + bad).p2p.validated() }
        }
        #expect(try load(Self.before).p2p.validated() == .defaults(listen: "127.0.0.1:1", peers: []))
    }
}
