import AssayAPI
import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayLedger
import AssayTypes

// The JSON shapes of the market and state methods (docs/rpc.md). Amounts are decimal strings, as in every method;
// fields that can be absent are written as null, never left out.

struct OfferView: Encodable, Sendable {
    let id: String
    let provider: String
    let kernels: [String]
    let pricePerWorkUnit: String
    let capacity: UInt32
    let openJobs: UInt32
    let expiryHeight: UInt64

    init(_ entry: OfferEntry) {
        id = entry.id.description
        provider = entry.record.provider.description
        kernels = entry.record.terms.kernels
        pricePerWorkUnit = String(entry.record.terms.pricePerWorkUnit)
        capacity = entry.record.terms.capacity
        openJobs = entry.record.openJobs
        expiryHeight = entry.record.terms.expiryHeight
    }
}

struct OffersView: Encodable, Sendable { let offers: [OfferView] }

/// A job as `job`, `jobs` and the `jobs` subscription show it.
struct JobView: Encodable, Sendable {
    struct ResultView: Encodable, Sendable {
        let outputHash: String
        let traceHash: String
        let traceBytes: UInt64
        let traceRoot: String
        let workUnits: UInt64
        let resultTx: String
        let windowEnd: UInt64
    }

    let id: String
    let client: String
    let provider: String
    let offerId: String
    let kernel: String
    let modelHash: String
    let inputHash: String
    let inputBytes: UInt64
    let maxWorkUnits: UInt64
    let pricePerWorkUnit: String
    let escrow: String
    let deadline: UInt64
    let createdHeight: UInt64
    let state: String
    let reason: String?
    let result: ResultView?

    init(_ entry: JobEntry) {
        let job = entry.record
        id = entry.id.description
        client = job.client.description
        provider = job.provider.description
        offerId = job.request.offerID.description
        kernel = job.request.kernel
        modelHash = job.request.modelHash.description
        inputHash = job.request.inputBlob.id.hex
        inputBytes = job.request.inputBlob.length
        maxWorkUnits = job.request.maxWorkUnits
        pricePerWorkUnit = String(job.pricePerWorkUnit)
        escrow = String(job.escrow)
        deadline = job.request.deadline
        createdHeight = job.createdHeight
        state = JobState(job.status).rawValue
        switch job.status {
        case .open, .resultPosted: reason = nil
        case let .settled(why), let .refunded(why), let .slashed(why): reason = Self.name(why)
        }
        result = entry.result.map {
            ResultView(
                outputHash: $0.outputHash.description, traceHash: $0.traceBlob.id.hex, traceBytes: $0.traceBlob.length,
                traceRoot: $0.traceRoot.description, workUnits: $0.workUnits, resultTx: $0.resultTx.description,
                windowEnd: $0.windowEnd)
        }
    }

    static func name(_ reason: JobEndReason) -> String {
        switch reason {
        case .windowPassed: "window_passed"
        case .noResultByDeadline: "no_result_by_deadline"
        case .wrongOutput: "wrong_output"
        }
    }

    private enum CodingKeys: String, CodingKey {
        case id, client, provider, offerId, kernel, modelHash, inputHash, inputBytes, maxWorkUnits, pricePerWorkUnit, escrow,
            deadline, createdHeight, state, reason, result
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(client, forKey: .client)
        try container.encode(provider, forKey: .provider)
        try container.encode(offerId, forKey: .offerId)
        try container.encode(kernel, forKey: .kernel)
        try container.encode(modelHash, forKey: .modelHash)
        try container.encode(inputHash, forKey: .inputHash)
        try container.encode(inputBytes, forKey: .inputBytes)
        try container.encode(maxWorkUnits, forKey: .maxWorkUnits)
        try container.encode(pricePerWorkUnit, forKey: .pricePerWorkUnit)
        try container.encode(escrow, forKey: .escrow)
        try container.encode(deadline, forKey: .deadline)
        try container.encode(createdHeight, forKey: .createdHeight)
        try container.encode(state, forKey: .state)
        try container.encode(reason, forKey: .reason)
        try container.encode(result, forKey: .result)
    }
}

struct JobsView: Encodable, Sendable { let jobs: [JobView] }

struct ProviderView: Encodable, Sendable {
    struct Unbonding: Encodable, Sendable {
        let amount: String
        let releaseHeight: UInt64
    }

    let address: String
    let bonded: String
    let unbonding: [Unbonding]
    let offers: [OfferView]
    /// Counts by state name; every state is present.
    let jobs: [String: Int]

    init(_ record: ProviderRecord) {
        address = record.address.description
        bonded = String(record.stake.bonded)
        unbonding = record.stake.unbonding.map { Unbonding(amount: String($0.amount), releaseHeight: $0.releaseHeight) }
        offers = record.offers.map(OfferView.init)
        jobs = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0.rawValue, record.jobCounts[$0] ?? 0) })
    }
}

struct QueryView: Encodable, Sendable {
    let height: UInt64
    let stateRoot: String
    let key: String
    let value: String?
    let proof: String?

    init(_ record: StateQueryRecord) {
        height = record.height
        stateRoot = record.stateRoot.description
        key = Hex.encode(record.key)
        value = record.value.map { Hex.encode($0) }
        proof = record.proof.map { Hex.encode($0.canonicalBytes) }
    }

    private enum CodingKeys: String, CodingKey { case height, stateRoot, key, value, proof }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(height, forKey: .height)
        try container.encode(stateRoot, forKey: .stateRoot)
        try container.encode(key, forKey: .key)
        try container.encode(value, forKey: .value)
        try container.encode(proof, forKey: .proof)
    }
}

struct SupplyView: Encodable, Sendable {
    let height: UInt64
    let genesisSupply: String
    let balances: String
    let bonded: String
    let unbonding: String
    let escrowed: String
    let burned: String
    /// The sum of the five parts; equal to `genesisSupply` while credits are conserved.
    let total: String

    init(_ record: SupplyRecord) throws(RPCError) {
        height = record.height
        genesisSupply = String(record.genesisSupply)
        balances = String(record.balances)
        bonded = String(record.bonded)
        unbonding = String(record.unbonding)
        escrowed = String(record.escrowed)
        burned = String(record.burned)
        var sum: UInt64 = 0
        for part in [record.balances, record.bonded, record.unbonding, record.escrowed, record.burned] {
            let (next, overflow) = sum.addingReportingOverflow(part)
            guard !overflow else { throw .internalError("the supply total overflows: the state is corrupt") }
            sum = next
        }
        total = String(sum)
    }
}

struct UnconfirmedView: Encodable, Sendable {
    let count: Int
    let totalBytes: Int
    let txs: [String]

    init(_ record: UnconfirmedRecord) {
        count = record.count
        totalBytes = record.totalBytes
        txs = record.transactions.map { Hex.encode($0.canonicalBytes) }
    }
}

/// Every parameter by its snake_case name (Genesis/README.md): amounts as decimal strings, the rest as numbers.
struct ParamsView: Encodable, Sendable {
    let params: Params

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(
            Dictionary(uniqueKeysWithValues: Params.specs.map { spec in
                let value = params[keyPath: spec.keyPath]
                return (spec.name, spec.isAmount ? JSONValue.string(String(value)) : .unsigned(value))
            }))
    }
}

/// `market`: totals over every job in the state at the latest committed height.
struct MarketView: Encodable, Sendable {
    let height: UInt64
    /// Counts by state name; every state is present.
    let jobs: [String: Int]
    /// Credits held in escrow by jobs not yet ended.
    let escrowed: String
    /// Price x work units summed over settled jobs: what clients paid for results (the provider's earnings plus the
    /// take rate burned).
    let settledVolume: String
    /// Every credit burned since genesis: fees, take rates, slashes' burned part, blob fees.
    let burned: String

    init(jobs entries: [JobEntry], supply: SupplyRecord) throws(RPCError) {
        var counts = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0.rawValue, 0) })
        var volume: UInt64 = 0
        for entry in entries {
            counts[JobState(entry.record.status).rawValue, default: 0] += 1
            guard case .settled = entry.record.status, let result = entry.result else { continue }
            let (payment, productOverflow) = entry.record.pricePerWorkUnit.multipliedReportingOverflow(by: result.workUnits)
            let (sum, sumOverflow) = volume.addingReportingOverflow(payment)
            guard !productOverflow, !sumOverflow else { throw .internalError("the settled volume overflows a u64") }
            volume = sum
        }
        height = supply.height
        jobs = counts
        escrowed = String(supply.escrowed)
        settledVolume = String(volume)
        burned = String(supply.burned)
    }
}
