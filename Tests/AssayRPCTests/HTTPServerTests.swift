import AssayRPC
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct HTTPServerTests {
    @Test func servesJSONRPCHealthAndMetricsAndRefusesAnOversizeBody() async throws {
        let server = RPCServer(
            config: RPCServerConfig(port: 0), node: FakeNode(), metrics: { "assay_height 1\n" })
        try await server.application().test(.live) { client in
            try await client.execute(
                uri: "/", method: .post, body: ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"status"}"#)
            ) { response in
                #expect(response.status == .ok)
                let json = try JSONValue.parse(Array(buffer: response.body))
                #expect(json["result"]?["chain_id"] == .string(chain))
            }
            let huge = ByteBuffer(repeating: UInt8(ascii: " "), count: 10 << 20)
            try await client.execute(uri: "/", method: .post, body: huge) { response in
                #expect(response.status == .contentTooLarge)
                let json = try JSONValue.parse(Array(buffer: response.body))
                #expect(json["error"]?["code"] == .integer(-32600))
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(String(buffer: response.body) == "assay_height 1\n")
            }
        }
    }
}
