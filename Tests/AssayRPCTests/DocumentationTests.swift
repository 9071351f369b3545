import AssayAPI
import AssayLedger
import AssayRPC
import Foundation
import Testing

/// docs/rpc.md documents every method the node serves, every result code and every event, and nothing else; the
/// OpenRPC document agrees.
@Suite struct DocumentationTests {
    static func rpcDocument() throws -> String {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/rpc.md")
        return try String(contentsOf: docs, encoding: .utf8)
    }

    /// The names of the `### \`name\`` headings of docs/rpc.md.
    static func documentedMethods() throws -> [String] {
        try rpcDocument().split(separator: "\n").compactMap { line in
            guard line.hasPrefix("### `") else { return nil }
            let rest = line.dropFirst(5)
            return rest.firstIndex(of: "`").map { String(rest[..<$0]) }
        }
    }

    @Test func docsListExactlyTheServedMethods() async throws {
        let documented = try Self.documentedMethods()
        let served = RPCDispatcher(node: FakeNode()).descriptions.map(\.name)
        #expect(Set(documented).count == documented.count, "a method is documented twice")
        #expect(Set(documented).subtracting(served).sorted() == [], "documented but not served")
        #expect(Set(served).subtracting(documented).sorted() == [], "served but not documented in docs/rpc.md")
    }

    @Test func discoverListsEveryServedMethod() async throws {
        let dispatcher = RPCDispatcher(node: FakeNode())
        let response = try JSONValue.parse(
            await dispatcher.handle(body: Array(#"{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}"#.utf8)))
        #expect(response["result"]?["openrpc"] == .string("1.2.6"))
        guard case let .array(methods)? = response["result"]?["methods"] else {
            Issue.record("no methods in \(response)")
            return
        }
        let names = methods.compactMap { method -> String? in
            if case let .string(name)? = method["name"] { name } else { nil }
        }
        #expect(names == dispatcher.descriptions.map(\.name))
        #expect(names.contains("rpc.discover") && names.contains("jobs"))
        let jobs = methods.first { $0["name"] == .string("jobs") }
        #expect(jobs?["params"]?[3]?["name"] == .string("limit"))
        #expect(jobs?["params"]?[3]?["required"] == .bool(false))
    }

    /// Each method's heading in docs/rpc.md names its parameters, as AssayAPI describes them and the OpenRPC document
    /// lists them; a method without parameters names none.
    @Test func docsAndOpenRPCNameEveryMethodsParameters() async throws {
        let headings = try Self.rpcDocument().split(separator: "\n").filter { $0.hasPrefix("### `") }.map(String.init)
        guard case let .array(discovered)? = try await Self.discovered()["methods"] else {
            Issue.record("rpc.discover has no methods")
            return
        }
        for method in APIMethods.descriptions {
            let names = method.parameters.map(\.name)
            let heading = try #require(headings.first { $0.hasPrefix("### `\(method.name)`") }, "\(method.name)")
            #expect(Set(Self.quoted(heading).dropFirst()).isSuperset(of: names), "\(heading) lacks one of \(names)")
            #expect(names.isEmpty != heading.contains(" — params "), "\(heading): parameters \(names)")
            let listed = discovered.first { $0["name"] == .string(method.name) }?["params"]
            let listedNames: [String] =
                if case let .array(params)? = listed {
                    params.compactMap { if case let .string(name)? = $0["name"] { name } else { nil } }
                } else { [] }
            #expect(listedNames == names, "rpc.discover's parameters of \(method.name)")
        }
    }

    /// The table rows of the docs/rpc.md section that starts with `heading`, up to the next heading, as their cells.
    static func tableRows(under heading: String) throws -> [[String]] {
        let lines = try rpcDocument().split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(of: Substring(heading)) else { return [] }
        let section = lines[(start + 1)...].prefix { !$0.hasPrefix("#") }
        return section.filter { $0.hasPrefix("| ") && !$0.hasPrefix("|---") }.dropFirst().map { row in
            row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        }
    }

    /// The names inside backticks in a table cell, in order.
    static func quoted(_ cell: String) -> [String] {
        cell.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }
            .map { String($0.element) }
    }

    static func discovered() async throws -> JSONValue {
        let body = Array(#"{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}"#.utf8)
        return try JSONValue.parse(await RPCDispatcher(node: FakeNode()).handle(body: body))["result"] ?? .null
    }

    @Test func docsOpenRPCAndTheLedgerListTheSameResultCodes() async throws {
        let documented = try Self.tableRows(under: "### Result codes").map { row in
            "\(row[0]) \(Self.quoted(row[1]).first ?? "?")"
        }
        let ledger = ResultCode.allCases.map { "\($0.rawValue) \($0)" }
        #expect(documented == ledger, "docs/rpc.md, Result codes, differs from the ledger's ResultCode")
        guard case let .array(codes)? = try await Self.discovered()["x-result-codes"] else {
            Issue.record("rpc.discover has no x-result-codes")
            return
        }
        let discovered = codes.map { code -> String in
            guard case let .integer(value)? = code["code"], case let .string(name)? = code["name"] else { return "?" }
            return "\(value) \(name)"
        }
        #expect(discovered == ledger, "x-result-codes differs from the ledger's ResultCode")
    }

    @Test func docsOpenRPCAndTheLedgerListTheSameEventsAndAttributes() async throws {
        let documented = try Self.tableRows(under: "### Events").map { row in
            "\(Self.quoted(row[0]).joined()): \(Self.quoted(row[1]).joined(separator: ","))"
        }
        let ledger = EventType.allCases.map { "\($0.rawValue): \($0.attributeKeys.joined(separator: ","))" }
        #expect(documented == ledger, "docs/rpc.md, Events, differs from the ledger's EventType")
        guard case let .array(events)? = try await Self.discovered()["x-events"] else {
            Issue.record("rpc.discover has no x-events")
            return
        }
        let discovered = events.map { event -> String in
            guard case let .string(type)? = event["type"], case let .array(keys)? = event["attributes"] else { return "?" }
            return "\(type): " + keys.map { if case let .string(key) = $0 { key } else { "?" } }.joined(separator: ",")
        }
        #expect(discovered == ledger, "x-events differs from the ledger's EventType")
    }

    @Test func limitsStateTheDefaultsTheServerUses() throws {
        let text = try Self.rpcDocument()
        let server = RPCServerConfig()
        func mebibytes(_ bytes: Int) -> String { "\(bytes >> 20) MiB" }
        let rows = [
            "| request body | \(mebibytes(server.bodyBytesMax)) | `body_bytes_max` |",
            "| request head (request line and headers) | \(RPCServerConfig.headerBytesMax >> 10) KiB |",
            "| JSON nesting (arrays and objects) | \(RPCDispatcher.jsonDepthMax) levels |",
            "| batch | \(RPCDispatcher.batchRequestsMax) requests |",
            "| `broadcast_txs` | \(ChainMethods.broadcastBatchMax) transactions |",
            "| response body | \(mebibytes(server.responseBytesMax)) | `response_bytes_max` |",
            "| idle connection | \(server.idleTimeoutMs / 1000) s | `idle_timeout_ms` |",
            "| request body arrival | \(server.requestTimeoutMs / 1000) s after the head | `request_timeout_ms` |",
            "| WebSocket queue out, per connection | \(SubscriptionHub.queueMessagesMax) messages and "
                + "\(mebibytes(SubscriptionHub.queueBytesMaxDefault)) | `websocket_queue_bytes_max` |",
            "| WebSocket subscriptions | \(SubscriptionHub.subscriptionsPerConnectionMax) per connection |",
        ]
        for row in rows { #expect(text.contains(row), "docs/rpc.md, Limits, lacks: \(row)") }
    }
}
