import AssayCodec
import AssayCrypto
import AssayTypes

/// Executes one block's transactions and end-of-block work against a `StateView`.
/// The rules themselves are in the extensions (Bank, Staking, Market, Verification, Settlement, Evidence,
/// Governance); this file holds the per-transaction frame: checks, fee, and all-or-nothing bodies.
final class BlockExecutor {
    let context: BlockContext
    let state: StateView
    /// Fixed for the whole block: a parameter changed by governance applies from the next height.
    let params: Params
    /// Kernel work left for adjudicating challenges in this block.
    var workRemaining: UInt64
    /// The transaction being executed (its hash names offers, jobs and proposals it creates).
    var transactionHash: Hash = .zero
    private(set) var events: [LedgerEvent] = []
    /// Receives the fees, credited once at the end of the transactions.
    let proposerAddress: Address
    private var feesCollected: Amount = 0
    /// Final power per validator changed in this block, applied at height + 2.
    var validatorUpdates: [PublicKey: UInt64] = [:]

    init(context: BlockContext, state: StateView) throws(LedgerError) {
        self.context = context
        self.state = state
        params = try state.params()
        proposerAddress = Address(publicKey: context.proposer)
        workRemaining = params.blockWorkBudget
    }

    var height: Height { context.height }

    func emit(_ event: LedgerEvent) { events.append(event) }

    func execute(_ transactions: [Transaction]) throws(LedgerError) -> [TransactionResult] {
        var results: [TransactionResult] = []
        results.reserveCapacity(transactions.count)
        for transaction in transactions { results.append(try execute(transaction)) }
        try credit(proposerAddress, feesCollected)
        state.commitTransaction()
        return results
    }

    private func execute(_ transaction: Transaction) throws(LedgerError) -> TransactionResult {
        let hash = transaction.hash
        let sender = transaction.senderAddress
        var account = try state.account(sender)
        let blobCharge = blobFee(transaction.body)
        if let rejection = check(transaction, account: account, blobFee: blobCharge) {
            return TransactionResult(transactionHash: hash, status: .excluded(rejection), events: [])
        }
        // The fee, the blob fee (burned) and the nonce are taken whatever the body does.
        let burned = blobCharge ?? 0
        account.balance -= transaction.fee + burned
        account.nonce += 1
        state.setAccount(sender, account)
        try burn(burned)
        // Fees are bounded by the supply, so their sum cannot overflow.
        feesCollected += transaction.fee
        state.commitTransaction()

        transactionHash = hash
        events.removeAll()
        let code = try run(transaction.body, sender: transaction.sender, address: sender)
        let emitted = events
        events.removeAll()
        return TransactionResult(transactionHash: hash, status: .included(code), events: emitted)
    }

    /// The checks that keep a transaction out of the block altogether.
    private func check(_ transaction: Transaction, account: Account, blobFee: Amount?) -> Rejection? {
        if transaction.chainID != context.chainID { return .wrongChainID }
        if transaction.nonce != account.nonce { return .wrongNonce(expected: account.nonce) }
        if transaction.fee < params.minFee { return .feeBelowMinimum(minimum: params.minFee) }
        guard let blobFee, let due = try? transaction.fee.adding(blobFee), due <= account.balance else {
            return .cannotPayFee
        }
        if context.checkSignatures && !transaction.hasValidSignature { return .badSignature }
        return nil
    }

    /// Runs a body; on failure its writes and events are dropped and the code is returned.
    private func run(_ body: TransactionBody, sender: PublicKey, address: Address) throws(LedgerError) -> ResultCode {
        do {
            try dispatch(body, sender: sender, address: address)
            state.commitTransaction()
            return .ok
        } catch let failure as TxFailure {
            state.rollbackTransaction()
            events.removeAll()
            return failure.code
        } catch let error as LedgerError {
            throw error
        } catch {
            throw .corruptState(key: "-", reason: "unexpected error \(error)")
        }
    }

    /// `address` is the sender's, derived once per transaction.
    private func dispatch(_ body: TransactionBody, sender: PublicKey, address: Address) throws {
        switch body {
        case let .transfer(transfer): try move(transfer, from: address)
        case let .stake(stake): try bond(stake.amount, for: address)
        case let .unstake(unstake): try unbond(unstake.amount, for: address)
        case let .offer(offer): try createOffer(offer, provider: address)
        case let .withdrawOffer(withdraw): try withdrawOffer(withdraw.offerID, by: address)
        case let .registerModel(model): try registerModel(model.modelBlob)
        case let .job(job): try createJob(job, client: address)
        case let .result(result): try postResult(result, by: address)
        case let .challenge(challenge): try adjudicate(challenge, by: address)
        case let .settle(settle): try settleManually(settle.jobID)
        case let .evidence(evidence): try punish(evidence)
        case let .governancePropose(proposal): try propose(proposal.action, by: sender)
        case let .governanceVote(vote): try castVote(vote, by: sender)
        }
    }

    /// End-of-block work: everything whose timeout is this height, in key order (jobs, proposals, offers,
    /// unbonding). Each item is its own all-or-nothing step; none may fail.
    func endBlock() throws(LedgerError) -> [LedgerEvent] {
        events.removeAll()
        let prefix = StateKey.timeouts(at: height)
        for entry in try state.scan(prefix: prefix) {
            let tail = Array(entry.key.dropFirst(prefix.count))
            state.set(entry.key, nil)
            guard let kindByte = tail.first, let kind = TimeoutKind(rawValue: kindByte) else {
                throw .corruptState(key: Hex.encode(entry.key), reason: "unknown timeout kind")
            }
            do {
                try handleTimeout(kind, id: Array(tail.dropFirst()))
            } catch let error as LedgerError {
                throw error
            } catch {
                throw .corruptState(key: Hex.encode(entry.key), reason: "end-of-block step failed: \(error)")
            }
            state.commitTransaction()
        }
        let emitted = events
        events.removeAll()
        return emitted
    }

    private func handleTimeout(_ kind: TimeoutKind, id: [UInt8]) throws {
        switch kind {
        case .job: try settleAtTimeout(Self.hash(id))
        case .proposal: try expireProposal(Self.hash(id))
        case .offer: try expireOffer(Self.hash(id))
        case .unbonding: try releaseUnbonding(try Address(bytes: id))
        case .blobRelease: try releaseJobBlobs(Self.hash(id))
        }
    }

    private static func hash(_ bytes: [UInt8]) throws(LedgerError) -> Hash {
        guard bytes.count == Hash.byteCount else { throw .corruptState(key: Hex.encode(bytes), reason: "bad id") }
        return Hash(bytes)
    }

    func addTimeout(at height: Height, _ kind: TimeoutKind, id: [UInt8]) {
        state.set(StateKey.timeout(at: height, kind, id: id), [])
    }

    func removeTimeout(at height: Height, _ kind: TimeoutKind, id: [UInt8]) {
        state.set(StateKey.timeout(at: height, kind, id: id), nil)
    }
}
