import AssayAPI
import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayLedger
import AssayTypes

// The results of the market and state methods: AssayAPI's views built from the node's records.

extension OfferView {
    init(_ entry: OfferEntry) {
        let terms = entry.record.terms
        self.init(
            id: entry.id.description, provider: entry.record.provider.description, kernels: terms.kernels,
            pricePerWorkUnit: String(terms.pricePerWorkUnit), capacity: terms.capacity, openJobs: entry.record.openJobs,
            expiryHeight: terms.expiryHeight)
    }
}

extension JobView {
    init(_ entry: JobEntry) {
        let job = entry.record
        self.init(
            id: entry.id.description, client: job.client.description, provider: job.provider.description,
            offerId: job.request.offerID.description, kernel: job.request.kernel,
            modelHash: job.request.modelHash.description, inputHash: job.request.inputBlob.id.hex,
            inputBytes: job.request.inputBlob.length, maxWorkUnits: job.request.maxWorkUnits,
            pricePerWorkUnit: String(job.pricePerWorkUnit), escrow: String(job.escrow), deadline: job.request.deadline,
            createdHeight: job.createdHeight, state: JobState(job.status).rawValue, reason: job.status.endReason.map(Self.name),
            result: entry.result.map(ResultView.init), settlement: job.status.settlement.map(SettlementView.init))
    }

    static func name(_ reason: JobEndReason) -> String {
        switch reason {
        case .windowPassed: "window_passed"
        case .noResultByDeadline: "no_result_by_deadline"
        case .wrongOutput: "wrong_output"
        }
    }
}

extension JobView.ResultView {
    init(_ result: PostedResult) {
        self.init(
            outputHash: result.outputHash.description, traceHash: result.traceBlob.id.hex,
            traceBytes: result.traceBlob.length, traceRoot: result.traceRoot.description, workUnits: result.workUnits,
            resultTx: result.resultTx.description, windowEnd: result.windowEnd)
    }
}

extension JobView.SettlementView {
    init(_ settlement: JobSettlement) {
        self.init(
            height: settlement.height, paid: String(settlement.paid), burned: String(settlement.burned),
            refund: String(settlement.refund), slashed: String(settlement.slashed))
    }
}

extension ProviderView {
    init(_ record: ProviderRecord) {
        self.init(
            address: record.address.description, bonded: String(record.stake.bonded),
            unbonding: record.stake.unbonding.map { Unbonding(amount: String($0.amount), releaseHeight: $0.releaseHeight) },
            offers: record.offers.map(OfferView.init), jobs: JobState.counts(record.jobCounts))
    }
}

extension JobState {
    /// Counts by state name with every state present, zeros included.
    static func counts(_ counts: [JobState: Int]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, counts[$0] ?? 0) })
    }
}

extension QueryView {
    init(_ record: StateQueryRecord) {
        self.init(
            height: record.height, stateRoot: record.stateRoot.description, key: Hex.encode(record.key),
            value: record.value.map { Hex.encode($0) }, proof: record.proof.map { Hex.encode($0.canonicalBytes) })
    }
}

extension SupplyView {
    init(_ record: SupplyRecord) throws(RPCError) {
        var total: UInt64 = 0
        for part in [record.balances, record.bonded, record.unbonding, record.escrowed, record.burned] {
            let (next, overflow) = total.addingReportingOverflow(part)
            guard !overflow else { throw .internalError("the supply total overflows: the state is corrupt") }
            total = next
        }
        self.init(
            height: record.height, genesisSupply: String(record.genesisSupply), balances: String(record.balances),
            bonded: String(record.bonded), unbonding: String(record.unbonding), escrowed: String(record.escrowed),
            burned: String(record.burned), total: String(total))
    }
}

extension ParamsView {
    /// Every parameter by its snake_case name (Genesis/README.md): amounts as decimal strings, the rest as numbers.
    init(_ params: Params) {
        self.init(
            values: Dictionary(uniqueKeysWithValues: Params.specs.map { spec in
                let value = params[keyPath: spec.keyPath]
                return (spec.name, spec.isAmount ? Value.amount(value) : .number(value))
            }))
    }
}

extension MarketView {
    /// Totals over `entries` (every job) and the supply read from the same state.
    init(jobs entries: [JobEntry], supply: SupplyRecord) throws(RPCError) {
        var counts: [JobState: Int] = [:]
        var volume: UInt64 = 0
        for entry in entries {
            counts[JobState(entry.record.status), default: 0] += 1
            guard case let .settled(_, settlement) = entry.record.status else { continue }
            // What the client paid for the result: the provider's part and the take rate burned.
            let (payment, paymentOverflow) = settlement.paid.addingReportingOverflow(settlement.burned)
            let (sum, sumOverflow) = volume.addingReportingOverflow(payment)
            guard !paymentOverflow, !sumOverflow else { throw .internalError("the settled volume overflows a u64") }
            volume = sum
        }
        self.init(
            height: supply.height, jobs: JobState.counts(counts), escrowed: String(supply.escrowed),
            settledVolume: String(volume), burned: String(supply.burned))
    }
}
