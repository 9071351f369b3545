import AssayAPI
import AssayRPC
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The explorer's files as the RPC port serves them (docs/explorer.md), and the script's agreement with the
/// dispatcher: every method it calls is one the node serves.
@Suite struct ExplorerTests {
    static let policy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static func source(_ name: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("Sources/AssayRPC/Explorer/\(name)"), encoding: .utf8)
    }

    @Test func servesTheThreeFilesWithTheirTypesAndAPolicyAllowingNoRemoteSource() async throws {
        let server = RPCServer(config: RPCServerConfig(port: 0), node: FakeNode())
        try await server.application().test(.live) { client in
            for (uri, name, type) in [
                ("/", "index.html", "text/html; charset=utf-8"),
                ("/explorer/app.js", "app.js", "text/javascript; charset=utf-8"),
                ("/explorer/style.css", "style.css", "text/css; charset=utf-8"),
            ] {
                let file = try Self.source(name)
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok, "\(uri)")
                    #expect(response.headers[.contentType] == type)
                    #expect(response.headers[.contentSecurityPolicy] == Self.policy)
                    #expect(response.headers[.xContentTypeOptions] == "nosniff")
                    #expect(String(buffer: response.body) == file, "\(uri) is the file in the binary")
                }
            }
        }
    }

    @Test func noOtherPathReachesAFile() async throws {
        let server = RPCServer(config: RPCServerConfig(port: 0), node: FakeNode())
        try await server.application().test(.live) { client in
            for uri in [
                "/explorer/..%2F..%2FPackage.swift", "/explorer/%2e%2e%2fREADME.md", "/explorer/index.htm",
                "/explorer/APP.JS", "/explorer/", "/index.html", "/Package.swift",
            ] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .notFound, "\(uri)")
                    #expect(!String(buffer: response.body).contains("swift-tools-version"), "\(uri)")
                }
            }
        }
    }

    /// The page loads nothing from elsewhere: every src and href is the node's own path, a hash route or data:.
    @Test func thePageReferencesOnlyTheNodeItself() throws {
        let page = try Self.source("index.html")
        let references = page.matches(of: /(?:src|href)="([^"]*)"/).map { String($0.output.1) }
        #expect(!references.isEmpty)
        for reference in references {
            #expect(
                reference.hasPrefix("/explorer/") || reference.hasPrefix("#/") || reference == "data:,",
                "\(reference) is not the node's own")
        }
        // The SVG namespace is a name, never fetched; any other URL in the script would be a remote source.
        let script = try Self.source("app.js").replacingOccurrences(of: #""http://www.w3.org/2000/svg""#, with: "")
        #expect(!script.contains("http://") && !script.contains("https://") && !script.contains("innerHTML"))
    }

    /// Each method name the script sends (`rpc("name"`, or `call("name"` for an entry of a batch) is served by the
    /// dispatcher.
    @Test func theScriptCallsOnlyServedMethods() throws {
        let script = try Self.source("app.js")
        let called = Set(script.matches(of: /(?:rpc|call)\("([a-z_.]+)"/).map { String($0.output.1) })
        let served = Set(RPCDispatcher(node: FakeNode()).descriptions.map(\.name))
        #expect(called.isSuperset(of: ["status", "block", "block_results", "tx", "market", "jobs", "provider"]))
        #expect(called.subtracting(served).sorted() == [], "called by app.js but not served")
    }
}
