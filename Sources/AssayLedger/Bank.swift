import AssayCrypto
import AssayTypes

/// Balances, burning, and transfers.
extension BlockExecutor {
    func credit(_ address: Address, _ amount: Amount) throws(LedgerError) {
        guard amount > 0 else { return }
        var account = try state.account(address)
        // Balances are bounded by the total supply, which fits 64 bits: an overflow is a broken invariant.
        guard let balance = try? account.balance.adding(amount) else {
            throw .corruptState(key: address.description, reason: "balance overflow")
        }
        account.balance = balance
        state.setAccount(address, account)
    }

    func debit(_ address: Address, _ amount: Amount) throws {
        var account = try state.account(address)
        account.balance = try account.balance.minus(amount, else: .insufficientBalance)
        state.setAccount(address, account)
    }

    /// Destroys credits that have already left every balance, stake and escrow.
    func burn(_ amount: Amount) throws(LedgerError) {
        guard amount > 0 else { return }
        var totals = try state.totals()
        guard let burned = try? totals.burned.adding(amount) else {
            throw .corruptState(key: "totals", reason: "burned overflow")
        }
        totals.burned = burned
        state.write(StateKey.totals, totals)
    }

    func move(_ transfer: Transfer, from sender: Address) throws {
        guard transfer.amount > 0 else { throw TxFailure(.zeroAmount) }
        try debit(sender, transfer.amount)
        try credit(transfer.recipient, transfer.amount)
        emit(.transferred(sender: sender, recipient: transfer.recipient, amount: transfer.amount))
    }
}

/// Bonding, unbonding, release and slashing of stake.
extension BlockExecutor {
    func bond(_ amount: Amount, for address: Address) throws {
        guard amount > 0 else { throw TxFailure(.zeroAmount) }
        try debit(address, amount)
        var stake = try state.stake(address)
        stake.bonded = try stake.bonded.plus(amount)
        state.setStake(address, stake)
        emit(.bonded(account: address, amount: amount))
    }

    func unbond(_ amount: Amount, for address: Address) throws {
        guard amount > 0 else { throw TxFailure(.zeroAmount) }
        var stake = try state.stake(address)
        stake.bonded = try stake.bonded.minus(amount, else: .insufficientStake)
        let release = height + params.unbondingBlocks
        if let index = stake.unbonding.firstIndex(where: { $0.releaseHeight == release }) {
            stake.unbonding[index].amount += amount
        } else {
            guard stake.unbonding.count < StakeRecord.unbondingEntriesMax else {
                throw TxFailure(.tooManyUnbondingEntries)
            }
            stake.unbonding.append(UnbondingEntry(amount: amount, releaseHeight: release))
            stake.unbonding.sort { $0.releaseHeight < $1.releaseHeight }
            addTimeout(at: release, .unbonding, id: address.bytes)
        }
        state.setStake(address, stake)
        emit(.unbondingStarted(account: address, amount: amount, releaseHeight: release))
    }

    /// Returns every entry due by this height to the balance.
    func releaseUnbonding(_ address: Address) throws {
        var stake = try state.stake(address)
        let due = stake.unbonding.filter { $0.releaseHeight <= height }
        guard !due.isEmpty else { return }
        stake.unbonding.removeAll { $0.releaseHeight <= height }
        let amount = due.reduce(0) { $0 + $1.amount }
        state.setStake(address, stake)
        try credit(address, amount)
        emit(.unbondingReleased(account: address, amount: amount))
    }

    /// Takes up to `amount` from the stake, bonded first, then unbonding entries in release order.
    /// Returns what was taken; the caller decides where it goes.
    func slash(_ address: Address, _ amount: Amount) throws(LedgerError) -> Amount {
        var stake = try state.stake(address)
        var rest = amount
        let fromBonded = min(rest, stake.bonded)
        stake.bonded -= fromBonded
        rest -= fromBonded
        for index in stake.unbonding.indices where rest > 0 {
            let taken = min(rest, stake.unbonding[index].amount)
            stake.unbonding[index].amount -= taken
            rest -= taken
        }
        stake.unbonding.removeAll { $0.amount == 0 }
        state.setStake(address, stake)
        return amount - rest
    }
}
