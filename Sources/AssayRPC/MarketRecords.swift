import AssayBlobs
import AssayCrypto
import AssayLedger
import AssayTypes

/// A live offer and its id (the hash of the transaction that made it).
public struct OfferEntry: Equatable, Sendable {
    public var id: Hash
    public var record: OfferRecord

    public init(id: Hash, record: OfferRecord) {
        self.id = id
        self.record = record
    }
}

/// A job and its id (the hash of the transaction that created it).
public struct JobEntry: Equatable, Sendable {
    public var id: Hash
    public var record: JobRecord
    /// The result the provider posted, kept by the node's index after the job ends (the state keeps it only while
    /// the result is posted), so a client can still find the result transaction and its output.
    public var postedResult: PostedResult?

    public init(id: Hash, record: JobRecord, postedResult: PostedResult? = nil) {
        self.id = id
        self.record = record
        self.postedResult = postedResult
    }

    /// The posted result: from the state while it is posted, else from the index.
    public var result: PostedResult? {
        if case let .resultPosted(outputHash, traceBlob, traceRoot, workUnits, resultTx, windowEnd) = record.status {
            return PostedResult(
                outputHash: outputHash, traceBlob: traceBlob, traceRoot: traceRoot, workUnits: workUnits,
                resultTx: resultTx, windowEnd: windowEnd)
        }
        return postedResult
    }
}

/// A result as posted: its output hash, trace blob and trace root, work units, transaction and the end of its
/// challenge window.
public struct PostedResult: Hashable, Sendable {
    public var outputHash: Hash
    public var traceBlob: BlobRef
    public var traceRoot: Hash
    public var workUnits: UInt64
    public var resultTx: Hash
    public var windowEnd: Height

    public init(
        outputHash: Hash, traceBlob: BlobRef, traceRoot: Hash, workUnits: UInt64, resultTx: Hash, windowEnd: Height
    ) {
        self.outputHash = outputHash
        self.traceBlob = traceBlob
        self.traceRoot = traceRoot
        self.workUnits = workUnits
        self.resultTx = resultTx
        self.windowEnd = windowEnd
    }
}

/// A job's state as clients name it, without the details each state carries.
public enum JobState: String, CaseIterable, Sendable {
    case open
    case resultPosted = "result_posted"
    case settled, refunded, slashed

    public init(_ status: JobStatus) {
        switch status {
        case .open: self = .open
        case .resultPosted: self = .resultPosted
        case .settled: self = .settled
        case .refunded: self = .refunded
        case .slashed: self = .slashed
        }
    }
}

/// Which jobs `jobs` returns: every given field must match; at most `limit`, in job id order.
public struct JobFilter: Equatable, Sendable {
    public static let limitDefault = 100
    public static let limitMax = 1_000

    public var client: Address?
    public var provider: Address?
    public var state: JobState?
    public var limit: Int
    /// A page cursor: only jobs whose id sorts after this one (bytewise), so the next page starts after the last id.
    public var after: Hash?

    public init(
        client: Address? = nil, provider: Address? = nil, state: JobState? = nil, limit: Int = limitDefault,
        after: Hash? = nil
    ) {
        self.client = client
        self.provider = provider
        self.state = state
        self.limit = limit
        self.after = after
    }

    /// True when `id` is past the page cursor.
    public func isAfterCursor(_ id: Hash) -> Bool {
        after.map { $0.bytes.lexicographicallyPrecedes(id.bytes) } ?? true
    }

    public func matches(_ job: JobRecord) -> Bool {
        (client == nil || client == job.client) && (provider == nil || provider == job.provider)
            && (state == nil || state == JobState(job.status))
    }
}

/// A provider's stake, its live offers and how many of its jobs are in each state.
public struct ProviderRecord: Equatable, Sendable {
    public var address: Address
    public var stake: StakeRecord
    public var offers: [OfferEntry]
    public var jobCounts: [JobState: Int]

    public init(address: Address, stake: StakeRecord, offers: [OfferEntry], jobCounts: [JobState: Int]) {
        self.address = address
        self.stake = stake
        self.offers = offers
        self.jobCounts = jobCounts
    }
}

/// One raw state entry at a committed height, with its Merkle proof against that height's state root if asked.
public struct StateQueryRecord: Equatable, Sendable {
    public var height: Height
    public var stateRoot: Hash
    public var key: [UInt8]
    public var value: [UInt8]?
    public var proof: StateProof?

    public init(height: Height, stateRoot: Hash, key: [UInt8], value: [UInt8]?, proof: StateProof?) {
        self.height = height
        self.stateRoot = stateRoot
        self.key = key
        self.value = value
        self.proof = proof
    }
}

/// Where every credit of the genesis supply is at a committed height.
public struct SupplyRecord: Equatable, Sendable {
    public var height: Height
    public var genesisSupply: Amount
    public var balances: Amount
    public var bonded: Amount
    public var unbonding: Amount
    public var escrowed: Amount
    public var burned: Amount

    public init(
        height: Height, genesisSupply: Amount, balances: Amount, bonded: Amount, unbonding: Amount, escrowed: Amount,
        burned: Amount
    ) {
        self.height = height
        self.genesisSupply = genesisSupply
        self.balances = balances
        self.bonded = bonded
        self.unbonding = unbonding
        self.escrowed = escrowed
        self.burned = burned
    }
}
