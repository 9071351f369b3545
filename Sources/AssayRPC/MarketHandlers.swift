import AssayAPI
import AssayCrypto
import AssayTypes

/// The node's side of the market and committed-state methods `MarketMethods` describes (docs/rpc.md).
enum MarketHandlers {
    /// State keys are a prefix byte and an id; nothing longer exists.
    static let queryKeyBytesMax = 256

    static let all: [RPCMethod] = [
        RPCMethod(MarketMethods.offers) { params, node in
            let provider = try params.provider.map { text throws(RPCError) in
                try RPCMethods.parseAddress(text, name: "provider")
            }
            let offers = try await reading { () async throws(NodeAPIError) in
                try await node.offers(provider: provider, kernel: params.kernel)
            }
            return OffersView(offers: offers.map(OfferView.init))
        },
        RPCMethod(MarketMethods.job) { params, node in
            let id = try RPCMethods.parseHash(params.id, name: "id")
            guard let job = try await reading({ () async throws(NodeAPIError) in try await node.job(id: id) }) else {
                throw RPCError.notFound("job \(params.id)")
            }
            return JobView(job)
        },
        RPCMethod(MarketMethods.jobs) { params, node in
            let filter = try params.filter()
            let jobs = try await reading { () async throws(NodeAPIError) in try await node.jobs(filter) }
            return JobsView(jobs: jobs.map(JobView.init))
        },
        RPCMethod(MarketMethods.provider) { params, node in
            let address = try RPCMethods.parseAddress(params.address, name: "address")
            return ProviderView(try await reading { () async throws(NodeAPIError) in try await node.provider(address) })
        },
        RPCMethod(MarketMethods.market) { _, node in
            let (jobs, supply) = try await reading { () async throws(NodeAPIError) in
                (try await node.jobs(JobFilter(limit: .max)), try await node.supply())
            }
            return try MarketView(jobs: jobs, supply: supply)
        },
        RPCMethod(MarketMethods.query) { params, node in
            guard let key = Hex.decode(params.key), !key.isEmpty, key.count <= queryKeyBytesMax else {
                throw RPCError.invalidParams("'key' must be the hex of 1 to \(queryKeyBytesMax) bytes")
            }
            let prove = params.prove ?? false
            return QueryView(
                try await reading { () async throws(NodeAPIError) in try await node.query(key: key, prove: prove) })
        },
        RPCMethod(MarketMethods.supply) { _, node in
            try SupplyView(try await reading { () async throws(NodeAPIError) in try await node.supply() })
        },
        RPCMethod(MarketMethods.params) { _, node in
            ParamsView(try await reading { () async throws(NodeAPIError) in try await node.params() })
        },
    ]

    /// Runs a node read, turning its failure into the JSON-RPC error clients see.
    static func reading<Value>(_ read: () async throws(NodeAPIError) -> Value) async throws(RPCError) -> Value {
        do throws(NodeAPIError) { return try await read() } catch { throw RPCError.from(error) }
    }
}

extension JobsParams {
    /// The node's filter: each given field checked, the limit defaulted and bounded.
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
            provider: try provider.map { text throws(RPCError) in try RPCMethods.parseAddress(text, name: "provider") },
            state: state, limit: limit,
            after: try after.map { text throws(RPCError) in try RPCMethods.parseHash(text, name: "after") })
    }
}
