// The results of the market and state methods (docs/rpc.md), as the node encodes them and clients decode them.
// Amounts are decimal strings, as in every method; fields that can be absent are written as null, never left out.

/// A live offer (`offers`, `provider`).
public struct OfferView: Codable, Sendable, Equatable {
    public let id: String
    public let provider: String
    public let kernels: [String]
    public let pricePerWorkUnit: String
    public let capacity: UInt32
    public let openJobs: UInt32
    public let expiryHeight: UInt64

    public init(
        id: String, provider: String, kernels: [String], pricePerWorkUnit: String, capacity: UInt32, openJobs: UInt32,
        expiryHeight: UInt64
    ) {
        self.id = id
        self.provider = provider
        self.kernels = kernels
        self.pricePerWorkUnit = pricePerWorkUnit
        self.capacity = capacity
        self.openJobs = openJobs
        self.expiryHeight = expiryHeight
    }

    private enum CodingKeys: String, CodingKey {
        case id, provider, kernels, pricePerWorkUnit = "price_per_work_unit", capacity, openJobs = "open_jobs"
        case expiryHeight = "expiry_height"
    }
}

public struct OffersView: Codable, Sendable, Equatable {
    public let offers: [OfferView]
    public init(offers: [OfferView]) { self.offers = offers }
}

/// A job as `job`, `jobs` and the `jobs` subscription show it.
public struct JobView: Codable, Sendable, Equatable {
    /// The result the provider posted; kept after the job ended.
    public struct ResultView: Codable, Sendable, Equatable {
        /// The output blob's id.
        public let outputHash: String
        public let traceHash: String
        public let traceBytes: UInt64
        public let traceRoot: String
        public let workUnits: UInt64
        public let resultTx: String
        public let windowEnd: UInt64

        public init(
            outputHash: String, traceHash: String, traceBytes: UInt64, traceRoot: String, workUnits: UInt64,
            resultTx: String, windowEnd: UInt64
        ) {
            self.outputHash = outputHash
            self.traceHash = traceHash
            self.traceBytes = traceBytes
            self.traceRoot = traceRoot
            self.workUnits = workUnits
            self.resultTx = resultTx
            self.windowEnd = windowEnd
        }

        private enum CodingKeys: String, CodingKey {
            case outputHash = "output_hash", traceHash = "trace_hash", traceBytes = "trace_bytes"
            case traceRoot = "trace_root", workUnits = "work_units", resultTx = "result_tx", windowEnd = "window_end"
        }
    }

    /// What the ledger moved when the job ended, as its state records it: `paid` to the provider, `burned` (the
    /// take rate), `refund` to the client (`paid + burned + refund` is the escrow), and the provider's stake
    /// `slashed` for this job (a non-delivery penalty or a fraud slash).
    public struct SettlementView: Codable, Sendable, Equatable {
        /// The height whose block ended the job.
        public let height: UInt64
        public let paid: String
        public let burned: String
        public let refund: String
        public let slashed: String

        public init(height: UInt64, paid: String, burned: String, refund: String, slashed: String) {
            self.height = height
            self.paid = paid
            self.burned = burned
            self.refund = refund
            self.slashed = slashed
        }
    }

    public let id: String
    public let client: String
    public let provider: String
    public let offerId: String
    public let kernel: String
    public let modelHash: String
    public let inputHash: String
    public let inputBytes: UInt64
    public let maxWorkUnits: UInt64
    public let pricePerWorkUnit: String
    public let escrow: String
    public let deadline: UInt64
    public let createdHeight: UInt64
    /// `open`, `result_posted`, `settled`, `refunded` or `slashed`.
    public let state: String
    /// Null until the job ends: `window_passed`, `no_result_by_deadline` or `wrong_output`.
    @Nullable public var reason: String?
    @Nullable public var result: ResultView?
    /// Null until the job ends.
    @Nullable public var settlement: SettlementView?

    public init(
        id: String, client: String, provider: String, offerId: String, kernel: String, modelHash: String,
        inputHash: String, inputBytes: UInt64, maxWorkUnits: UInt64, pricePerWorkUnit: String, escrow: String,
        deadline: UInt64, createdHeight: UInt64, state: String, reason: String?, result: ResultView?,
        settlement: SettlementView?
    ) {
        self.id = id
        self.client = client
        self.provider = provider
        self.offerId = offerId
        self.kernel = kernel
        self.modelHash = modelHash
        self.inputHash = inputHash
        self.inputBytes = inputBytes
        self.maxWorkUnits = maxWorkUnits
        self.pricePerWorkUnit = pricePerWorkUnit
        self.escrow = escrow
        self.deadline = deadline
        self.createdHeight = createdHeight
        self.state = state
        self.reason = reason
        self.result = result
        self.settlement = settlement
    }

    private enum CodingKeys: String, CodingKey {
        case id, client, provider, offerId = "offer_id", kernel, modelHash = "model_hash", inputHash = "input_hash"
        case inputBytes = "input_bytes", maxWorkUnits = "max_work_units", pricePerWorkUnit = "price_per_work_unit"
        case escrow, deadline, createdHeight = "created_height", state, reason, result, settlement
    }
}

public struct JobsView: Codable, Sendable, Equatable {
    public let jobs: [JobView]
    public init(jobs: [JobView]) { self.jobs = jobs }
}

/// `provider`: stake, live offers and job counts.
public struct ProviderView: Codable, Sendable, Equatable {
    /// Slashable until `releaseHeight` ends.
    public struct Unbonding: Codable, Sendable, Equatable {
        public let amount: String
        public let releaseHeight: UInt64

        public init(amount: String, releaseHeight: UInt64) {
            self.amount = amount
            self.releaseHeight = releaseHeight
        }

        private enum CodingKeys: String, CodingKey { case amount, releaseHeight = "release_height" }
    }

    public let address: String
    public let bonded: String
    public let unbonding: [Unbonding]
    public let offers: [OfferView]
    /// Counts by state name; every state is present.
    public let jobs: [String: Int]

    public init(address: String, bonded: String, unbonding: [Unbonding], offers: [OfferView], jobs: [String: Int]) {
        self.address = address
        self.bonded = bonded
        self.unbonding = unbonding
        self.offers = offers
        self.jobs = jobs
    }
}

/// `query`: a raw state entry (hex) at a committed height, with its proof when asked for; value null when absent.
public struct QueryView: Codable, Sendable, Equatable {
    public let height: UInt64
    public let stateRoot: String
    public let key: String
    @Nullable public var value: String?
    /// The hex of a `StateProof`'s canonical bytes (docs/encoding.md).
    @Nullable public var proof: String?

    public init(height: UInt64, stateRoot: String, key: String, value: String?, proof: String?) {
        self.height = height
        self.stateRoot = stateRoot
        self.key = key
        self.value = value
        self.proof = proof
    }

    private enum CodingKeys: String, CodingKey { case height, stateRoot = "state_root", key, value, proof }
}

/// `supply`: where the genesis supply is; credits are conserved exactly when `total == genesisSupply`.
public struct SupplyView: Codable, Sendable, Equatable {
    public let height: UInt64
    public let genesisSupply: String
    public let balances: String
    public let bonded: String
    public let unbonding: String
    public let escrowed: String
    public let burned: String
    /// The sum of the five parts.
    public let total: String

    public init(
        height: UInt64, genesisSupply: String, balances: String, bonded: String, unbonding: String, escrowed: String,
        burned: String, total: String
    ) {
        self.height = height
        self.genesisSupply = genesisSupply
        self.balances = balances
        self.bonded = bonded
        self.unbonding = unbonding
        self.escrowed = escrowed
        self.burned = burned
        self.total = total
    }

    private enum CodingKeys: String, CodingKey {
        case height, genesisSupply = "genesis_supply", balances, bonded, unbonding, escrowed, burned, total
    }
}

/// `params`: every chain parameter by its snake_case name (Genesis/README.md), amounts as decimal strings and the
/// rest as numbers. Kept as a map, so a node with a parameter this client does not know still decodes.
public struct ParamsView: Codable, Sendable, Equatable {
    public enum Value: Codable, Sendable, Equatable {
        case amount(UInt64)
        case number(UInt64)

        public var value: UInt64 {
            switch self {
            case let .amount(value), let .number(value): value
            }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(UInt64.self) {
                self = .number(number)
                return
            }
            let text = try container.decode(String.self)
            guard let amount = UInt64(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not an amount")
            }
            self = .amount(amount)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case let .amount(value): try container.encode(String(value))
            case let .number(value): try container.encode(value)
            }
        }
    }

    public let values: [String: Value]

    public init(values: [String: Value]) { self.values = values }

    /// The parameter `name`, if the node sent it.
    public subscript(_ name: String) -> UInt64? { values[name]?.value }

    public init(from decoder: any Decoder) throws { values = try decoder.singleValueContainer().decode([String: Value].self) }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(values)
    }
}

/// `market`: totals over every job in the state at the latest committed height.
public struct MarketView: Codable, Sendable, Equatable {
    public let height: UInt64
    /// Counts by state name; every state is present.
    public let jobs: [String: Int]
    /// Credits held in escrow by jobs not yet ended.
    public let escrowed: String
    /// Price x work units summed over settled jobs: what clients paid for results (the providers' earnings plus the
    /// take rate burned).
    public let settledVolume: String
    /// Every credit burned since genesis: fees, take rates, slashes' burned part, blob fees.
    public let burned: String

    public init(height: UInt64, jobs: [String: Int], escrowed: String, settledVolume: String, burned: String) {
        self.height = height
        self.jobs = jobs
        self.escrowed = escrowed
        self.settledVolume = settledVolume
        self.burned = burned
    }

    private enum CodingKeys: String, CodingKey {
        case height, jobs, escrowed, settledVolume = "settled_volume", burned
    }
}
