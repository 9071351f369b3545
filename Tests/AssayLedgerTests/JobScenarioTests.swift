import AssayCrypto
import AssayKernels
import AssayLedger
import AssayStorage
import AssayTypes
import Testing

/// Each way a job can end, step by step, with the money checked to the base unit.
@Suite struct JobScenarioTests {
    let provider = testKey(5)
    let client = testKey(6)
    let challenger = testKey(7)

    /// Block 1: the provider stakes and offers gemm at 2 per unit, the client registers the model.
    /// Block 2: the client's job (max 100 units, escrow 200, deadline 2 + `deadlineIn`). Returns the job id.
    func openJob(_ chain: Chain<InMemoryStore>, deadlineIn: Height = 5) throws -> (job: Hash, offer: Hash) {
        let offer = try chain.sign(provider, .offer(Offer(kernels: [GemmFixture.kernel], pricePerWorkUnit: 2, capacity: 4, expiryHeight: 100)), offset: 1)
        let block1 = try chain.commit([
            try chain.sign(provider, .stake(Stake(amount: 5_000))), offer,
            try chain.sign(client, .registerModel(RegisterModel(modelBlob: GemmFixture.modelBlob))),
        ])
        #expect(block1.results.map { chain.included(block1, block1.results.firstIndex(of: $0)!) } == [.ok, .ok, .ok])
        let job = try chain.sign(client, .job(Job(
            offerID: offer.hash, kernel: GemmFixture.kernel, modelHash: GemmFixture.modelHash,
            inputBlob: GemmFixture.inputBlob, maxWorkUnits: 100, deadline: 2 + deadlineIn)))
        let block2 = try chain.commit([job])
        #expect(chain.included(block2) == .ok)
        #expect(try chain.query.job(job.hash)?.escrow == 200)
        return (job.hash, offer.hash)
    }

    /// The fixture's job settled: 2 x 24 work units paid for, 10% of it burned, the rest of the 200 escrow back.
    static func settledFixture(at height: Height) -> JobSettlement {
        JobSettlement(height: height, paid: 48 - 4, burned: 4, refund: 200 - 48)
    }

    @Test func settledAfterTheWindowPaysProviderLessTakeAndRefundsTheRest() throws {
        let chain = try inMemoryChain()
        let (job, offer) = try openJob(chain)
        let providerBefore = try chain.query.account(address(provider)).balance
        let clientBefore = try chain.query.account(address(client)).balance
        let post = try chain.commit([try chain.sign(provider, .result(GemmFixture.result(job: job, blobs: chain.blobs)))])
        #expect(chain.included(post) == .ok)
        // Window end = 3 + 3 = 6: a settle at 5 is too early; at the end of block 6 the job settles by itself.
        try chain.advance(to: 4)
        let early = try chain.commit([try chain.sign(client, .settle(Settle(jobID: job)))])
        #expect(chain.included(early) == .tooEarlyToSettle)
        let last = try chain.commit([])
        #expect(chain.height == 6)

        let payment: UInt64 = 2 * GemmFixture.workUnits  // 48
        let take = payment / 10  // 10% take rate, burned
        let settlement = JobSettlement(height: 6, paid: payment - take, burned: take, refund: 200 - payment)
        #expect(try chain.query.job(job)?.status == .settled(.windowPassed, settlement))
        #expect(try chain.query.account(address(provider)).balance == providerBefore - 1 + payment - take)
        #expect(try chain.query.account(address(client)).balance == clientBefore - 1 + 200 - payment)
        #expect(try chain.query.totals().burned == take)
        #expect(try chain.query.offer(offer)?.openJobs == 0)
        #expect(last.endBlockEvents.contains(.jobEnded(
            job: job, outcome: .settled, reason: .windowPassed, paid: payment - take, refund: 200 - payment, burned: take)))
    }

    @Test func manualSettleAtTheWindowEnd() throws {
        let chain = try inMemoryChain()
        let (job, _) = try openJob(chain)
        try chain.commit([try chain.sign(provider, .result(GemmFixture.result(job: job, blobs: chain.blobs)))])
        try chain.advance(to: 5)
        let settle = try chain.commit([try chain.sign(client, .settle(Settle(jobID: job)))])
        #expect(chain.included(settle) == .ok)
        #expect(settle.endBlockEvents.isEmpty)
        #expect(try chain.query.job(job)?.status == .settled(.windowPassed, Self.settledFixture(at: 6)))
        let again = try chain.commit([try chain.sign(client, .settle(Settle(jobID: job)))])
        #expect(chain.included(again) == .wrongJobState)
    }

    @Test func refundedAtTheDeadlineWithoutResultPenalisesProvider() throws {
        let chain = try inMemoryChain()
        let (job, _) = try openJob(chain, deadlineIn: 3)
        let clientBefore = try chain.query.account(address(client)).balance
        try chain.advance(to: 4)
        // The deadline is 5: a result at 5 is late, and the job is refunded at the end of block 5.
        let late = try chain.commit([try chain.sign(provider, .result(GemmFixture.result(job: job, blobs: chain.blobs)))])
        #expect(chain.included(late) == .deadlinePassed)
        let settlement = JobSettlement(height: 5, refund: 200, slashed: 100)
        #expect(try chain.query.job(job)?.status == .refunded(.noResultByDeadline, settlement))
        #expect(try chain.query.account(address(client)).balance == clientBefore + 200)
        #expect(try chain.query.stake(address(provider)).bonded == 5_000 - 100)
        #expect(try chain.query.totals().burned == 100)
        #expect(late.endBlockEvents.contains(.jobEnded(
            job: job, outcome: .refunded, reason: .noResultByDeadline, paid: 0, refund: 200, burned: 0)))
    }

    @Test func anOutputDifferingFromTheLastLayerIsSlashedByAChallengeOfThatTile() throws {
        let chain = try inMemoryChain()
        let (job, _) = try openJob(chain)
        let clientBefore = try chain.query.account(address(client)).balance
        let challengerBefore = try chain.query.account(address(challenger)).balance
        try chain.commit([try chain.sign(provider, .result(GemmFixture.result(job: job, wrongOutput: true, blobs: chain.blobs)))])
        let challenge = try chain.commit([try chain.sign(challenger, .challenge(Challenge(jobID: job, layer: 0, tile: 3, bond: 10)))])
        #expect(chain.included(challenge) == .ok)
        // Half the provider's 5,000 stake is slashed; half of that goes to the challenger, the rest is burned.
        let slashed = JobStatus.slashed(.wrongOutput, JobSettlement(height: chain.height, refund: 200, slashed: 2_500))
        #expect(try chain.query.job(job)?.status == slashed)
        #expect(try chain.query.stake(address(provider)).bonded == 2_500)
        #expect(try chain.query.account(address(challenger)).balance == challengerBefore - 1 + 1_250)
        #expect(try chain.query.account(address(client)).balance == clientBefore + 200)
        #expect(try chain.query.totals().burned == 1_250)
        // Tile 3 is columns 2..<3 of row 1: one element of K = 4 work units.
        let upheld = ChallengedTile(challenger: address(challenger), layer: 0, tile: 3, workUnits: 4)
        #expect(challenge.results[0].events == [
            .challengeUpheld(job: job, upheld),
            .slashed(account: address(provider), amount: 2_500, toChallenger: 1_250, burned: 1_250),
            .jobEnded(job: job, outcome: .slashed, reason: .wrongOutput, paid: 0, refund: 200, burned: 0),
        ])
        try chain.advance(to: 8)
        #expect(try chain.query.job(job)?.status == slashed, "a terminal status never changes")
    }

    @Test func aChallengeOfAnotherTileThanTheWrongOneLosesItsBond() throws {
        let chain = try inMemoryChain()
        let (job, _) = try openJob(chain)
        try chain.commit([try chain.sign(provider, .result(GemmFixture.result(job: job, wrongOutput: true, blobs: chain.blobs)))])
        let challenge = try chain.commit([try chain.sign(challenger, .challenge(Challenge(jobID: job, layer: 0, tile: 2, bond: 10)))])
        #expect(challenge.results[0].events == [.challengeFailed(
            job: job, ChallengedTile(challenger: address(challenger), layer: 0, tile: 2, workUnits: 8), bondForfeited: 10)])
        #expect(try chain.query.job(job)?.status.isTerminal == false)
    }

    @Test func anOutputWithAnotherHeaderIsSlashedByAChallengeOfAnyLastLayerTile() throws {
        let chain = try inMemoryChain()
        let (job, _) = try openJob(chain)
        // The same elements as [3, 2] instead of [2, 3]: the same length, a different tensor.
        let reshaped = try Tensor(dtype: .int32, shape: [3, 2], data: GemmFixture.honest.output.data).canonicalBytes
        var result = GemmFixture.result(job: job, blobs: chain.blobs)
        result.outputBlob = chain.blobs.add(reshaped)
        try chain.commit([try chain.sign(provider, .result(result))])
        try chain.commit([try chain.sign(challenger, .challenge(Challenge(jobID: job, layer: 0, tile: 1, bond: 10)))])
        #expect(try chain.query.job(job)?.status.endReason == .wrongOutput)
    }

    @Test func resultsWithTheWrongLengthsOrWorkUnitsAreRefusedWhenPosted() throws {
        let chain = try inMemoryChain()
        let (job, _) = try openJob(chain)
        let honest = GemmFixture.result(job: job, blobs: chain.blobs)
        var shortTrace = honest
        shortTrace.traceBlob = chain.blobs.add(Array(GemmFixture.trace.blobBytes.dropLast()))
        var longOutput = honest
        longOutput.outputBlob = chain.blobs.add(GemmFixture.honest.output.canonicalBytes + [0])
        let refused = try chain.commit([
            try chain.sign(provider, .result(shortTrace)),
            try chain.sign(provider, .result(longOutput), offset: 1),
            try chain.sign(provider, .result(GemmFixture.result(job: job, workUnits: 90, blobs: chain.blobs)), offset: 2),
        ])
        #expect((0..<3).map { chain.included(refused, $0) } == [.invalidTrace, .invalidOutput, .workUnitsMismatch])
        #expect(try chain.query.job(job)?.status == .open)
    }

    @Test func aChallengeOfAnHonestResultLosesTheBondWhicheverTileItNames() throws {
        let chain = try inMemoryChain()
        let (job, _) = try openJob(chain)
        try chain.commit([try chain.sign(provider, .result(GemmFixture.result(job: job, blobs: chain.blobs)))])
        let providerBefore = try chain.query.account(address(provider)).balance
        let challengerBefore = try chain.query.account(address(challenger)).balance
        let challenges = try (0..<4).map { tile in
            try chain.sign(challenger, .challenge(Challenge(jobID: job, layer: 0, tile: UInt32(tile), bond: 50)), offset: UInt64(tile))
        }
        let outcome = try chain.commit(challenges)
        for tile in 0..<4 {
            // Tiles 0 and 2 hold two elements (8 work units), 1 and 3 one (4).
            let challenged = ChallengedTile(
                challenger: address(challenger), layer: 0, tile: UInt32(tile), workUnits: tile % 2 == 0 ? 8 : 4)
            #expect(outcome.results[tile].events == [.challengeFailed(job: job, challenged, bondForfeited: 50)])
        }
        #expect(try chain.query.account(address(challenger)).balance == challengerBefore - 4 - 4 * 50)
        #expect(try chain.query.account(address(provider)).balance == providerBefore + 4 * 50)
        try chain.advance(to: 6)
        #expect(try chain.query.job(job)?.status == .settled(.windowPassed, Self.settledFixture(at: 6)))
    }

    @Test func aTileThatDoesNotExistIsRefusedAndChangesNothing() throws {
        let chain = try inMemoryChain()
        let (job, _) = try openJob(chain)
        try chain.commit([try chain.sign(provider, .result(GemmFixture.result(job: job, wrongOutput: true, blobs: chain.blobs)))])
        let before = try chain.query.account(address(challenger)).balance
        let jobBefore = try chain.query.job(job)
        let stakeBefore = try chain.query.stake(address(provider))
        let outcome = try chain.commit([
            try chain.sign(challenger, .challenge(Challenge(jobID: job, layer: 0, tile: 4, bond: 10))),
            try chain.sign(challenger, .challenge(Challenge(jobID: job, layer: 1, tile: 0, bond: 10)), offset: 1),
            try chain.sign(challenger, .challenge(Challenge(jobID: job, layer: .max, tile: .max, bond: 10)), offset: 2),
        ])
        #expect((0..<3).map { chain.included(outcome, $0) } == [.tileNotFound, .tileNotFound, .tileNotFound])
        #expect(outcome.results.allSatisfy { $0.events.isEmpty })
        #expect(try chain.query.account(address(challenger)).balance == before - 3, "only the fees")
        #expect(try chain.query.job(job) == jobBefore)
        #expect(try chain.query.stake(address(provider)) == stakeBefore)
    }

    @Test func theBlockWorkBudgetBoundsTileWork() throws {
        var params = testParams()
        params.blockWorkBudget = 12  // one 8-unit tile and one 4-unit tile, not two 8-unit tiles
        let chain = try inMemoryChain(try makeGenesis(params: params))
        let (job, _) = try openJob(chain)
        try chain.commit([try chain.sign(provider, .result(GemmFixture.result(job: job, blobs: chain.blobs)))])
        let outcome = try chain.commit([
            try chain.sign(challenger, .challenge(Challenge(jobID: job, layer: 0, tile: 0, bond: 10))),
            try chain.sign(challenger, .challenge(Challenge(jobID: job, layer: 0, tile: 2, bond: 10)), offset: 1),
            try chain.sign(challenger, .challenge(Challenge(jobID: job, layer: 0, tile: 1, bond: 10)), offset: 2),
        ])
        #expect((0..<3).map { chain.included(outcome, $0) } == [.ok, .workBudgetExhausted, .ok])
    }

    @Test func anEscrowThatOverflowsIsRefused() throws {
        let chain = try inMemoryChain()
        let offer = try chain.sign(provider, .offer(Offer(kernels: [GemmFixture.kernel], pricePerWorkUnit: .max / 2, capacity: 4, expiryHeight: 100)), offset: 1)
        try chain.commit([
            try chain.sign(provider, .stake(Stake(amount: 5_000))), offer,
            try chain.sign(client, .registerModel(RegisterModel(modelBlob: GemmFixture.modelBlob))),
        ])
        let job = try chain.commit([try chain.sign(client, .job(Job(
            offerID: offer.hash, kernel: GemmFixture.kernel, modelHash: GemmFixture.modelHash,
            inputBlob: GemmFixture.inputBlob, maxWorkUnits: 100, deadline: 10)))])
        #expect(chain.included(job) == .overflow)
        #expect(try chain.query.offer(offer.hash)?.openJobs == 0)
    }

    @Test func challengesOutsideTheRulesFailWithTheirCode() throws {
        let chain = try inMemoryChain()
        let (job, _) = try openJob(chain)
        let before = try chain.commit([try chain.sign(challenger, .challenge(Challenge(jobID: job, layer: 0, tile: 0, bond: 10)))])
        #expect(chain.included(before) == .wrongJobState)
        try chain.commit([try chain.sign(provider, .result(GemmFixture.result(job: job, blobs: chain.blobs)))])
        let small = try chain.commit([
            try chain.sign(challenger, .challenge(Challenge(jobID: job, layer: 0, tile: 0, bond: 9))),
            try chain.sign(provider, .challenge(Challenge(jobID: job, layer: 0, tile: 0, bond: 10))),
        ])
        #expect(chain.included(small, 0) == .bondTooSmall)
        #expect(chain.included(small, 1) == .providerCannotChallenge)
        try chain.advance(to: 6)
        let late = try chain.commit([try chain.sign(challenger, .challenge(Challenge(jobID: job, layer: 0, tile: 0, bond: 10)))])
        #expect(chain.included(late) == .challengeWindowClosed)
    }

    @Test func onlyTheAssignedProviderPostsResults() throws {
        let chain = try inMemoryChain()
        let (job, _) = try openJob(chain)
        let outcome = try chain.commit([try chain.sign(challenger, .result(GemmFixture.result(job: job, blobs: chain.blobs)))])
        #expect(chain.included(outcome) == .notJobProvider)
    }

    /// docs/encoding.md's example of a terminal `JobStatus`, and a round trip of each ending.
    @Test func terminalStatusesCarryTheirSettlementInCanonicalBytes() throws {
        let settled = JobStatus.settled(.windowPassed, Self.settledFixture(at: 6))
        let documented = "02" + "01" + "0600000000000000" + "2c00000000000000" + "0400000000000000"
            + "9800000000000000" + "0000000000000000"
        #expect(Hex.encode(settled.canonicalBytes) == documented)
        let endings: [JobStatus] = [
            settled, .refunded(.noResultByDeadline, JobSettlement(height: 9, refund: 200, slashed: 100)),
            .slashed(.wrongOutput, JobSettlement(height: 4, refund: 200, slashed: 2_500)),
        ]
        for status in endings {
            #expect(try JobStatus(canonicalBytes: status.canonicalBytes) == status)
            #expect(status.isTerminal && status.settlement != nil)
        }
    }
}
