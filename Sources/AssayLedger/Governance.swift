import AssayCodec
import AssayCrypto
import AssayTypes

/// The permissioned part: validators propose and vote; more than two thirds of this height's voting power
/// passes a proposal, which applies at once (validator changes take effect at height + 2).
extension BlockExecutor {
    func propose(_ action: ProposalAction, by proposer: PublicKey) throws {
        guard context.validators.power(of: proposer) > 0 else { throw TxFailure(.notValidator) }
        guard try isApplicable(action) else { throw TxFailure(.invalidProposal) }
        let id = transactionHash
        let endHeight = height + params.governanceVotingBlocks
        let record = ProposalRecord(
            proposer: proposer, action: action, endHeight: endHeight, yes: [proposer], no: [], status: .open)
        addTimeout(at: endHeight, .proposal, id: id.bytes)
        emit(.proposalCreated(proposal: id))
        try tally(id, record)
    }

    func castVote(_ vote: GovernanceVote, by voter: PublicKey) throws {
        guard context.validators.power(of: voter) > 0 else { throw TxFailure(.notValidator) }
        guard var record: ProposalRecord = try state.read(StateKey.proposal(vote.proposalID)) else {
            throw TxFailure(.proposalNotFound)
        }
        guard record.status == .open, height <= record.endHeight else { throw TxFailure(.proposalClosed) }
        guard !record.yes.contains(voter), !record.no.contains(voter) else { throw TxFailure(.alreadyVoted) }
        if vote.approve {
            record.yes = (record.yes + [voter]).sorted()
        } else {
            record.no = (record.no + [voter]).sorted()
        }
        emit(.voteCast(proposal: vote.proposalID, voter: voter, approve: vote.approve))
        try tally(vote.proposalID, record)
    }

    func expireProposal(_ id: Hash) throws {
        guard var record: ProposalRecord = try state.read(StateKey.proposal(id)), record.status == .open else { return }
        record.status = .expired
        state.write(StateKey.proposal(id), record)
        emit(.proposalExpired(proposal: id))
    }

    /// Stores the proposal, and applies it if the yes votes now hold more than two thirds of the power.
    private func tally(_ id: Hash, _ record: ProposalRecord) throws {
        var record = record
        let yesPower = record.yes.reduce(UInt64(0)) { $0 + context.validators.power(of: $1) }
        if context.validators.isQuorum(yesPower) {
            removeTimeout(at: record.endHeight, .proposal, id: id.bytes)
            if try isApplicable(record.action) {
                try apply(record.action)
                record.status = .passed
                emit(.proposalPassed(proposal: id))
            } else {
                record.status = .failed
                emit(.proposalFailed(proposal: id, reason: "no longer applicable"))
            }
        }
        state.write(StateKey.proposal(id), record)
    }

    /// Whether the action could be applied to the current state.
    private func isApplicable(_ action: ProposalAction) throws -> Bool {
        switch action {
        case let .addValidator(key, power, nodeKey):
            let record: ValidatorRecord? = try state.read(StateKey.validator(key))
            guard power > 0, power < 1 << 62, record?.tombstoned != true else { return false }
            guard try keysStayApart(key, nodeKey: nodeKey) else { return false }
            // The set it makes at H + 2 must keep ValidatorSet's bounds: a set that breaks them would stop every node.
            let others = try activePowers().filter { $0.key != StateKey.validator(key) }.map(\.power)
            return others.count < ValidatorSet.sizeMax && Self.staysUnderPowerBound(power, others)
        case let .removeValidator(key):
            let record: ValidatorRecord? = try state.read(StateKey.validator(key))
            guard let record, record.power > 0 else { return false }
            // The set must never become empty.
            return try activePowers().count > 1
        case let .setParameter(name, value):
            let current = try state.params()
            return (try? current.setting(name, to: value)) != nil
        }
    }

    private func apply(_ action: ProposalAction) throws {
        switch action {
        case let .addValidator(key, power, nodeKey):
            state.write(StateKey.validator(key), ValidatorRecord(power: power, nodeKey: nodeKey))
            setValidatorPower(key, power)
        case let .removeValidator(key):
            // isApplicable found the record; the node key stays, for the heights the validator still votes at.
            guard var record: ValidatorRecord = try state.read(StateKey.validator(key)) else { return }
            record.power = 0
            state.write(StateKey.validator(key), record)
            setValidatorPower(key, 0)
        case let .setParameter(name, value):
            state.write(StateKey.params, try state.params().setting(name, to: value))
            emit(.parameterChanged(name: name, value: value))
        }
    }

    /// Whether `nodeKey` may be `key`'s node key: not a validator's consensus key, no other validator's node key,
    /// and `key` no other validator's node key, so that P2P identities and vote signers never mix. Records are
    /// kept after removal, so a node key is never handed to a second validator.
    private func keysStayApart(_ key: PublicKey, nodeKey: PublicKey) throws -> Bool {
        guard nodeKey != key, try state.read(StateKey.validator(nodeKey), as: ValidatorRecord.self) == nil else {
            return false
        }
        let own = StateKey.validator(key)
        for entry in try state.scan(prefix: [StateKey.validatorPrefix]) where entry.key != own {
            let record = try ValidatorRecord(canonicalBytes: entry.value)
            if record.nodeKey == nodeKey || record.nodeKey == key { return false }
        }
        return true
    }

    /// The state keys and powers of the validators with power.
    private func activePowers() throws -> [(key: [UInt8], power: UInt64)] {
        try state.scan(prefix: [StateKey.validatorPrefix]).compactMap { entry in
            let power = (try? ValidatorRecord(canonicalBytes: entry.value))?.power ?? 0
            return power > 0 ? (entry.key, power) : nil
        }
    }

    /// Whether `power` plus `others` stays under ValidatorSet's 2^62 total (each term is below 2^62, so the running
    /// sum checked at each step cannot overflow).
    private static func staysUnderPowerBound(_ power: UInt64, _ others: [UInt64]) -> Bool {
        var total = power
        for other in others {
            total += other
            if total >= 1 << 62 { return false }
        }
        return total < 1 << 62
    }
}
