import AssayCrypto
import AssayLedger
import AssayTypes

/// The scenario's clients, sending real signed transactions to the nodes' mempools: transfers between accounts, a
/// provider's stake and offer with jobs that clients submit and it answers, and the validators' proposals and votes
/// that make the plan's validator changes. Each sender has at most one transaction in flight, sent again to every
/// running node until the committed state shows its nonce used. The clients act once per height, as it is first
/// committed. Confined to its scenario's thread.
final class Workload {
    /// How long after a new height the clients act (they read it, then sign).
    static let delayMs: UInt64 = 5
    static let resendMs: UInt64 = 2_000
    static let jobDeadlineBlocks: Height = 6
    static let offerPrice: Amount = 2

    /// The most advanced honest node's committed state: what a client reads before signing.
    struct View {
        let query: LedgerQuery<SimulatedDisk>
        let height: Height
        /// The set that votes on the next block (governance counts its power).
        let nextValidators: ValidatorSet
    }

    enum Sender: Hashable {
        case validator(Int)
        case account(Int)

        var key: SecretKey {
            switch self {
            case let .validator(index): SimKeys.secrets[index]
            case let .account(index): SimKeys.accountSecrets[index]
            }
        }
    }

    private struct InFlight {
        let transaction: Transaction
        var sentAtMs: UInt64
    }

    private var random: SimRandom
    private let actions: [ProposalAction]
    private let byzantineKey: Int?
    /// Looked up by sender only, never iterated.
    private var inFlight: [Sender: InFlight] = [:]
    /// The open proposal: its transaction's hash (its id) and who sent it.
    private var proposal: (id: Hash, by: Sender)?
    private var offer: Hash?
    /// Jobs submitted whose result is not posted yet, oldest first.
    private var jobs: [(id: Hash, deadline: Height)] = []
    private(set) var actionsPassed = 0
    private(set) var transactionsSent = 0
    /// This tick's time and the transactions it sends.
    private var nowMs: UInt64 = 0
    private var outbox: [Transaction] = []

    init(actions: [ProposalAction], byzantineKey: Int?, random: SimRandom) {
        self.actions = actions
        self.byzantineKey = byzantineKey
        self.random = random
    }

    var governanceDone: Bool { actionsPassed == actions.count }

    /// One round of client work: the transactions to hand to the nodes, new ones and those sent again.
    func tick(_ view: View, nowMs: UInt64) -> [Transaction] {
        self.nowMs = nowMs
        outbox = []
        for sender in inFlightSenders where committedNonce(sender, view) > inFlight[sender]!.transaction.nonce {
            inFlight[sender] = nil
        }
        for sender in inFlightSenders where nowMs >= inFlight[sender]!.sentAtMs + Self.resendMs {
            inFlight[sender]!.sentAtMs = nowMs
            outbox.append(inFlight[sender]!.transaction)
        }
        governance(view)
        market(view)
        if random.chance(permille: 500) {
            let recipient = SimKeys.publicKeys[random.int(0...SimKeys.countMax - 1)]
            send(.account(random.int(0...SimChain.accountCount - 1)),
                .transfer(Transfer(recipient: Address(publicKey: recipient), amount: UInt64(random.int(1...1_000)))), view)
        }
        return outbox
    }

    /// Senders with a transaction in flight, in a fixed order.
    private var inFlightSenders: [Sender] {
        ((0..<SimKeys.countMax).map(Sender.validator) + (0..<SimChain.accountCount).map(Sender.account))
            .filter { inFlight[$0] != nil }
    }

    private func committedNonce(_ sender: Sender, _ view: View) -> UInt64 {
        (try? view.query.account(Address(publicKey: sender.key.publicKey)).nonce) ?? 0
    }

    /// Signs `body` at the sender's committed nonce and submits it, unless the sender has a transaction in flight.
    @discardableResult
    private func send(_ sender: Sender, _ body: TransactionBody, _ view: View) -> Hash? {
        guard inFlight[sender] == nil else { return nil }
        let transaction = SimKeys.signed(
            sender.key, nonce: committedNonce(sender, view), fee: UInt64(random.int(1...10)), body: body)
        inFlight[sender] = InFlight(transaction: transaction, sentAtMs: nowMs)
        transactionsSent += 1
        outbox.append(transaction)
        return transaction.hash
    }

    /// The plan's actions in turn: an honest validator proposes, the honest validators vote yes until it passes.
    private func governance(_ view: View) {
        guard actionsPassed < actions.count else { return }
        let honest = view.nextValidators.validators.compactMap { validator in
            SimKeys.publicKeys.firstIndex(of: validator.publicKey).flatMap { $0 == byzantineKey ? nil : $0 }
        }
        guard let pending = proposal else {
            guard let proposer = honest.first(where: { inFlight[.validator($0)] == nil }) else { return }
            let action = actions[actionsPassed]
            proposal = send(.validator(proposer), .governancePropose(GovernanceProposal(action: action)), view)
                .map { (id: $0, by: Sender.validator(proposer)) }
            return
        }
        guard let record = try? view.query.proposal(pending.id) else {
            // Committed without creating a proposal (its proposer was no validator there): propose again.
            if inFlight[pending.by] == nil { proposal = nil }
            return
        }
        switch record.status {
        case .open:
            for voter in honest where !record.yes.contains(SimKeys.publicKeys[voter]) {
                send(.validator(voter), .governanceVote(GovernanceVote(proposalID: pending.id, approve: true)), view)
            }
        case .passed:
            actionsPassed += 1
            proposal = nil
        default:
            proposal = nil
        }
    }

    /// The provider bonds and offers; a client registers the model; clients submit jobs and the provider answers.
    private func market(_ view: View) {
        let provider = Sender.account(0)
        let fixture = JobFixture.shared
        let bonded = (try? view.query.stake(Address(publicKey: provider.key.publicKey)).bonded) ?? 0
        if bonded < SimChain.providerStake {
            send(provider, .stake(Stake(amount: SimChain.providerStake)), view)
            return
        }
        guard let offer, (try? view.query.offer(offer)) != nil else {
            if inFlight[provider] == nil {
                offer = send(provider, .offer(Offer(
                    kernels: [JobFixture.kernel.rawValue], pricePerWorkUnit: Self.offerPrice, capacity: 4,
                    expiryHeight: view.height + 1_000)), view)
            }
            return
        }
        guard (try? view.query.model(fixture.model.id.digest)) != nil else {
            send(.account(1), .registerModel(RegisterModel(modelBlob: fixture.model)), view)
            return
        }
        jobs.removeAll { job in
            guard let record = try? view.query.job(job.id) else { return view.height >= job.deadline }
            return record.status != .open
        }
        if let job = jobs.first { send(provider, .result(fixture.result(job: job.id)), view) }
        let client = Sender.account(random.int(1...SimChain.accountCount - 1))
        if jobs.count < 2, random.chance(permille: 300) {
            let deadline = view.height + Self.jobDeadlineBlocks
            if let id = send(client, .job(fixture.job(offer: offer, deadline: deadline)), view) { jobs.append((id, deadline)) }
        }
    }
}
