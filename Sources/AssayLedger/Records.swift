import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayTypes

/// A balance and the next nonce the account must use.
public struct Account: Hashable, Sendable, CanonicalCodable {
    public var balance: Amount
    public var nonce: UInt64

    public init(balance: Amount = 0, nonce: UInt64 = 0) {
        self.balance = balance
        self.nonce = nonce
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(balance)
        writer.write(nonce)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        balance = try reader.readUInt64()
        nonce = try reader.readUInt64()
    }
}

/// Stake on its way back to the balance; slashable until `releaseHeight` ends.
public struct UnbondingEntry: Hashable, Sendable, CanonicalCodable {
    public var amount: Amount
    public var releaseHeight: Height

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(amount)
        writer.write(releaseHeight)
    }

    public init(amount: Amount, releaseHeight: Height) {
        self.amount = amount
        self.releaseHeight = releaseHeight
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        amount = try reader.readUInt64()
        releaseHeight = try reader.readUInt64()
    }
}

/// An account's bonded stake and its unbonding entries (ascending release height, one per height).
public struct StakeRecord: Hashable, Sendable, CanonicalCodable {
    public static let unbondingEntriesMax = 32

    public var bonded: Amount
    public var unbonding: [UnbondingEntry]

    public init(bonded: Amount = 0, unbonding: [UnbondingEntry] = []) {
        self.bonded = bonded
        self.unbonding = unbonding
    }

    /// Everything that can be slashed. Bounded by the supply, so it cannot overflow.
    public var slashable: Amount { unbonding.reduce(bonded) { $0 + $1.amount } }
    public var unbondingTotal: Amount { unbonding.reduce(0) { $0 + $1.amount } }
    public var isEmpty: Bool { bonded == 0 && unbonding.isEmpty }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(bonded)
        writer.write(unbonding)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        bonded = try reader.readUInt64()
        unbonding = try reader.readArray(bound: Self.unbondingEntriesMax)
    }
}

/// A live offer: who serves it, its terms, and how many of its jobs are open.
public struct OfferRecord: Hashable, Sendable, CanonicalCodable {
    public var provider: Address
    public var terms: Offer
    public var openJobs: UInt32

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(provider)
        writer.write(terms)
        writer.write(openJobs)
    }

    public init(provider: Address, terms: Offer, openJobs: UInt32) {
        self.provider = provider
        self.terms = terms
        self.openJobs = openJobs
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        provider = try reader.read()
        terms = try reader.read()
        openJobs = try reader.readUInt32()
    }
}

/// Why a job ended. Each of the three endings has its own codes; clients see them in `jobEnded` events.
public enum JobEndReason: UInt8, Hashable, Sendable, CanonicalCodable {
    /// Settled: the challenge window passed; the provider is paid for the work units it reported.
    case windowPassed = 1
    /// Refunded: the deadline came with no result; the provider is penalised.
    case noResultByDeadline = 2
    /// Slashed: a challenged tile, recomputed, differed from the trace (or the output from the last layer). Code 4
    /// (a wrong work-unit count) is retired: a result's work units are checked when it is posted.
    case wrongOutput = 3

    public func encode(to writer: inout CanonicalWriter) { writer.write(rawValue) }
    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let raw = try reader.readUInt8()
        guard let reason = JobEndReason(rawValue: raw) else { throw .unknownTag(UInt64(raw), type: "JobEndReason") }
        self = reason
    }
}

/// What the ledger moved when a job ended, kept in its terminal status so that the state (and its proofs) show
/// every job's money, not only the block's events: `paid` to the provider, `burned` its take rate, `refund` to the
/// client (the three add up to the escrow), and `slashed`, the provider's stake taken for this job (the
/// non-delivery penalty of a refund, or the fraud slash of an upheld challenge, challenger's reward included).
public struct JobSettlement: Hashable, Sendable, CanonicalCodable {
    /// The height whose block ended the job.
    public var height: Height
    public var paid: Amount
    public var burned: Amount
    public var refund: Amount
    public var slashed: Amount

    public init(height: Height, paid: Amount = 0, burned: Amount = 0, refund: Amount = 0, slashed: Amount = 0) {
        self.height = height
        self.paid = paid
        self.burned = burned
        self.refund = refund
        self.slashed = slashed
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(height)
        writer.write(paid)
        writer.write(burned)
        writer.write(refund)
        writer.write(slashed)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        height = try reader.readUInt64()
        paid = try reader.readUInt64()
        burned = try reader.readUInt64()
        refund = try reader.readUInt64()
        slashed = try reader.readUInt64()
    }
}

/// Where a job is in its life. The last three are terminal: every job reaches exactly one of them.
public enum JobStatus: Hashable, Sendable, CanonicalCodable {
    /// Escrowed, waiting for the provider's result until `deadline`.
    case open
    /// Result posted by transaction `resultTx`; challengeable below `windowEnd`, settled at `windowEnd`. The output
    /// blob's length is the job's (checked when the result was accepted), so its id names it.
    case resultPosted(
        outputHash: Hash, traceBlob: BlobRef, traceRoot: Hash, workUnits: UInt64, resultTx: Hash, windowEnd: Height)
    case settled(JobEndReason, JobSettlement)
    case refunded(JobEndReason, JobSettlement)
    case slashed(JobEndReason, JobSettlement)

    public var isTerminal: Bool { settlement != nil }

    /// Why the job ended; nil until it ends.
    public var endReason: JobEndReason? {
        switch self {
        case .open, .resultPosted: nil
        case let .settled(reason, _), let .refunded(reason, _), let .slashed(reason, _): reason
        }
    }

    /// What the job's end moved; nil until it ends.
    public var settlement: JobSettlement? {
        switch self {
        case .open, .resultPosted: nil
        case let .settled(_, settlement), let .refunded(_, settlement), let .slashed(_, settlement): settlement
        }
    }

    public func encode(to writer: inout CanonicalWriter) {
        switch self {
        case .open: writer.writeULEB128(0)
        case let .resultPosted(outputHash, traceBlob, traceRoot, workUnits, resultTx, windowEnd):
            writer.writeULEB128(1)
            writer.write(outputHash)
            traceBlob.encode(to: &writer)
            writer.write(traceRoot)
            writer.write(workUnits)
            writer.write(resultTx)
            writer.write(windowEnd)
        case let .settled(reason, settlement):
            writer.writeULEB128(2)
            writer.write(reason)
            writer.write(settlement)
        case let .refunded(reason, settlement):
            writer.writeULEB128(3)
            writer.write(reason)
            writer.write(settlement)
        case let .slashed(reason, settlement):
            writer.writeULEB128(4)
            writer.write(reason)
            writer.write(settlement)
        }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        switch try reader.readTag() {
        case 0: self = .open
        case 1:
            self = .resultPosted(
                outputHash: try reader.read(), traceBlob: try BlobRef(from: &reader), traceRoot: try reader.read(),
                workUnits: try reader.readUInt64(), resultTx: try reader.read(), windowEnd: try reader.readUInt64())
        case 2: self = .settled(try reader.read(), try reader.read())
        case 3: self = .refunded(try reader.read(), try reader.read())
        case 4: self = .slashed(try reader.read(), try reader.read())
        case let tag: throw .unknownTag(tag, type: "JobStatus")
        }
    }
}

/// A job: its request, the terms copied from the offer when it was accepted, its escrow and its status.
public struct JobRecord: Hashable, Sendable, CanonicalCodable {
    public var client: Address
    public var provider: Address
    public var request: Job
    public var pricePerWorkUnit: Amount
    /// Credits held for this job while it is not terminal (price x max work units).
    public var escrow: Amount
    public var createdHeight: Height
    public var status: JobStatus

    public init(
        client: Address, provider: Address, request: Job, pricePerWorkUnit: Amount, escrow: Amount,
        createdHeight: Height, status: JobStatus
    ) {
        self.client = client
        self.provider = provider
        self.request = request
        self.pricePerWorkUnit = pricePerWorkUnit
        self.escrow = escrow
        self.createdHeight = createdHeight
        self.status = status
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(client)
        writer.write(provider)
        writer.write(request)
        writer.write(pricePerWorkUnit)
        writer.write(escrow)
        writer.write(createdHeight)
        writer.write(status)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        client = try reader.read()
        provider = try reader.read()
        request = try reader.read()
        pricePerWorkUnit = try reader.readUInt64()
        escrow = try reader.readUInt64()
        createdHeight = try reader.readUInt64()
        status = try reader.read()
    }
}

/// A validator as governance and evidence see it, stored under its consensus key. Kept after removal (power 0)
/// so that evidence against a former validator can still slash it while its stake unbonds.
public struct ValidatorRecord: Hashable, Sendable, CanonicalCodable {
    public var power: UInt64
    /// Proven to have double-signed: never a validator again.
    public var tombstoned: Bool
    /// The key its node's P2P links authenticate with (never its consensus key): what peers allow-list.
    public var nodeKey: PublicKey

    public init(power: UInt64, tombstoned: Bool = false, nodeKey: PublicKey) {
        self.power = power
        self.tombstoned = tombstoned
        self.nodeKey = nodeKey
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(power)
        writer.write(tombstoned)
        writer.write(nodeKey)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        power = try reader.readUInt64()
        tombstoned = try reader.readBool()
        nodeKey = try reader.read()
    }
}

public enum ProposalStatus: UInt8, Hashable, Sendable, CanonicalCodable {
    case open = 0
    case passed = 1
    /// The voting period ended without a two-thirds majority.
    case expired = 2
    /// Passed, but could no longer be applied (for example the validator was tombstoned meanwhile).
    case failed = 3

    public func encode(to writer: inout CanonicalWriter) { writer.write(rawValue) }
    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let raw = try reader.readUInt8()
        guard let status = ProposalStatus(rawValue: raw) else { throw .unknownTag(UInt64(raw), type: "ProposalStatus") }
        self = status
    }
}

/// A governance proposal and its votes (each list sorted by key).
public struct ProposalRecord: Hashable, Sendable, CanonicalCodable {
    public var proposer: PublicKey
    public var action: ProposalAction
    /// Votes count up to and including this height; the proposal expires at its end.
    public var endHeight: Height
    public var yes: [PublicKey]
    public var no: [PublicKey]
    public var status: ProposalStatus

    public init(
        proposer: PublicKey, action: ProposalAction, endHeight: Height, yes: [PublicKey], no: [PublicKey],
        status: ProposalStatus
    ) {
        self.proposer = proposer
        self.action = action
        self.endHeight = endHeight
        self.yes = yes
        self.no = no
        self.status = status
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(proposer)
        writer.write(action)
        writer.write(endHeight)
        writer.write(yes)
        writer.write(no)
        writer.write(status)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        proposer = try reader.read()
        action = try reader.read()
        endHeight = try reader.readUInt64()
        yes = try reader.readArray(bound: ValidatorSet.sizeMax)
        no = try reader.readArray(bound: ValidatorSet.sizeMax)
        status = try reader.read()
    }
}

/// Chain-wide sums: what existed at genesis and what has been destroyed since.
public struct Totals: Hashable, Sendable, CanonicalCodable {
    public var genesisSupply: Amount
    public var burned: Amount

    public init(genesisSupply: Amount, burned: Amount) {
        self.genesisSupply = genesisSupply
        self.burned = burned
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(genesisSupply)
        writer.write(burned)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        genesisSupply = try reader.readUInt64()
        burned = try reader.readUInt64()
    }
}
