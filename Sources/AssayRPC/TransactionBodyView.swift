import AssayAPI
import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayTypes

/// A transaction body's fields as JSON, so clients read what a transaction did without decoding its bytes.
/// Amounts are decimal strings (they can exceed 2^53), other numbers integers; hashes, keys and byte strings hex. Blobs appear as `<name>_hash` (the blob id) and
/// `<name>_bytes` (its length); their bytes are fetched with `GET /blobs/{id}`.
enum TransactionBodyView {
    static func json(_ body: TransactionBody) -> JSONValue {
        switch body {
        case let .transfer(transfer):
            object(["recipient": .string(transfer.recipient.description), "amount": amount(transfer.amount)])
        case let .stake(stake): object(["amount": amount(stake.amount)])
        case let .unstake(unstake): object(["amount": amount(unstake.amount)])
        case let .offer(offer):
            object([
                "kernels": .array(offer.kernels.map(JSONValue.string)),
                "price_per_work_unit": amount(offer.pricePerWorkUnit), "capacity": .unsigned(UInt64(offer.capacity)),
                "expiry_height": .unsigned(offer.expiryHeight),
            ])
        case let .withdrawOffer(withdraw): object(["offer_id": hash(withdraw.offerID)])
        case let .registerModel(register):
            object([
                "model_hash": hash(register.modelBlob.id.digest), "model_bytes": .unsigned(register.modelBlob.length),
            ])
        case let .job(job):
            object([
                "offer_id": hash(job.offerID), "kernel": .string(job.kernel), "model_hash": hash(job.modelHash),
                "input_hash": hash(job.inputBlob.id.digest), "input_bytes": .unsigned(job.inputBlob.length),
                "max_work_units": .unsigned(job.maxWorkUnits), "deadline": .unsigned(job.deadline),
            ])
        case let .result(result):
            object([
                "job_id": hash(result.jobID), "output_hash": hash(result.outputHash),
                "output_bytes": .unsigned(result.outputBlob.length), "trace_hash": hash(result.traceBlob.id.digest),
                "trace_bytes": .unsigned(result.traceBlob.length), "trace_root": hash(result.traceRoot),
                "work_units": .unsigned(result.workUnits),
            ])
        case let .challenge(challenge):
            object([
                "job_id": hash(challenge.jobID), "layer": .unsigned(UInt64(challenge.layer)),
                "tile": .unsigned(UInt64(challenge.tile)), "bond": amount(challenge.bond),
            ])
        case let .settle(settle): object(["job_id": hash(settle.jobID)])
        case let .evidence(evidence):
            object([
                "validator": .string(evidence.first.validator.description), "height": .unsigned(evidence.first.height),
                "round": .unsigned(UInt64(evidence.first.round)),
            ])
        case let .governancePropose(proposal): object(["action": action(proposal.action)])
        case let .governanceVote(vote): object(["proposal_id": hash(vote.proposalID), "approve": .bool(vote.approve)])
        }
    }

    private static func action(_ action: ProposalAction) -> JSONValue {
        switch action {
        case let .addValidator(key, power, nodeKey):
            object([
                "type": .string("add_validator"), "public_key": .string(key.description), "power": amount(power),
                "node_key": .string(nodeKey.description),
            ])
        case let .removeValidator(key):
            object(["type": .string("remove_validator"), "public_key": .string(key.description)])
        case let .setParameter(name, value):
            object(["type": .string("set_parameter"), "name": .string(name), "value": amount(value)])
        }
    }

    private static func object(_ fields: [String: JSONValue]) -> JSONValue { .object(fields) }
    private static func hash(_ hash: Hash) -> JSONValue { .string(hash.description) }
    private static func amount(_ value: UInt64) -> JSONValue { .string(String(value)) }
}
