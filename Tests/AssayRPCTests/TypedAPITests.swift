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
        let expected = #"{"id":4,"jsonrpc":"2.0","result":{"catching_up":false,"chain_id":"assay-test","earliest_height":1,"latest_block_hash":"\#(node.block.hash)","latest_block_time_ms":1700000000000,"latest_height":1,"latest_state_root":"\#(Hash.zero)","mempool_count":0,"node_key":"\#(key(5).publicKey)"}}"#
        #expect(String(decoding: body, as: UTF8.self) == expected)
    }

    /// The dispatcher serves exactly the methods AssayAPI describes, each as described (name, summary, parameters).
    @Test func theDispatcherServesEveryDescribedMethodAsDeclared() async throws {
        #expect(dispatcher.descriptions == APIMethods.descriptions)
    }

    @Test func nodeMethodsRoundTrip() async throws {
        let (health, sameHealth) = try await call(ChainMethods.health, NoParams())
        #expect(health == EmptyView() && sameHealth)
        let (network, sameNetwork) = try await call(ChainMethods.netInfo, NoParams())
        #expect(network == NetInfoView(listenAddress: "127.0.0.1:26656", peers: []) && sameNetwork)
        let (validators, sameValidators) = try await call(ChainMethods.validators, HeightParams(height: 3))
        #expect(validators.height == 3 && validators.totalPower == "10" && sameValidators)
        #expect(validators.validators.map(\.publicKey) == [key(5).publicKey.description])
        let good = Hex.encode(transfer(key(2), nonce: 3).canonicalBytes)
        let stale = Hex.encode(transfer(key(2), nonce: 1).canonicalBytes)
        let (batch, sameBatch) = try await call(ChainMethods.broadcastTxs, TxsParams(txs: [good, stale]))
        #expect(batch.accepted == 1 && batch.rejected == 1 && sameBatch)
        #expect(batch.results[0].hash != nil && batch.results[1].error?.data?.reason == "nonce_too_low")
        let (pending, samePending) = try await call(ChainMethods.unconfirmedTxs, LimitParams(limit: 5))
        #expect(pending.count == 1 && pending.txs == [good] && samePending)
        let (document, _) = try await call(ChainMethods.discover, NoParams())
        #expect(document["openrpc"] == .string("1.2.6"))
    }

    @Test func marketAndBlobMethodsRoundTrip() async throws {
        let (offers, sameOffers) = try await call(MarketMethods.offers, OffersParams(kernel: "gemm-i8/1"))
        #expect(offers.offers.isEmpty && sameOffers)
        let provider = Address(publicKey: key(2).publicKey).description
        let (stake, sameStake) = try await call(MarketMethods.provider, AddressParams(address: provider))
        #expect(stake.bonded == "0" && stake.jobs == ["open": 0, "result_posted": 0, "settled": 0, "refunded": 0, "slashed": 0])
        #expect(sameStake)
        let (params, sameParams) = try await call(MarketMethods.params, NoParams())
        #expect(params["min_fee"] == Params().minFee && params.values["min_fee"] == .amount(Params().minFee) && sameParams)
        #expect(params.values["take_rate_bps"] == .number(Params().takeRateBps))
        let id = String(repeating: "ab", count: 32)
        await #expect(throws: RPCError.self) { try await call(BlobMethods.status, BlobStatusParams(id: id)) }
        let (upload, sameUpload) = try await call(BlobMethods.status, BlobStatusParams(id: id, length: 5))
        #expect(upload == BlobStatusView(id: id, length: 5, complete: false, heldChunks: [], chunkCount: 1) && sameUpload)
    }

    /// A settled job carries what the ledger moved at its end, in `job` and in `jobs`.
    @Test func jobViewsCarryTheSettlement() async throws {
        let id = node.settledJob.id.description
        let (job, sameJob) = try await call(MarketMethods.job, IDParams(id: id))
        #expect(job.state == "settled" && job.reason == "window_passed" && job.escrow == "0" && sameJob)
        #expect(job.settlement == JobView.SettlementView(height: 7, paid: "44", burned: "4", refund: "48", slashed: "0"))
        #expect(job.result?.workUnits == 24 && job.result?.windowEnd == 7)
        let (jobs, sameJobs) = try await call(MarketMethods.jobs, JobsParams(state: "settled"))
        #expect(jobs.jobs == [job] && sameJobs)
        let (none, _) = try await call(MarketMethods.jobs, JobsParams(after: id))
        #expect(none.jobs.isEmpty)
    }

    /// Fields that can be absent are written as null, never left out (docs/rpc.md).
    @Test func anOpenJobWritesNullsForWhatItLacksYet() throws {
        let settled = JobView(node.settledJob)
        let open = JobView(
            id: settled.id, client: settled.client, provider: settled.provider, offerId: settled.offerId,
            kernel: settled.kernel, modelHash: settled.modelHash, inputHash: settled.inputHash,
            inputBytes: settled.inputBytes, maxWorkUnits: settled.maxWorkUnits,
            pricePerWorkUnit: settled.pricePerWorkUnit, escrow: "96", deadline: settled.deadline,
            createdHeight: settled.createdHeight, state: "open", reason: nil, result: nil, settlement: nil)
        let sent = try JSONValue.parse(RPCDispatcher.encode(open))
        #expect(sent["reason"] == .null && sent["result"] == .null && sent["settlement"] == .null)
        #expect(try JSONDecoder().decode(JobView.self, from: Data(RPCDispatcher.encode(open))) == open)
    }
}
