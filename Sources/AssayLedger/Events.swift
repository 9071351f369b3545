import AssayBlobs
import AssayCrypto
import AssayTypes

/// How a job ended: exactly one per job.
public enum JobOutcome: String, Hashable, Sendable, CaseIterable {
    case settled, refunded, slashed
}

/// The tile a challenge named and what recomputing it cost (at most `max_tile_work_units`, whatever the job's size).
public struct ChallengedTile: Hashable, Sendable {
    public let challenger: Address
    public let layer: UInt32
    public let tile: UInt32
    public let workUnits: UInt64

    public init(challenger: Address, layer: UInt32, tile: UInt32, workUnits: UInt64) {
        self.challenger = challenger
        self.layer = layer
        self.tile = tile
        self.workUnits = workUnits
    }
}

/// What happened, for clients and RPC subscribers. Amounts are in base units.
public enum LedgerEvent: Hashable, Sendable {
    case transferred(sender: Address, recipient: Address, amount: Amount)
    case offerCreated(offer: Hash, provider: Address)
    case offerRemoved(offer: Hash)
    case modelRegistered(model: Hash)
    case jobCreated(job: Hash, client: Address, provider: Address, escrow: Amount)
    case resultPosted(
        job: Hash, outputHash: Hash, traceBlob: BlobRef, traceRoot: Hash, workUnits: UInt64, windowEnd: Height)
    /// The end of a job: `paid` to the provider, `refund` to the client, `burned` as the take rate.
    case jobEnded(job: Hash, outcome: JobOutcome, reason: JobEndReason, paid: Amount, refund: Amount, burned: Amount)
    /// A challenge whose tile, recomputed, matched the result: the bond went to the provider.
    case challengeFailed(job: Hash, ChallengedTile, bondForfeited: Amount)
    /// A challenge whose tile, recomputed, differed from the trace (or the output from the last layer): followed by
    /// the provider's `slashed` and the job's `jobEnded`.
    case challengeUpheld(job: Hash, ChallengedTile)
    case slashed(account: Address, amount: Amount, toChallenger: Amount, burned: Amount)
    case bonded(account: Address, amount: Amount)
    case unbondingStarted(account: Address, amount: Amount, releaseHeight: Height)
    case unbondingReleased(account: Address, amount: Amount)
    case tombstoned(validator: PublicKey)
    case proposalCreated(proposal: Hash)
    case proposalPassed(proposal: Hash)
    case proposalExpired(proposal: Hash)
    case proposalFailed(proposal: Hash, reason: String)
    case voteCast(proposal: Hash, voter: PublicKey, approve: Bool)
    /// The validator's power from `effectiveHeight` on (0: removed).
    case validatorUpdated(validator: PublicKey, power: UInt64, effectiveHeight: Height)
    case parameterChanged(name: String, value: UInt64)
    /// No registered model or retained job uses this blob any more: nodes may delete it.
    case blobReleased(blob: Hash)
}
