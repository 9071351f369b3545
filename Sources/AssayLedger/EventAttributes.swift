import AssayCrypto
import AssayTypes

extension LedgerEvent {
    /// The event as a type name and string attributes: the form RPC clients, subscriptions and the
    /// node's transaction index see. Hashes and keys are hex, addresses bech32m, amounts base units.
    public var typeAndAttributes: (type: String, attributes: [(key: String, value: String)]) {
        switch self {
        case let .transferred(sender, recipient, amount):
            ("transfer", [("sender", sender.description), ("recipient", recipient.description), ("amount", "\(amount)")])
        case let .offerCreated(offer, provider):
            ("offer_created", [("offer", hex(offer)), ("provider", provider.description)])
        case let .offerRemoved(offer):
            ("offer_removed", [("offer", hex(offer))])
        case let .modelRegistered(model):
            ("model_registered", [("model", hex(model))])
        case let .jobCreated(job, client, provider, escrow):
            ("job_created", [("job", hex(job)), ("client", client.description), ("provider", provider.description),
                             ("escrow", "\(escrow)")])
        case let .resultPosted(job, outputHash, traceBlob, traceRoot, workUnits, windowEnd):
            ("result_posted", [("job", hex(job)), ("output_hash", hex(outputHash)),
                               ("trace_blob", hex(traceBlob.id.digest)), ("trace_length", "\(traceBlob.length)"),
                               ("trace_root", hex(traceRoot)), ("work_units", "\(workUnits)"),
                               ("window_end", "\(windowEnd)")])
        case let .jobEnded(job, outcome, reason, paid, refund, burned):
            ("job_ended", [("job", hex(job)), ("outcome", outcome.rawValue), ("reason", "\(reason)"),
                           ("reason_code", "\(reason.rawValue)"), ("paid", "\(paid)"), ("refund", "\(refund)"),
                           ("burned", "\(burned)")])
        case let .challengeFailed(job, challenged, bondForfeited):
            ("challenge_failed", [("job", hex(job))] + challenged.attributes + [("bond_forfeited", "\(bondForfeited)")])
        case let .challengeUpheld(job, challenged):
            ("challenge_upheld", [("job", hex(job))] + challenged.attributes)
        case let .slashed(account, amount, toChallenger, burned):
            ("slashed", [("account", account.description), ("amount", "\(amount)"),
                         ("to_challenger", "\(toChallenger)"), ("burned", "\(burned)")])
        case let .unbondingStarted(account, amount, releaseHeight):
            ("unbonding_started", [("account", account.description), ("amount", "\(amount)"),
                                   ("release_height", "\(releaseHeight)")])
        case let .unbondingReleased(account, amount):
            ("unbonding_released", [("account", account.description), ("amount", "\(amount)")])
        case let .tombstoned(validator):
            ("tombstoned", [("validator", Hex.encode(validator.bytes))])
        case let .proposalCreated(proposal):
            ("proposal_created", [("proposal", hex(proposal))])
        case let .proposalPassed(proposal):
            ("proposal_passed", [("proposal", hex(proposal))])
        case let .proposalExpired(proposal):
            ("proposal_expired", [("proposal", hex(proposal))])
        case let .proposalFailed(proposal, reason):
            ("proposal_failed", [("proposal", hex(proposal)), ("reason", reason)])
        case let .validatorUpdated(validator, power, effectiveHeight):
            ("validator_updated", [("validator", Hex.encode(validator.bytes)), ("power", "\(power)"),
                                   ("effective_height", "\(effectiveHeight)")])
        case let .parameterChanged(name, value):
            ("parameter_changed", [("name", name), ("value", "\(value)")])
        case let .blobReleased(blob):
            ("blob_released", [("blob", hex(blob))])
        }
    }
}

extension ChallengedTile {
    var attributes: [(key: String, value: String)] {
        [("challenger", challenger.description), ("layer", "\(layer)"), ("tile", "\(tile)"),
         ("work_units", "\(workUnits)")]
    }
}

private func hex(_ hash: Hash) -> String { Hex.encode(hash.bytes) }
