import AssayRPC
import Foundation
import Testing

@testable import AssayNode

/// The `[rpc]` section of config.toml: the bounds `node init` writes, defaults for those an older file leaves out,
/// and refusal of bounds that are not positive.
@Suite struct NodeConfigRPCTests {
    func load(rpc: String) throws -> NodeConfig {
        var text = try NodeConfig.defaults(moniker: "n", p2pListen: "127.0.0.1:1", rpcListen: "127.0.0.1:2", peers: [])
            .tomlText()
        let range = try #require(text.range(of: "[rpc]"))
        let end = text[range.upperBound...].range(of: "\n[")?.lowerBound ?? text.endIndex
        text.replaceSubrange(range.lowerBound..<end, with: rpc)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("assay-config-\(UUID().uuidString).toml")
        defer { try? FileManager.default.removeItem(at: path) }
        try text.write(to: path, atomically: true, encoding: .utf8)
        return try NodeConfig.load(path: path.path)
    }

    @Test func initWritesTheServerDefaults() throws {
        let written = NodeConfig.defaults(moniker: "n", p2pListen: "127.0.0.1:1", rpcListen: "127.0.0.1:2", peers: []).rpc
        let server = try written.serverConfig()
        let defaults = RPCServerConfig()
        #expect(server.bodyBytesMax == defaults.bodyBytesMax && server.responseBytesMax == defaults.responseBytesMax)
        #expect(server.idleTimeoutMs == defaults.idleTimeoutMs && server.requestTimeoutMs == defaults.requestTimeoutMs)
        #expect(written.webSocketQueueBytesMax == SubscriptionHub.queueBytesMaxDefault)
        #expect((server.host, server.port) == ("127.0.0.1", 2))
    }

    @Test func anOlderSectionGetsTheDefaultsForWhatItLeavesOut() throws {
        let rpc = try load(rpc: "[rpc]\nlisten = \"127.0.0.1:9\"\nbody_bytes_max = 1000\n").rpc
        #expect(rpc.bodyBytesMax == 1000)
        #expect(rpc.responseBytesMax == RPCServerConfig().responseBytesMax)
        #expect(rpc.webSocketQueueBytesMax == SubscriptionHub.queueBytesMaxDefault)
        let tuned = try load(rpc: "[rpc]\nlisten = \"127.0.0.1:9\"\nresponse_bytes_max = 5\nidle_timeout_ms = 7\n").rpc
        #expect(try tuned.serverConfig().responseBytesMax == 5 && tuned.idleTimeoutMs == 7)
    }

    @Test func boundsThatAreNotPositiveAreRefused() throws {
        let zero = try load(rpc: "[rpc]\nlisten = \"127.0.0.1:9\"\nrequest_timeout_ms = 0\n").rpc
        #expect(throws: NodeConfig.LoadError.self) { try zero.serverConfig() }
        #expect(throws: (any Error).self) { try load(rpc: "[rpc]\nlisten = \"127.0.0.1:9\"\nunknown_key = 1\n") }
    }
}
