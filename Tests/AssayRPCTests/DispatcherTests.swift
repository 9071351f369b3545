import AssayAPI
import AssayCodec
import AssayCrypto
@testable import AssayRPC
import AssayTypes
import Foundation
import Testing

@Suite struct DispatcherTests {
    let node = FakeNode()
    var dispatcher: RPCDispatcher { RPCDispatcher(node: node) }

    func call(_ body: String) async throws -> JSONValue {
        try JSONValue.parse(await dispatcher.handle(body: Array(body.utf8)))
    }

    func call(_ method: String, _ params: String) async throws -> JSONValue {
        try await call(#"{"jsonrpc":"2.0","id":7,"method":"\#(method)","params":\#(params)}"#)
    }

    @Test func malformedJSONIsAParseError() async throws {
        let response = try await call(#"{"jsonrpc":"2.0","#)
        #expect(response["error"]?["code"] == .integer(-32700))
        #expect(response["id"] == .null)
    }

    @Test func requestsOfTheWrongShapeAreInvalid() async throws {
        for body in [#"42"#, #"{"id":1,"method":"status"}"#, #"{"jsonrpc":"2.0","id":{},"method":"status"}"#,
                     #"{"jsonrpc":"2.0","id":1,"method":5}"#, #"[]"#]
        {
            #expect(try await call(body)["error"]?["code"] == .integer(-32600), "\(body)")
        }
    }

    @Test func anUnknownMethodEchoesTheIdWithItsName() async throws {
        let response = try await call(#"{"jsonrpc":"2.0","id":"abc","method":"nope"}"#)
        #expect(response["error"]?["code"] == .integer(-32601))
        #expect(response["error"]?["message"] == .string("method 'nope' not found"))
        #expect(response["id"] == .string("abc"))
    }

    @Test func wrongParameterTypesAreInvalidParams() async throws {
        let byHeight = try await call("block", #"{"height":"one"}"#)
        #expect(byHeight["error"]?["code"] == .integer(-32602))
        #expect(byHeight["error"]?["message"] == .string("invalid params: 'height' must be an unsigned integer"))
        #expect(try await call("tx", #"["xyz"]"#)["error"]?["code"] == .integer(-32602))
        #expect(try await call("account", #"{"address":"assay1nope"}"#)["error"]?["code"] == .integer(-32602))
        #expect(try await call("broadcast_tx_sync", #"{}"#)["error"]?["message"]
            == .string("invalid params: missing parameter 'tx'"))
    }

    @Test func blockResultsGiveEachTransactionsCodeAndEventsAndTheEndOfBlockEvents() async throws {
        for params in [#"{"height":1}"#, #"[]"#] {
            let result = try await call("block_results", params)["result"]
            #expect(result?["height"] == .integer(1) && result?["hash"] == .string(node.block.hash.description))
            let entry = result?["transactions"]?[0]
            #expect(entry?["hash"] == .string(node.committed.hash.description))
            #expect(entry?["code"] == .integer(0) && entry?["code_name"] == .string("ok"))
            #expect(entry?["events"]?[0]?["type"] == .string("transfer"))
            #expect(result?["end_block_events"]?[0]?["type"] == .string("unbonding_released"))
            #expect(result?["end_block_events"]?[0]?["attributes"]?[1]?["value"] == .string("5"))
        }
        let missing = try await call("block_results", #"{"height":2}"#)
        #expect(missing["error"]?["code"] == .integer(-32020))
        #expect(missing["error"]?["message"] == .string("block 2 not found"))
        #expect(try await call("block_results", #"{"height":-1}"#)["error"]?["code"] == .integer(-32602))
    }

    @Test func batchesAnswerEachRequestInOrderAndSkipNotifications() async throws {
        let response = try await call(#"""
            [{"jsonrpc":"2.0","id":1,"method":"status"},
             {"jsonrpc":"2.0","method":"status"},
             {"jsonrpc":"2.0","id":2,"method":"missing"}]
            """#)
        #expect(response[0]?["id"] == .integer(1) && response[0]?["result"]?["latest_height"] == .integer(1))
        #expect(response[1]?["id"] == .integer(2) && response[1]?["error"]?["code"] == .integer(-32601))
        #expect(response[2] == nil)
        #expect(await dispatcher.handle(body: Array(#"[{"jsonrpc":"2.0","method":"status"}]"#.utf8)) == nil)
    }

    @Test func submissionsMapEachRejectionToItsCode() async throws {
        let good = transfer(key(1), nonce: 3)
        let accepted = try await call("broadcast_tx_sync", #"["\#(Hex.encode(good.canonicalBytes))"]"#)
        #expect(accepted["result"]?["hash"] == .string(good.hash.description))
        var forged = transfer(key(2), nonce: 3)
        forged.signature = good.signature
        let cases: [(Transaction, Int64, String)] = [
            (forged, -32005, "bad_signature"), (transfer(key(2), nonce: 3, chainID: "other"), -32003, "wrong_chain"),
            (transfer(key(2), nonce: 1), -32007, "nonce_too_low"),
        ]
        for (tx, code, reason) in cases {
            let response = try await call("broadcast_tx_sync", #"{"tx":"\#(Hex.encode(tx.canonicalBytes))"}"#)
            #expect(response["error"]?["code"] == .integer(code))
            #expect(response["error"]?["data"]?["reason"] == .string(reason))
        }
        #expect(node.mempool.count == 1)
    }

    @Test func bulkSubmissionReportsEveryTransaction() async throws {
        let txs = [transfer(key(3), nonce: 3), transfer(key(3), nonce: 0), transfer(key(3), nonce: 4)]
        let hexes = txs.map { "\"\(Hex.encode($0.canonicalBytes))\"" }.joined(separator: ",")
        let result = try await call("broadcast_txs", #"{"txs":[\#(hexes)]}"#)["result"]
        #expect(result?["accepted"] == .integer(2) && result?["rejected"] == .integer(1))
        #expect(result?["results"]?[1]?["error"]?["code"] == .integer(-32007))
        #expect(result?["results"]?[2]?["hash"] == .string(txs[2].hash.description))
    }

    @Test func readMethodsReturnTheirRecords() async throws {
        let block = try await call("block", #"[1]"#)["result"]
        #expect(block?["hash"] == .string(node.block.hash.description))
        #expect(block?["transactions"]?[0]?["hash"] == .string(node.committed.hash.description))
        let tx = try await call("tx", #"{"hash":"\#(node.committed.hash)"}"#)["result"]
        #expect(tx?["events"]?[0]?["type"] == .string("transfer") && tx?["fee"] == .string("10"))
        #expect(try await call("tx", #"{"hash":"\#(Hash.zero)"}"#)["error"]?["code"] == .integer(-32020))
        let address = Address(publicKey: key(1).publicKey).description
        #expect(try await call("account", #"["\#(address)"]"#)["result"]?["balance"] == .string("5"))
    }

    @Test func invalidRequestObjectsWithoutAnIdGetAnErrorWithIdNull() async throws {
        for body in [#"{"method":"status"}"#, #"{"jsonrpc":"2.0","method":5}"#, #"{"jsonrpc":"1.0","method":"status"}"#] {
            let response = try await call(body)
            #expect(response["error"]?["code"] == .integer(-32600), "\(body)")
            #expect(response["id"] == .null, "\(body)")
        }
        let batch = try await call(#"[{"jsonrpc":"2.0","method":"status"},{"method":"status"}]"#)
        #expect(batch[0]?["error"]?["code"] == .integer(-32600) && batch[1] == nil, "the notification is not answered")
    }

    @Test func deeplyNestedJSONIsRefusedBeforeParsing() async throws {
        let depth = 100_000
        let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let response = try await call(#"{"jsonrpc":"2.0","id":1,"method":"status","params":\#(nested)}"#)
        #expect(response["error"]?["code"] == .integer(-32600))
        #expect(response["error"]?["message"] == .string("invalid request: JSON nested deeper than 64 levels"))
        // Brackets inside strings are text, not nesting.
        let bracketsInAString = String(repeating: "[", count: 100)
        let status = try await call(#"{"jsonrpc":"2.0","id":2,"method":"status","params":{"x":"\#(bracketsInAString)"}}"#)
        #expect(status["result"]?["latest_height"] == .integer(1))
    }

    @Test func theParserAgreesWithFoundationAndRefusesWhatIsNotJSON() throws {
        let documents = [
            #"{"a":[1,-2,3.5,1.5e-3,18446744073709551615,-9223372036854775808,true,false,null],"b":{}}"#,
            #"  ["x\"y\\z\/\n\t\u00e9\ud83d\ude00", "é", []]  "#, #""plain""#, "0", "-0.5E-2", #""\u00C9\u00e9""#,
        ]
        for text in documents {
            let expected = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(try JSONValue(parsing: Array(text.utf8), depthMax: 64) == expected, "\(text)")
        }
        let invalid = [
            "", "[", "[1,]", #"{"a"}"#, "01", "1.", "-", "tru", "[1] 2", #""\u12""#, #""\ud800""#, "\"a\nb\"", "{1:2}",
            "1e", #""\x""#, #""\u+041""#, #""\u-041""#, #""\u 041""#, #""\u0x41""#, #""\u004g""#,
        ]
        for text in invalid {
            #expect(throws: JSONParseError.self, "\(text)") { try JSONValue(parsing: Array(text.utf8), depthMax: 64) }
        }
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: [0x22, 0xFF, 0x22], depthMax: 64) }
        #expect(throws: JSONParseError.tooDeep) { try JSONValue(parsing: Array("[[1]]".utf8), depthMax: 1) }
        #expect(try JSONValue(parsing: Array(#"{"a":[{}]}"#.utf8), depthMax: 3) == .object(["a": .array([.object([:])])]))
    }

    @Test func manyShallowValuesParseInLinearTime() throws {
        // Foundation's decoder through Decodable took about 2 minutes here (debug build); this is about 1 MiB.
        let body = "[" + Array(repeating: "[[]]", count: 200_000).joined(separator: ",") + "]"
        guard case let .array(items) = try JSONValue(parsing: Array(body.utf8), depthMax: 64) else {
            Issue.record("not an array")
            return
        }
        #expect(items.count == 200_000)
    }

    @Test func aBatchIsCutOffWhenItsResponsesPassTheBudget() async throws {
        let one = try #require(await RPCDispatcher(node: node).handle(body: Array(#"{"jsonrpc":"2.0","id":0,"method":"block"}"#.utf8)))
        // Room for two block responses and not a third.
        let budgeted = RPCDispatcher(node: node, responseBytesMax: 2 * (one.count + 1) + 2)
        let requests = (1...5).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"block"}"# }
        let body = "[" + requests.joined(separator: ",") + #",{"jsonrpc":"2.0","method":"status"}]"#
        let response = try JSONValue.parse(await budgeted.handle(body: Array(body.utf8)))
        #expect(response[0]?["result"]?["hash"] == .string(node.block.hash.description))
        #expect(response[1]?["result"] != nil)
        for index in 2...4 {
            #expect(response[index]?["id"] == .integer(Int64(index + 1)))
            #expect(response[index]?["error"]?["code"] == .integer(-32023))
            #expect(response[index]?["error"]?["data"]?["reason"] == .string("response_too_large"))
        }
        #expect(response[5] == nil, "the notification is neither run nor answered")
    }

    @Test func aSingleResponseOverTheBudgetIsAnError() async throws {
        let budgeted = RPCDispatcher(node: node, responseBytesMax: 200)
        let response = try JSONValue.parse(
            await budgeted.handle(body: Array(#"{"jsonrpc":"2.0","id":9,"method":"block"}"#.utf8)))
        #expect(response["id"] == .integer(9))
        #expect(response["error"]?["code"] == .integer(-32023))
        #expect(response["error"]?["message"] == .string("response exceeds the budget of 200 bytes: ask for less"))
    }
}
