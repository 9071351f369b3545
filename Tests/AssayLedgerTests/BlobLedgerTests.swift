import AssayBlobs
import AssayLedger
import AssayStorage
import AssayTypes
import Testing

/// Transactions that reference blobs: the ledger reads them through its `BlobSource`, charges `blob_byte_fee`
/// per carried byte (burned), and treats a blob it cannot read as a block it cannot execute.
@Suite struct BlobLedgerTests {
    let client = testKey(6)

    @Test func aBlockNeedingAnUnheldBlobCannotBeExecutedUntilTheBlobIsHeld() throws {
        let chain = try inMemoryChain()
        chain.blobs.remove(GemmFixture.modelBlob.id)
        let register = try chain.sign(client, .registerModel(RegisterModel(modelBlob: GemmFixture.modelBlob)))
        let rootBefore = chain.root
        #expect(throws: LedgerError.blobUnavailable(GemmFixture.modelBlob)) { try chain.commit([register]) }
        #expect(chain.root == rootBefore && chain.height == 0)

        chain.blobs.add(GemmFixture.modelBytes)
        let outcome = try chain.commit([register])
        #expect(chain.included(outcome) == .ok)
        #expect(try chain.query.model(GemmFixture.modelHash) == GemmFixture.modelBlob)
    }

    @Test func aBlobOfTheRightIdButAnotherLengthIsNotHeld() throws {
        let chain = try inMemoryChain()
        let claimed = BlobRef(id: GemmFixture.modelBlob.id, length: GemmFixture.modelBlob.length + 1)
        let register = try chain.sign(client, .registerModel(RegisterModel(modelBlob: claimed)))
        #expect(throws: LedgerError.blobUnavailable(claimed)) { try chain.commit([register]) }
    }

    @Test func theSenderPaysTheBlobFeeOnTopOfTheFeeAndItIsBurned() throws {
        var params = testParams()
        params.blobByteFee = 3
        let chain = try inMemoryChain(try makeGenesis(params: params))
        let before = try chain.query.account(address(client)).balance
        let outcome = try chain.commit([
            try chain.sign(client, .registerModel(RegisterModel(modelBlob: GemmFixture.modelBlob)), fee: 5)
        ])
        #expect(chain.included(outcome) == .ok)
        let blobFee = 3 * GemmFixture.modelBlob.length
        #expect(try chain.query.account(address(client)).balance == before - 5 - blobFee)
        #expect(try chain.query.totals().burned == blobFee)
    }

    @Test func aSenderWhoCannotPayTheBlobFeeIsLeftOut() throws {
        var params = testParams()
        params.blobByteFee = 1_000_000
        let chain = try inMemoryChain(try makeGenesis(params: params))
        let outcome = try chain.commit([
            try chain.sign(client, .registerModel(RegisterModel(modelBlob: GemmFixture.modelBlob)))
        ])
        #expect(outcome.results[0].status == .excluded(.cannotPayFee))
    }

    /// Neither oversized blob is held: the length alone decides, so every node refuses them the same way.
    static let unheld = BlobRef(id: BlobID(Hash([UInt8](repeating: 9, count: 32))), length: 17)

    @Test func aModelOverMaxModelBytesIsRefusedWithoutBeingRead() throws {
        var params = testParams()
        params.maxModelBytes = 16
        let chain = try inMemoryChain(try makeGenesis(params: params))
        let refused = try chain.commit([try chain.sign(client, .registerModel(RegisterModel(modelBlob: Self.unheld)))])
        #expect(chain.included(refused) == .invalidModel)
    }

    @Test func anInputOverMaxInputBytesIsRefusedWithoutBeingRead() throws {
        var params = testParams()
        params.maxInputBytes = 16
        let chain = try inMemoryChain(try makeGenesis(params: params))
        let provider = testKey(5)
        let offer = try chain.sign(
            provider, .offer(Offer(kernels: [GemmFixture.kernel], pricePerWorkUnit: 1, capacity: 4, expiryHeight: 100)),
            offset: 1)
        try chain.commit([
            try chain.sign(provider, .stake(Stake(amount: 5_000))), offer,
            try chain.sign(client, .registerModel(RegisterModel(modelBlob: GemmFixture.modelBlob))),
        ])
        let refused = try chain.commit([
            try chain.sign(client, .job(Job(
                offerID: offer.hash, kernel: GemmFixture.kernel, modelHash: GemmFixture.modelHash,
                inputBlob: Self.unheld, maxWorkUnits: 10, deadline: 5)))
        ])
        #expect(chain.included(refused) == .invalidInput)
    }

    @Test func carriedAndReferencedBlobsOfEachKind() {
        let job = Job(
            offerID: .zero, kernel: GemmFixture.kernel, modelHash: GemmFixture.modelHash,
            inputBlob: GemmFixture.inputBlob, maxWorkUnits: 1, deadline: 1)
        #expect(TransactionBody.job(job).carriedBlobs == [GemmFixture.inputBlob])
        #expect(TransactionBody.job(job).referencedBlobIDs == [GemmFixture.inputBlob.id, GemmFixture.modelBlob.id])
        #expect(TransactionBody.settle(Settle(jobID: .zero)).carriedBlobs.isEmpty)
    }

    /// Block 1: a staked provider's gemm offer and the fixture model; block 2: `count` jobs on the fixture input
    /// (deadlines 5, 6, ...).
    func openJobs(_ chain: Chain<InMemoryStore>, count: UInt64) throws -> [Hash] {
        let provider = testKey(5)
        let offer = try chain.sign(
            provider, .offer(Offer(kernels: [GemmFixture.kernel], pricePerWorkUnit: 1, capacity: 4, expiryHeight: 100)),
            offset: 1)
        try chain.commit([
            try chain.sign(provider, .stake(Stake(amount: 5_000))), offer,
            try chain.sign(client, .registerModel(RegisterModel(modelBlob: GemmFixture.modelBlob))),
        ])
        let jobs = try (0..<count).map { index in
            try chain.sign(client, .job(Job(
                offerID: offer.hash, kernel: GemmFixture.kernel, modelHash: GemmFixture.modelHash,
                inputBlob: GemmFixture.inputBlob, maxWorkUnits: 100, deadline: 5 + index)), offset: index)
        }
        try chain.commit(jobs)
        return jobs.map(\.hash)
    }

    func released(_ outcome: BlockOutcome) -> [Hash] {
        outcome.endBlockEvents.compactMap { if case let .blobReleased(blob) = $0 { blob } else { nil } }
    }

    @Test func inputOutputAndTraceAreReleasedRetentionBlocksAfterTheJobEndsAndTheModelIsKept() throws {
        var params = testParams()
        params.blobRetentionBlocks = 2
        let chain = try inMemoryChain(try makeGenesis(params: params))
        let job = try openJobs(chain, count: 1)[0]
        let result = GemmFixture.result(job: job, blobs: chain.blobs)
        try chain.commit([try chain.sign(testKey(5), .result(result))])  // height 3: window ends at 6
        var releases: [Height: [Hash]] = [:]
        while chain.height < 10 {
            let outcome = try chain.commit([])
            if !released(outcome).isEmpty { releases[chain.height] = released(outcome) }
        }
        #expect(try chain.query.job(job)?.status.endReason == .windowPassed)
        #expect(releases == [8: [GemmFixture.inputBlob.id.digest, result.outputHash, result.traceBlob.id.digest]])
        #expect(try chain.query.model(GemmFixture.modelHash) != nil)
    }

    @Test func anInputSharedByTwoJobsIsReleasedOnlyAfterBothEnd() throws {
        var params = testParams()
        params.blobRetentionBlocks = 1
        let chain = try inMemoryChain(try makeGenesis(params: params))
        _ = try openJobs(chain, count: 2)  // deadlines 5 and 6: both refunded without a result
        var releases: [Height: [Hash]] = [:]
        while chain.height < 8 {
            let outcome = try chain.commit([])
            if !released(outcome).isEmpty { releases[chain.height] = released(outcome) }
        }
        #expect(releases == [7: [GemmFixture.inputBlob.id.digest]])
    }
}
