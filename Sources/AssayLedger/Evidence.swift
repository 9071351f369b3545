import AssayCrypto
import AssayTypes

/// Double-sign evidence: slash, tombstone, and remove from the validator set at height + 2.
extension BlockExecutor {
    func punish(_ evidence: DoubleSignEvidence) throws {
        guard evidence.first.height <= height, evidence.isValid(chainID: context.chainID) else {
            throw TxFailure(.invalidEvidence)
        }
        // Older than the unbonding period, the stake it could slash may already be gone.
        guard height - evidence.first.height <= params.unbondingBlocks else { throw TxFailure(.evidenceTooOld) }
        let key = evidence.first.validator
        guard var record: ValidatorRecord = try state.read(StateKey.validator(key)) else {
            throw TxFailure(.unknownValidator)
        }
        guard !record.tombstoned else { throw TxFailure(.alreadyTombstoned) }
        let address = Address(publicKey: key)
        let stake = try state.stake(address)
        let slashed = try slash(address, Params.fraction(stake.slashable, bps: params.doubleSignSlashFraction))
        try burn(slashed)
        let wasActive = record.power > 0
        record.power = 0
        record.tombstoned = true
        state.write(StateKey.validator(key), record)
        emit(.slashed(account: address, amount: slashed, toChallenger: 0, burned: slashed))
        emit(.tombstoned(validator: key))
        if wasActive { setValidatorPower(key, 0) }
    }

    func setValidatorPower(_ key: PublicKey, _ power: UInt64) {
        validatorUpdates[key] = power
        emit(.validatorUpdated(validator: key, power: power, effectiveHeight: height + 2))
    }
}
