import AssayAPI
import AssayCrypto
import AssayTypes

/// The market and committed-state methods (docs/rpc.md, the issue 7 contract).
enum MarketMethods {
    /// State keys are a prefix byte and an id; nothing longer exists.
    static let queryKeyBytesMax = 256

    static let all: [RPCMethod] = [
        RPCMethod(
            "offers", "Live offers in id order, optionally of one provider and/or serving one kernel.",
            parameters: [.optional("provider", "string"), .optional("kernel", "string")], OffersParams.self
        ) { params, node in
            let provider = try params.provider.map { text throws(RPCError) in
                try RPCMethods.parseAddress(text, name: "provider")
            }
            let offers = try await reading { () async throws(NodeAPIError) in
                try await node.offers(provider: provider, kernel: params.kernel)
            }
            return OffersView(offers: offers.map(OfferView.init))
        },
        RPCMethod(
            "job", "One job: its request, terms, escrow, state and result.", parameters: [.required("id", "string")],
            IDParams.self
        ) { params, node in
            let id = try RPCMethods.parseHash(params.id, name: "id")
            guard let job = try await reading({ () async throws(NodeAPIError) in try await node.job(id: id) }) else {
                throw RPCError.notFound("job \(params.id)")
            }
            return JobView(job)
        },
        RPCMethod(
            "jobs",
            "Jobs in id order after the id after (a page cursor), filtered by client, provider and state; at most "
                + "limit (default 100, max 1000).",
            parameters: [
                .optional("client", "string"), .optional("provider", "string"), .optional("state", "string"),
                .optional("limit", "integer"), .optional("after", "string"),
            ], JobsParams.self
        ) { params, node in
            let filter = try params.filter()
            let jobs = try await reading { () async throws(NodeAPIError) in try await node.jobs(filter) }
            return JobsView(jobs: jobs.map(JobView.init))
        },
        RPCMethod(
            "provider", "A provider's bonded and unbonding stake, live offers and job counts by state.",
            parameters: [.required("address", "string")], AddressParams.self
        ) { params, node in
            let address = try RPCMethods.parseAddress(params.address, name: "address")
            return ProviderView(try await reading { () async throws(NodeAPIError) in try await node.provider(address) })
        },
        RPCMethod(
            "market",
            "Market totals over every job: jobs by state, credits escrowed, settled volume, credits burned.",
            NoParams.self
        ) { _, node in
            let (jobs, supply) = try await reading { () async throws(NodeAPIError) in
                (try await node.jobs(JobFilter(limit: .max)), try await node.supply())
            }
            return try MarketView(jobs: jobs, supply: supply)
        },
        RPCMethod(
            "query",
            "A raw state entry (hex key) at the latest committed height and state root, with its Merkle proof if prove.",
            parameters: [.required("key", "string"), .optional("prove", "boolean")], QueryParams.self
        ) { params, node in
            guard let key = Hex.decode(params.key), !key.isEmpty, key.count <= queryKeyBytesMax else {
                throw RPCError.invalidParams("'key' must be the hex of 1 to \(queryKeyBytesMax) bytes")
            }
            let prove = params.prove ?? false
            return QueryView(
                try await reading { () async throws(NodeAPIError) in try await node.query(key: key, prove: prove) })
        },
        RPCMethod(
            "supply", "Where the genesis supply is: balances, bonded, unbonding, escrowed, burned and their total.",
            NoParams.self
        ) { _, node in
            try SupplyView(try await reading { () async throws(NodeAPIError) in try await node.supply() })
        },
        RPCMethod(
            "unconfirmed_txs", "The mempool's size and up to limit (default 100) of its transactions as hex.",
            parameters: [.optional("limit", "integer")], LimitParams.self
        ) { params, node in
            let limit = params.limit ?? JobFilter.limitDefault
            guard (1...RPCMethods.broadcastBatchMax).contains(limit) else {
                throw RPCError.invalidParams("'limit' must be 1 to \(RPCMethods.broadcastBatchMax)")
            }
            return UnconfirmedView(await node.unconfirmedTransactions(limit: limit))
        },
        RPCMethod("params", "The chain parameters by name (Genesis/README.md).", NoParams.self) { _, node in
            ParamsView(params: try await reading { () async throws(NodeAPIError) in try await node.params() })
        },
    ]

    /// Runs a node read, turning its failure into the JSON-RPC error clients see.
    static func reading<Value>(_ read: () async throws(NodeAPIError) -> Value) async throws(RPCError) -> Value {
        do throws(NodeAPIError) { return try await read() } catch { throw RPCError.from(error) }
    }

    struct IDParams: Decodable, Sendable { let id: String }
    struct LimitParams: Decodable, Sendable { let limit: Int? }
    struct OffersParams: Decodable, Sendable {
        let provider: String?
        let kernel: String?
    }
    struct QueryParams: Decodable, Sendable {
        let key: String
        let prove: Bool?
    }
    struct JobsParams: Decodable, Sendable {
        let client: String?
        let provider: String?
        let state: String?
        let limit: Int?
        let after: String?

        func filter() throws(RPCError) -> JobFilter {
            let state = try self.state.map { name throws(RPCError) in
                guard let state = JobState(rawValue: name) else {
                    let names = JobState.allCases.map(\.rawValue).joined(separator: ", ")
                    throw RPCError.invalidParams("'state' must be one of \(names)")
                }
                return state
            }
            let limit = self.limit ?? JobFilter.limitDefault
            guard (1...JobFilter.limitMax).contains(limit) else {
                throw RPCError.invalidParams("'limit' must be 1 to \(JobFilter.limitMax)")
            }
            return JobFilter(
                client: try client.map { text throws(RPCError) in try RPCMethods.parseAddress(text, name: "client") },
                provider: try provider.map { text throws(RPCError) in
                    try RPCMethods.parseAddress(text, name: "provider")
                },
                state: state, limit: limit,
                after: try after.map { text throws(RPCError) in try RPCMethods.parseHash(text, name: "after") })
        }
    }
}
