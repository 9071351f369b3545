/// The typed market and committed-state methods (docs/rpc.md, Market and state methods).
public enum MarketMethods {
    public static let offers = Method<OffersParams, OffersView>(
        "offers", "Live offers in id order, optionally of one provider and/or serving one kernel.",
        parameters: [.optional("provider", "string"), .optional("kernel", "string")])
    public static let job = Method<IDParams, JobView>(
        "job", "One job: its request, terms, escrow, state, result and what its end moved.",
        parameters: [.required("id", "string")])
    public static let jobs = Method<JobsParams, JobsView>(
        "jobs",
        "Jobs in id order after the id after (a page cursor), filtered by client, provider and state; at most "
            + "limit (default 100, max 1000).",
        parameters: [
            .optional("client", "string"), .optional("provider", "string"), .optional("state", "string"),
            .optional("limit", "integer"), .optional("after", "string"),
        ])
    public static let provider = Method<AddressParams, ProviderView>(
        "provider", "A provider's bonded and unbonding stake, live offers and job counts by state.",
        parameters: [.required("address", "string")])
    public static let market = Method<NoParams, MarketView>(
        "market", "Market totals over every job: jobs by state, credits escrowed, settled volume, credits burned.")
    public static let query = Method<QueryParams, QueryView>(
        "query",
        "A raw state entry (hex key) at the latest committed height and state root, with its Merkle proof if prove.",
        parameters: [.required("key", "string"), .optional("prove", "boolean")])
    public static let supply = Method<NoParams, SupplyView>(
        "supply", "Where the genesis supply is: balances, bonded, unbonding, escrowed, burned and their total.")
    public static let params = Method<NoParams, ParamsView>(
        "params", "The chain parameters by name (Genesis/README.md).")
}

/// A job id: the hash of the transaction that created the job.
public struct IDParams: Codable, Sendable, Equatable {
    public let id: String
    public init(id: String) { self.id = id }
}

public struct OffersParams: Codable, Sendable, Equatable {
    public let provider: String?
    public let kernel: String?

    public init(provider: String? = nil, kernel: String? = nil) {
        self.provider = provider
        self.kernel = kernel
    }
}

/// Every given filter must match; `after` is the last id of the previous page.
public struct JobsParams: Codable, Sendable, Equatable {
    public let client: String?
    public let provider: String?
    /// A `JobView.state` name.
    public let state: String?
    public let limit: Int?
    public let after: String?

    public init(
        client: String? = nil, provider: String? = nil, state: String? = nil, limit: Int? = nil, after: String? = nil
    ) {
        self.client = client
        self.provider = provider
        self.state = state
        self.limit = limit
        self.after = after
    }
}

public struct QueryParams: Codable, Sendable, Equatable {
    /// The hex of a raw state key (docs/encoding.md, State keys).
    public let key: String
    public let prove: Bool?

    public init(key: String, prove: Bool? = nil) {
        self.key = key
        self.prove = prove
    }
}
