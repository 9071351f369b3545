import AssayTracing
import Foundation
import Testing

@testable import AssayNode

/// The `[tracing]` section of config.toml: off by default, written by `node init`, validated.
@Suite struct NodeConfigTracingTests {
    func load(_ tracing: String) throws -> NodeConfig {
        var text = try NodeConfig.defaults(moniker: "n0", p2pListen: "127.0.0.1:1", rpcListen: "127.0.0.1:2", peers: [])
            .tomlText()
        let range = try #require(text.range(of: "[tracing]"))
        let end = text[range.upperBound...].range(of: "\n[")?.lowerBound ?? text.endIndex
        text.replaceSubrange(range.lowerBound..<end, with: tracing)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("assay-config-\(UUID().uuidString).toml")
        defer { try? FileManager.default.removeItem(at: path) }
        try text.write(to: path, atomically: true, encoding: .utf8)
        return try NodeConfig.load(path: path.path)
    }

    @Test func offUnlessEnabledAndEnableAloneSendsToTheLocalCollector() throws {
        let written = try load("[tracing]\nenable = false\notlp_endpoint = \"http://127.0.0.1:4318\"\n")
        #expect(try written.tracing?.settings(moniker: "n0") == nil)
        #expect(try load("").tracing == nil, "a config from before tracing has none: off")
        let on = try #require(try load("[tracing]\nenable = true\n").tracing?.settings(moniker: "n0"))
        #expect(on == TracingSettings(
            endpoint: "http://127.0.0.1:4318", otlpProtocol: "http/protobuf", serviceName: "assay-node", instance: "n0"))
        let json = try load("[tracing]\nenable = true\notlp_endpoint = \"http://127.0.0.2:4318\"\notlp_protocol = \"http/json\"\n")
        #expect(try json.tracing?.settings(moniker: "n0")?.otlpProtocol == "http/json")
    }

    @Test func aBadProtocolOrEndpointIsRefused() throws {
        let grpc = try load("[tracing]\nenable = true\notlp_protocol = \"grpc\"\n")
        #expect(throws: NodeConfig.LoadError.self) { try grpc.tracing?.settings(moniker: "n0") }
        let endpoint = try load("[tracing]\nenable = false\notlp_endpoint = \"127.0.0.1:4318\"\n")
        #expect(throws: NodeConfig.LoadError.self) { try endpoint.tracing?.settings(moniker: "n0") }
    }
}
