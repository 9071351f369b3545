import AssayCrypto
import AssayTypes

/// The type of an event as clients see it, with its attribute keys in order: the one list that the RPC events,
/// the OpenRPC document and docs/rpc.md (checked by a test) agree on.
public enum EventType: String, CaseIterable, Sendable {
    case transfer
    case offerCreated = "offer_created"
    case offerRemoved = "offer_removed"
    case modelRegistered = "model_registered"
    case jobCreated = "job_created"
    case resultPosted = "result_posted"
    case jobEnded = "job_ended"
    case challengeFailed = "challenge_failed"
    case challengeUpheld = "challenge_upheld"
    case slashed
    case bonded
    case unbondingStarted = "unbonding_started"
    case unbondingReleased = "unbonding_released"
    case tombstoned
    case proposalCreated = "proposal_created"
    case voteCast = "vote_cast"
    case proposalPassed = "proposal_passed"
    case proposalFailed = "proposal_failed"
    case proposalExpired = "proposal_expired"
    case validatorUpdated = "validator_updated"
    case parameterChanged = "parameter_changed"
    case blobReleased = "blob_released"

    public var attributeKeys: [String] {
        switch self {
        case .transfer: ["sender", "recipient", "amount"]
        case .offerCreated: ["offer", "provider"]
        case .offerRemoved: ["offer"]
        case .modelRegistered: ["model"]
        case .jobCreated: ["job", "client", "provider", "escrow"]
        case .resultPosted:
            ["job", "output_hash", "trace_blob", "trace_length", "trace_root", "work_units", "window_end"]
        case .jobEnded: ["job", "outcome", "reason", "reason_code", "paid", "refund", "burned"]
        case .challengeFailed: ["job", "challenger", "layer", "tile", "work_units", "bond_forfeited"]
        case .challengeUpheld: ["job", "challenger", "layer", "tile", "work_units"]
        case .slashed: ["account", "amount", "to_challenger", "burned"]
        case .bonded: ["account", "amount"]
        case .unbondingStarted: ["account", "amount", "release_height"]
        case .unbondingReleased: ["account", "amount"]
        case .tombstoned: ["validator"]
        case .proposalCreated, .proposalPassed, .proposalExpired: ["proposal"]
        case .proposalFailed: ["proposal", "reason"]
        case .voteCast: ["proposal", "voter", "approve"]
        case .validatorUpdated: ["validator", "power", "effective_height"]
        case .parameterChanged: ["name", "value"]
        case .blobReleased: ["blob"]
        }
    }
}

extension LedgerEvent {
    /// The event as a type name and string attributes: the form RPC clients, subscriptions and the
    /// node's transaction index see. Hashes and keys are hex, addresses bech32m, amounts base units.
    public var typeAndAttributes: (type: String, attributes: [(key: String, value: String)]) {
        let (type, values) = typeAndValues
        precondition(values.count == type.attributeKeys.count, "event \(type) has one value per attribute key")
        return (type.rawValue, Array(zip(type.attributeKeys, values)))
    }

    /// The attribute values, in the order of `EventType.attributeKeys`.
    private var typeAndValues: (EventType, [String]) {
        switch self {
        case let .transferred(sender, recipient, amount):
            (.transfer, [sender.description, recipient.description, "\(amount)"])
        case let .offerCreated(offer, provider): (.offerCreated, [hex(offer), provider.description])
        case let .offerRemoved(offer): (.offerRemoved, [hex(offer)])
        case let .modelRegistered(model): (.modelRegistered, [hex(model)])
        case let .jobCreated(job, client, provider, escrow):
            (.jobCreated, [hex(job), client.description, provider.description, "\(escrow)"])
        case let .resultPosted(job, outputHash, traceBlob, traceRoot, workUnits, windowEnd):
            (.resultPosted, [hex(job), hex(outputHash), hex(traceBlob.id.digest), "\(traceBlob.length)", hex(traceRoot),
                             "\(workUnits)", "\(windowEnd)"])
        case let .jobEnded(job, outcome, reason, paid, refund, burned):
            (.jobEnded, [
                hex(job), outcome.rawValue, "\(reason)", "\(reason.rawValue)", "\(paid)", "\(refund)", "\(burned)",
            ])
        case let .challengeFailed(job, challenged, bondForfeited):
            (.challengeFailed, [hex(job)] + challenged.values + ["\(bondForfeited)"])
        case let .challengeUpheld(job, challenged): (.challengeUpheld, [hex(job)] + challenged.values)
        case let .slashed(account, amount, toChallenger, burned):
            (.slashed, [account.description, "\(amount)", "\(toChallenger)", "\(burned)"])
        case let .bonded(account, amount): (.bonded, [account.description, "\(amount)"])
        case let .unbondingStarted(account, amount, releaseHeight):
            (.unbondingStarted, [account.description, "\(amount)", "\(releaseHeight)"])
        case let .unbondingReleased(account, amount): (.unbondingReleased, [account.description, "\(amount)"])
        case let .tombstoned(validator): (.tombstoned, [Hex.encode(validator.bytes)])
        case let .proposalCreated(proposal): (.proposalCreated, [hex(proposal)])
        case let .proposalPassed(proposal): (.proposalPassed, [hex(proposal)])
        case let .proposalExpired(proposal): (.proposalExpired, [hex(proposal)])
        case let .proposalFailed(proposal, reason): (.proposalFailed, [hex(proposal), reason])
        case let .voteCast(proposal, voter, approve):
            (.voteCast, [hex(proposal), Hex.encode(voter.bytes), approve ? "true" : "false"])
        case let .validatorUpdated(validator, power, effectiveHeight):
            (.validatorUpdated, [Hex.encode(validator.bytes), "\(power)", "\(effectiveHeight)"])
        case let .parameterChanged(name, value): (.parameterChanged, [name, "\(value)"])
        case let .blobReleased(blob): (.blobReleased, [hex(blob)])
        }
    }
}

extension ChallengedTile {
    /// Challenger, layer, tile and work units, as `challenge_failed` and `challenge_upheld` list them.
    var values: [String] { [challenger.description, "\(layer)", "\(tile)", "\(workUnits)"] }
}

private func hex(_ hash: Hash) -> String { Hex.encode(hash.bytes) }
