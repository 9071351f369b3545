import AssayAPI
import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayLedger
import AssayRPC
import AssayTypes
import Foundation
import Testing

@testable import AssayNode

/// The market and state methods through the real dispatcher, over a node whose RocksDB holds committed blocks.
@Suite struct MarketRPCTests {
    let node: NodeFixture
    let dispatcher: RPCDispatcher

    init() throws {
        node = try NodeFixture()
        dispatcher = RPCDispatcher(node: node.service)
    }

    func call(_ method: String, _ params: String = "{}") async throws -> JSONValue {
        let body = #"{"jsonrpc":"2.0","id":1,"method":"\#(method)","params":\#(params)}"#
        let response = try JSONDecoder().decode(JSONValue.self, from: Data(await dispatcher.handle(body: Array(body.utf8)) ?? []))
        guard case let .object(fields) = response else { return .null }
        return fields["result"] ?? fields["error"].map { .object(["error": $0]) } ?? .null
    }

    @Test func offersJobsProviderAndTheResultOutputReflectCommittedBlocks() async throws {
        let offer = try node.openMarket()
        let first = try node.job(offer: offer), second = try node.job(offer: offer, offset: 1)
        try node.commit([first, second])
        let result = try node.sign(node.provider, .result(try node.result(job: first.hash)))
        try node.commit([result])
        let provider = address(node.provider).description, client = address(node.client).description

        let offers = try await call("offers", #"{"kernel":"gemm-i8/1"}"#)
        #expect(offers["offers"]?[0]?["id"] == .string(offer.description))
        #expect(offers["offers"]?[0]?["open_jobs"] == .integer(2))
        #expect(offers["offers"]?[0]?["price_per_work_unit"] == .string("2"), "amounts are decimal strings")
        #expect(try await call("offers", #"{"kernel":"mlp-q8/1"}"#)["offers"] == .array([]))

        let posted = try await call("job", #"{"id":"\#(first.hash)"}"#)
        #expect(posted["state"] == .string("result_posted"))
        #expect(posted["reason"] == .null)
        #expect(posted["client"] == .string(client))
        #expect(posted["escrow"] == .string("\(GemmJob.honest.workUnits * 2 * 2)"))
        #expect(posted["result"]?["result_tx"] == .string(result.hash.description))
        #expect(posted["result"]?["work_units"] == .integer(Int64(GemmJob.honest.workUnits)))
        #expect(posted["input_hash"] == .string(GemmJob.inputBlob.id.hex))
        #expect(posted["input_bytes"] == .integer(Int64(GemmJob.input.count)))
        let open = try await call("job", #"{"id":"\#(second.hash)"}"#)
        #expect(open["state"] == .string("open") && open["result"] == .null)

        let resultTx = try await call("tx", #"{"hash":"\#(result.hash)"}"#)
        #expect(resultTx["kind"] == .string("result"))
        #expect(resultTx["body"]?["output_hash"] == .string(BlobRef(of: GemmJob.output()).id.hex))

        let missing = try await call("job", #"{"id":"\#(Hash.zero)"}"#)
        #expect(missing["error"]?["code"] == .integer(-32020))
        #expect(missing["error"]?["message"] == .string("job \(Hash.zero) not found"))

        let byClient = try await call("jobs", #"{"client":"\#(client)"}"#)
        #expect(Set(ids(byClient)) == [first.hash.description, second.hash.description])
        let openByProvider = try await call("jobs", #"{"provider":"\#(provider)","state":"open"}"#)
        #expect(ids(openByProvider) == [second.hash.description])
        #expect(ids(try await call("jobs", #"{"state":"result_posted"}"#)) == [first.hash.description])
        #expect(ids(try await call("jobs", #"{"limit":1}"#)).count == 1)
        #expect(ids(try await call("jobs", #"{"client":"\#(provider)"}"#)) == [])
        #expect(try await call("jobs", #"{"state":"done"}"#)["error"]?["code"] == .integer(-32602))
        #expect(try await call("jobs", #"{"limit":1001}"#)["error"]?["code"] == .integer(-32602))

        let view = try await call("provider", #"{"address":"\#(provider)"}"#)
        #expect(view["bonded"] == .string("5000"))
        #expect(view["jobs"]?["open"] == .integer(1) && view["jobs"]?["result_posted"] == .integer(1))
        #expect(view["jobs"]?["settled"] == .integer(0))
        #expect(view["offers"]?[0]?["id"] == .string(offer.description))

        // The window closes: the job settles and the view follows.
        for _ in 0..<3 { try node.commit([]) }
        let settled = try await call("job", #"{"id":"\#(first.hash)"}"#)
        #expect(settled["state"] == .string("settled") && settled["reason"] == .string("window_passed"))
        #expect(settled["escrow"] == .string("0"))
        #expect(settled["result"]?["result_tx"] == .string(result.hash.description), "the index keeps the result")
    }

    /// A job's money as block_results shows it: escrowed at creation, then paid and burned at the settlement that
    /// the end of the window's block performs, with the failed transaction's code named beside it.
    @Test func blockResultsShowEachTransactionAndTheSettlementAtTheEndOfTheBlock() async throws {
        let offer = try node.openMarket()
        let job = try node.job(offer: offer)
        let overdraft = try node.sign(node.client, .transfer(Transfer(recipient: address(node.provider), amount: 1 << 40)), offset: 1)
        let created = try node.commit([job, overdraft])
        let answer = try await call("block_results", #"{"height":\#(created.height)}"#)
        #expect(answer["hash"] == .string(created.hash.description))
        #expect(answer["transactions"]?[0]?["hash"] == .string(job.hash.description))
        #expect(answer["transactions"]?[0]?["events"]?[0]?["type"] == .string("job_created"))
        #expect(answer["transactions"]?[1]?["code"] == .integer(Int64(ResultCode.insufficientBalance.rawValue)))
        #expect(answer["transactions"]?[1]?["code_name"] == .string("insufficientBalance"))
        #expect(answer["transactions"]?[1]?["events"] == .array([]))

        try node.commit([try node.sign(node.provider, .result(try node.result(job: job.hash)))])
        var ended: JSONValue?
        for _ in 0..<4 where ended == nil {
            try node.commit([])
            let latest = try await call("block_results")
            #expect(latest["height"] == .integer(Int64(node.height)))
            guard case let .array(events)? = latest["end_block_events"] else { throw Failure("no end_block_events") }
            ended = events.first { $0["type"] == .string("job_ended") }
        }
        let event = try JSONDecoder().decode(EventView.self, from: JSONEncoder().encode(try #require(ended)))
        let attributes = Dictionary(uniqueKeysWithValues: event.attributes.map { ($0.key, $0.value) })
        #expect(attributes["job"] == job.hash.description && attributes["outcome"] == "settled")
        let paid = UInt64(attributes["paid"] ?? "") ?? 0, burned = UInt64(attributes["burned"] ?? "") ?? 0
        #expect(paid + burned == GemmJob.honest.workUnits * 2, "price 2 x the work units used")
        #expect(attributes["refund"] == "\(GemmJob.honest.workUnits * 2)", "half the escrow comes back")
        #expect(try await call("block_results", #"{"height":999}"#)["error"]?["code"] == .integer(-32020))
    }

    @Test func queryProvesPresenceAndAbsenceAgainstTheCommittedRoot() async throws {
        try node.commit([try node.sign(node.client, .transfer(Transfer(recipient: address(node.provider), amount: 5)))])
        let key = StateKey.account(address(node.client))
        let answer = try await call("query", #"{"key":"\#(Hex.encode(key))","prove":true}"#)
        #expect(answer["height"] == .integer(Int64(node.height)))
        let root = try hash(answer["state_root"])
        #expect(root == node.application.snapshot.withLock { $0.stateRoot })
        let value = try bytes(answer["value"])
        #expect(try Account(canonicalBytes: value) == Account(balance: 100_000 - 5 - 1, nonce: 1))
        let proof = try StateProof(canonicalBytes: try bytes(answer["proof"]))
        #expect(StateProof.verify(proof, root: root, key: key, value: value))
        var forged = value
        forged[0] ^= 1
        #expect(!StateProof.verify(proof, root: root, key: key, value: forged))

        let absentKey = StateKey.account(address(testKey(77)))
        let absent = try await call("query", #"{"key":"\#(Hex.encode(absentKey))","prove":true}"#)
        #expect(absent["value"] == .null)
        let absence = try StateProof(canonicalBytes: try bytes(absent["proof"]))
        #expect(StateProof.verify(absence, root: root, key: absentKey, value: nil))

        let unproven = try await call("query", #"{"key":"\#(Hex.encode(key))"}"#)
        #expect(unproven["proof"] == .null && unproven["value"] == answer["value"])
        #expect(try await call("query", #"{"key":"zz"}"#)["error"]?["code"] == .integer(-32602))
    }

    @Test func supplyParamsAndUnconfirmedTransactions() async throws {
        let offer = try node.openMarket()
        try node.commit([try node.job(offer: offer)])
        let supply = try await call("supply")
        // Four funded accounts of 100,000 (the validator, provider, client and the node's own account) and 10,000 bonded.
        #expect(supply["genesis_supply"] == .string("410000"))
        #expect(supply["total"] == supply["genesis_supply"])
        #expect(supply["bonded"] == .string("15000"))
        #expect(supply["escrowed"] == .string("\(GemmJob.honest.workUnits * 2 * 2)"))

        let params = try await call("params")
        #expect(params["min_fee"] == .string("1") && params["challenge_window_blocks"] == .integer(3))
        guard case let .object(fields) = params else { throw Failure("params is not an object") }
        #expect(fields.count == Params.specs.count)

        let pending = try node.sign(node.client, .transfer(Transfer(recipient: address(node.provider), amount: 1)))
        _ = await node.service.submit([pending.canonicalBytes])
        let unconfirmed = try await call("unconfirmed_txs", #"{"limit":10}"#)
        #expect(unconfirmed["count"] == .integer(1))
        #expect(unconfirmed["total_bytes"] == .integer(Int64(pending.canonicalBytes.count)))
        #expect(unconfirmed["txs"] == .array([.string(Hex.encode(pending.canonicalBytes))]))
    }

    /// The explorer's reads: market totals as jobs move from open to settled, and job pages that follow the cursor.
    @Test func marketTotalsAndJobPagesFollowTheCursor() async throws {
        let offer = try node.openMarket()
        let jobs = try (0..<3).map { try node.job(offer: offer, offset: UInt64($0)) }
        try node.commit(jobs)
        let escrow = GemmJob.honest.workUnits * 2 * 2
        let opened = try await call("market")
        #expect(opened["jobs"]?["open"] == .integer(3) && opened["jobs"]?["settled"] == .integer(0))
        #expect(opened["escrowed"] == .string("\(3 * escrow)") && opened["settled_volume"] == .string("0"))
        #expect(opened["burned"] == (try await call("supply"))["burned"])

        try node.commit([try node.sign(node.provider, .result(try node.result(job: jobs[0].hash)))])
        for _ in 0..<3 { try node.commit([]) }
        let settled = try await call("market")
        #expect(settled["jobs"]?["settled"] == .integer(1) && settled["jobs"]?["open"] == .integer(2))
        #expect(settled["jobs"]?["slashed"] == .integer(0) && settled["jobs"]?["result_posted"] == .integer(0))
        #expect(settled["settled_volume"] == .string("\(GemmJob.honest.workUnits * 2)"), "price 2 x work units used")
        #expect(settled["escrowed"] == .string("\(2 * escrow)"))

        let client = address(node.client).description
        let all = jobs.map(\.hash.description).sorted()
        for filter in [#""limit":2"#, #""client":"\#(client)","limit":2"#] {
            let first = ids(try await call("jobs", "{\(filter)}"))
            #expect(first == Array(all.prefix(2)), "first page with \(filter)")
            let next = ids(try await call("jobs", #"{\#(filter),"after":"\#(first[1])"}"#))
            #expect(next == [all[2]], "the page after \(first[1]) with \(filter)")
            #expect(ids(try await call("jobs", #"{\#(filter),"after":"\#(all[2])"}"#)) == [])
        }
        #expect(try await call("jobs", #"{"after":"xyz"}"#)["error"]?["code"] == .integer(-32602))
    }

    /// The typed result of a method described in AssayAPI, and whether encoding it as the server does gives back
    /// the bytes the node sent.
    func typed<Params, Result>(_ method: Method<Params, Result>, _ params: Params) async throws -> (Result, Bool) {
        let body = try #require(await dispatcher.handle(body: Array(try method.request(params))))
        let result = try method.result(from: Data(body))
        let sent = try JSONDecoder().decode(JSONValue.self, from: Data(body))["result"]
        let again = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(result))
        return (result, sent == again)
    }

    /// Every market and state view decodes from what a real node sends; a settled job's view carries exactly what
    /// the `job_ended` event of the block that ended it says moved.
    @Test func typedViewsRoundTripAndTheJobViewCarriesItsSettlement() async throws {
        let offer = try node.openMarket()
        let job = try node.job(offer: offer)
        try node.commit([job])
        try node.commit([try node.sign(node.provider, .result(try node.result(job: job.hash)))])
        for _ in 0..<3 { try node.commit([]) }
        let provider = address(node.provider).description

        let (view, sameView) = try await typed(MarketMethods.job, IDParams(id: job.hash.description))
        let settlement = try #require(view.settlement)
        #expect(view.state == "settled" && sameView)
        let (results, _) = try await typed(ChainMethods.blockResults, HeightParams(height: settlement.height))
        let ended = try #require(results.endBlockEvents.first { $0.type == "job_ended" && $0["job"] == view.id })
        #expect(settlement.paid == ended["paid"] && settlement.burned == ended["burned"])
        #expect(settlement.refund == ended["refund"] && settlement.slashed == "0")
        let (list, sameList) = try await typed(MarketMethods.jobs, JobsParams(provider: provider, state: "settled"))
        #expect(list.jobs == [view] && sameList)

        let (offers, sameOffers) = try await typed(MarketMethods.offers, OffersParams(provider: provider))
        #expect(offers.offers.map(\.id) == [offer.description] && sameOffers)
        let (stake, sameStake) = try await typed(MarketMethods.provider, AddressParams(address: provider))
        #expect(stake.jobs["settled"] == 1 && stake.offers == offers.offers && sameStake)
        let (market, sameMarket) = try await typed(MarketMethods.market, NoParams())
        let paidFor = (UInt64(settlement.paid) ?? 0) + (UInt64(settlement.burned) ?? 0)
        #expect(market.settledVolume == String(paidFor) && sameMarket)
        let (supply, sameSupply) = try await typed(MarketMethods.supply, NoParams())
        #expect(supply.total == supply.genesisSupply && sameSupply)
        let (params, sameParams) = try await typed(MarketMethods.params, NoParams())
        #expect(params.values.count == Params.specs.count && params["challenge_window_blocks"] == 3 && sameParams)
        let key = Hex.encode(StateKey.job(job.hash))
        let (entry, sameEntry) = try await typed(MarketMethods.query, QueryParams(key: key, prove: true))
        #expect(entry.value != nil && entry.proof != nil && sameEntry)
        let (bare, sameBare) = try await typed(MarketMethods.query, QueryParams(key: key))
        #expect(bare.value == entry.value && bare.proof == nil && sameBare)
        let value = try #require(entry.value)
        let record = try JobRecord(canonicalBytes: try #require(Hex.decode(value)))
        let stored = try #require(record.status.settlement, "the state holds what the ending moved")
        #expect(stored.height == settlement.height)
        #expect([stored.paid, stored.burned, stored.refund, stored.slashed].map { String($0) }
            == [settlement.paid, settlement.burned, settlement.refund, settlement.slashed])
    }

    private func ids(_ answer: JSONValue) -> [String] {
        guard case let .array(jobs)? = answer["jobs"] else { return ["not a job list: \(answer)"] }
        return jobs.compactMap { if case let .string(id)? = $0["id"] { id } else { nil } }
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func bytes(_ value: JSONValue?) throws -> [UInt8] {
    guard case let .string(text)? = value, let bytes = Hex.decode(text) else { throw Failure("not hex: \(String(describing: value))") }
    return bytes
}

func hash(_ value: JSONValue?) throws -> Hash { Hash(try bytes(value)) }

extension JSONValue {
    subscript(_ key: String) -> JSONValue? {
        if case let .object(fields) = self { fields[key] } else { nil }
    }

    subscript(_ index: Int) -> JSONValue? {
        if case let .array(items) = self, items.indices.contains(index) { items[index] } else { nil }
    }
}
