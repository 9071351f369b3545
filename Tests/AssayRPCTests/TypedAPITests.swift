import AssayAPI
import AssayCodec
import AssayCrypto
@testable import AssayRPC
import AssayTypes
import Foundation
import Testing

/// The methods described in AssayAPI, called as a client calls them (`Method.request`, `Method.result`) through the
/// real dispatcher: the typed results hold what the node sent, and encode back to the very bytes it sent.
@Suite struct TypedAPITests {
    let node = FakeNode()
    var dispatcher: RPCDispatcher { RPCDispatcher(node: node) }

    /// The typed result, and whether re-encoding it as the server does gives the response's `result` bytes.
    func call<Params, Result>(_ method: Method<Params, Result>, _ params: Params) async throws -> (Result, Bool) {
        let body = try #require(await dispatcher.handle(body: Array(try method.request(params))))
        let result = try method.result(from: Data(body))
        let sent = try JSONValue.parse(body)["result"]
        let again = try JSONValue.parse(RPCDispatcher.encode(result))
        return (result, sent == again)
    }

    @Test func statusAndAccountDecodeToWhatTheNodeSent() async throws {
        let (status, sameStatus) = try await call(ChainMethods.status, NoParams())
        #expect(status.chainId == chain && status.latestHeight == 1 && status.latestBlockHash == node.block.hash.description)
        #expect(sameStatus)
        let address = Address(publicKey: key(3).publicKey).description
        let (account, sameAccount) = try await call(ChainMethods.account, AddressParams(address: address))
        #expect(account == AccountView(address: address, balance: "5", nonce: 3) && sameAccount)
    }

    @Test func blocksTransactionsAndResultsRoundTrip() async throws {
        let (block, sameBlock) = try await call(ChainMethods.block, BlockParams(height: 1))
        #expect(block.hash == node.block.hash.description && block.header.height == 1 && sameBlock)
        #expect(block.transactions.map(\.hash) == [node.committed.hash.description])
        let (tx, sameTx) = try await call(ChainMethods.tx, HashParams(hash: node.committed.hash.description))
        #expect(tx.kind == "transfer" && tx.code == 0 && tx.codeName == "ok" && sameTx)
        #expect(tx.body == .object(["recipient": .string(Address(publicKey: key(9).publicKey).description), "amount": .string("7")]))
        #expect(tx.events.first?["amount"] == "7")
        let (results, sameResults) = try await call(ChainMethods.blockResults, HeightParams())
        #expect(results.transactions.map(\.hash) == [tx.hash] && results.endBlockEvents.map(\.type) == ["unbonding_released"])
        #expect(sameResults)
    }

    @Test func submissionsAndRefusalsAreTyped() async throws {
        let good = transfer(key(1), nonce: 3)
        let (submitted, same) = try await call(ChainMethods.broadcastTxSync, TxParams(tx: Hex.encode(good.canonicalBytes)))
        #expect(submitted == SubmittedView(hash: good.hash.description) && same)
        let stale = Hex.encode(transfer(key(1), nonce: 1).canonicalBytes)
        do {
            _ = try await call(ChainMethods.broadcastTxSync, TxParams(tx: stale))
            Issue.record("a used nonce was accepted")
        } catch let error as RPCError {
            #expect(error.code == -32007 && error.data?.reason == "nonce_too_low")
            #expect(error.message.contains("nonce 1 is already used"))
        }
        await #expect(throws: RPCError.self) { try await call(ChainMethods.block, BlockParams(height: 9)) }
    }

    /// The wire format stays what it was before the types moved to AssayAPI.
    @Test func statusBytesAreUnchanged() async throws {
        let body = try #require(await dispatcher.handle(body: Array(try ChainMethods.status.request(NoParams(), id: 4))))
        let expected = #"{"id":4,"jsonrpc":"2.0","result":{"catching_up":false,"chain_id":"assay-test","latest_block_hash":"\#(node.block.hash)","latest_block_time_ms":1700000000000,"latest_height":1,"latest_state_root":"\#(Hash.zero)","mempool_count":0,"node_key":"\#(key(5).publicKey)"}}"#
        #expect(String(decoding: body, as: UTF8.self) == expected)
    }

    @Test func theOpenRPCDocumentDescribesTheTypedMethodsAsDeclared() async throws {
        let served = dispatcher.descriptions
        let typed = [
            ChainMethods.status.description, ChainMethods.block.description, ChainMethods.tx.description,
            ChainMethods.blockResults.description, ChainMethods.account.description,
            ChainMethods.broadcastTxSync.description, ChainMethods.broadcastTxCommit.description,
        ]
        for description in typed {
            let entry = served.first { $0.name == description.name }
            #expect(entry?.summary == description.summary)
            #expect(entry?.parameters.map(\.name) == description.parameters.map(\.name))
        }
    }
}
