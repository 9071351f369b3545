import AssayCrypto
import AssayLedger
import AssayStorage
import AssayTypes

/// Draws random transactions of every kind, valid and invalid, against what the chain has seen so far.
struct RandomTransactions {
    var generator: SeededGenerator
    let keys = (1...12).map { testKey(UInt8($0)) }
    let outsider = testKey(40)
    var offers: [Hash] = []
    var jobs: [Hash] = []
    /// Jobs whose result was accepted, latest last: challenges aim at these, whose window is short.
    var posted: [Hash] = []
    /// Each job's provider, and the wrong tile of the last result drawn for it (looked up by id, never iterated).
    var providers: [Hash: Address] = [:]
    var wrongTiles: [Hash: UInt32] = [:]
    var proposals: [Hash] = []

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    mutating func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &generator)] }
    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &generator) < percent }
    mutating func amount(_ range: ClosedRange<UInt64>) -> UInt64 { UInt64.random(in: range, using: &generator) }
    mutating func randomHash() -> Hash { Hash(generator.bytes(32)) }

    /// Remembers the offers, jobs and proposals a block created, so later transactions can refer to them.
    mutating func learn(from outcome: BlockOutcome, transactions: [Transaction]) {
        for case let .jobCreated(job, _, provider, _) in outcome.results.flatMap(\.events) { providers[job] = provider }
        for (transaction, result) in zip(transactions, outcome.results) where result.status == .included(.ok) {
            switch transaction.body {
            case .offer: offers.append(transaction.hash)
            case .job: jobs.append(transaction.hash)
            case let .result(result): posted.append(result.jobID)
            case .governancePropose: proposals.append(transaction.hash)
            default: break
            }
        }
    }

    /// One block: each sender appears at most once, so each transaction's nonce is known in advance.
    mutating func block<Store>(for chain: Chain<Store>, size: Int) throws -> [Transaction] {
        var senders = keys.shuffled(using: &generator)
        var transactions: [Transaction] = []
        while transactions.count < size, let sender = senders.popLast() {
            transactions.append(try transaction(from: sender, chain: chain))
        }
        return transactions
    }

    private mutating func transaction<Store>(from sender: SecretKey, chain: Chain<Store>) throws -> Transaction {
        let body = try self.body(from: sender, chain: chain)
        let nonce = try chain.nonce(sender)
        switch Int.random(in: 0..<100, using: &generator) {
        case 0..<3:  // wrong nonce
            return try Transaction.signed(chainID: chain.chainID, nonce: nonce + 1, fee: 1, body: body, key: sender)
        case 3..<5:  // fee below the minimum
            return try Transaction.signed(chainID: chain.chainID, nonce: nonce, fee: 0, body: body, key: sender)
        case 5..<7:  // signature by another key
            var forged = try Transaction.signed(chainID: chain.chainID, nonce: nonce, fee: 1, body: body, key: sender)
            forged.signature = try outsider.sign(forged.signingHash.bytes)
            return forged
        default:
            return try Transaction.signed(chainID: chain.chainID, nonce: nonce, fee: amount(1...3), body: body, key: sender)
        }
    }

    private mutating func body<Store>(from sender: SecretKey, chain: Chain<Store>) throws -> TransactionBody {
        let height = chain.height + 1
        // A provider with jobs awaiting a result mostly posts one, so that results are accepted and challenged.
        let own = jobs.filter { providers[$0] == address(sender) && !posted.contains($0) }
        if !own.isEmpty && chance(50) { return .result(result(job: pick(own), chain: chain)) }
        if !posted.isEmpty && chance(10) { return .challenge(challenge()) }
        switch Int.random(in: 0..<13, using: &generator) {
        case 0: return .transfer(Transfer(recipient: chance(10) ? Address(publicKey: testKey(UInt8(50 + amount(0...20))).publicKey) : address(pick(keys)), amount: amount(0...300_000)))
        case 1: return .stake(Stake(amount: amount(0...20_000)))
        case 2: return .unstake(Unstake(amount: amount(0...8_000)))
        case 3:
            let kernels = chance(90) ? [GemmFixture.kernel] : ["no-such/1"]
            return .offer(Offer(kernels: kernels, pricePerWorkUnit: amount(0...5), capacity: UInt32(amount(0...3)), expiryHeight: height + amount(0...30)))
        case 4: return .withdrawOffer(WithdrawOffer(offerID: offers.isEmpty || chance(20) ? randomHash() : pick(offers)))
        case 5:
            let model = chance(70) ? GemmFixture.modelBlob : chain.blobs.add(generator.bytes(20))
            return .registerModel(RegisterModel(modelBlob: model))
        case 6:
            return .job(Job(
                offerID: offers.isEmpty || chance(10) ? randomHash() : pick(offers), kernel: GemmFixture.kernel,
                modelHash: GemmFixture.modelHash,
                inputBlob: chance(90) ? GemmFixture.inputBlob : chain.blobs.add(generator.bytes(8)),
                maxWorkUnits: amount(10...200), deadline: height + amount(0...12)))
        case 7:
            guard !jobs.isEmpty else { return .settle(Settle(jobID: randomHash())) }
            return .result(result(job: pick(jobs), chain: chain))
        case 8: return .challenge(challenge())
        case 9: return .settle(Settle(jobID: jobs.isEmpty ? randomHash() : pick(jobs)))
        case 10: return .evidence(try evidence(chain: chain, height: height))
        case 11: return .governancePropose(GovernanceProposal(action: proposalAction()))
        default:
            return .governanceVote(GovernanceVote(proposalID: proposals.isEmpty ? randomHash() : pick(proposals), approve: chance(80)))
        }
    }

    /// Mostly of a recent result, half the time at the tile its provider got wrong (as a validator would). Layer 1
    /// and tile 4 do not exist (the gemm fixture has one layer of four tiles).
    private mutating func challenge() -> Challenge {
        let targets = chance(80) && !posted.isEmpty ? Array(posted.suffix(3)) : jobs
        let job = targets.isEmpty ? randomHash() : pick(targets)
        let tile = chance(50) ? wrongTiles[job] ?? UInt32(amount(0...4)) : UInt32(amount(0...4))
        return Challenge(jobID: job, layer: chance(10) ? 1 : 0, tile: tile, bond: amount(5...100))
    }

    /// Honest, or with a wrong output or a corrupted tile, or wrong work units.
    private mutating func result<Store>(job: Hash, chain: Chain<Store>) -> JobResult {
        let (wrongOutput, corruptTile) = (chance(20), chance(30) ? Int(amount(0...3)) : nil)
        // A wrong output differs in the last tile (3).
        wrongTiles[job] = corruptTile.map(UInt32.init) ?? (wrongOutput ? 3 : nil)
        return GemmFixture.result(
            job: job, wrongOutput: wrongOutput, corruptTile: corruptTile, workUnits: chance(10) ? 20 : nil,
            blobs: chain.blobs)
    }

    private mutating func proposalAction() -> ProposalAction {
        switch Int.random(in: 0..<3, using: &generator) {
        case 0:
            // Candidate 30 + i runs node key 40 + i (no extra draw: the seeds' streams stay as they were).
            let candidate = UInt8(amount(0...5))
            return .addValidator(
                testKey(30 + candidate).publicKey, power: amount(0...20), nodeKey: testKey(40 + candidate).publicKey)
        case 1: return .removeValidator(pick(keys).publicKey)
        default: return .setParameter(name: pick(["take_rate_bps", "challenge_window_blocks", "no_such", "nondelivery_penalty"]), value: amount(0...20_000))
        }
    }

    /// Double-sign evidence, against validator 4 only (so the set never empties), sometimes stale or forged.
    private mutating func evidence<Store>(chain: Chain<Store>, height: Height) throws -> DoubleSignEvidence {
        let cheater = chance(70) ? testKey(4) : pick(keys)
        let voteHeight = amount(1...height)
        let chainID = cheater.publicKey == testKey(4).publicKey ? chain.chainID : "forged"
        func vote(_ fill: UInt8) throws -> Vote {
            let hash = Hash([UInt8](repeating: fill, count: 32))
            let bytes = Vote.signBytes(chainID: chainID, kind: .prevote, height: voteHeight, round: 1, blockHash: hash)
            return Vote(kind: .prevote, height: voteHeight, round: 1, blockHash: hash, validator: cheater.publicKey, signature: try cheater.sign(bytes))
        }
        return DoubleSignEvidence(try vote(1), try vote(2))!
    }
}
