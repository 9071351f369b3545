import AssayBlobs
import AssayEngine
import AssayKernels
import AssayLedger
import AssayMempool
import AssayTypes
import Logging
import Testing

@testable import AssayNode

/// The availability rule in the ledger application: a validator executes (and so prevotes) a block only when it
/// holds every blob the block references, asks for the missing ones, and accepts the same block once they arrive.
/// The proposer never includes a transaction whose blobs it lacks.
@Suite struct BlobAvailabilityTests {
    func context(_ node: NodeFixture) -> ExecutionContext {
        ExecutionContext(height: node.height + 1, timeMs: 1_000 * (node.height + 1), proposer: node.validator.publicKey)
    }

    @Test func aBlockWithAJobWhoseInputIsNotHeldIsRefusedUntilTheInputArrives() throws {
        let node = try NodeFixture()
        let offer = try node.openMarket()
        let input = try Tensor(int8: [4, 3, 2, 1, 0, 1, 2, 3], shape: [2, 4]).canonicalBytes
        let inputBlob = BlobRef(of: input)
        let job = try node.sign(
            node.client,
            .job(Job(
                offerID: offer, kernel: KernelID.gemmI8.rawValue, modelHash: GemmJob.modelHash, inputBlob: inputBlob,
                maxWorkUnits: GemmJob.honest.workUnits * 2, deadline: node.height + 8)))
        #expect(throws: ExecutionError("block invalid: blob \(inputBlob.id) unavailable (\(input.count) bytes not held)")) {
            try node.application.execute(context(node), transactions: [job])
        }
        #expect(node.requestedBlobs == [inputBlob])

        try node.hold(input)
        try node.commit([job])
        #expect(try LedgerQuery(store: node.store).job(job.hash)?.request.inputBlob == inputBlob)
    }

    @Test func aResultWhoseOutputIsNotHeldIsRefused() throws {
        let node = try NodeFixture()
        let offer = try node.openMarket()
        let job = try node.job(offer: offer)
        try node.commit([job])
        let output = GemmJob.output()
        let result = try node.sign(
            node.provider,
            .result(JobResult(jobID: job.hash, outputBlob: BlobRef(of: output), workUnits: GemmJob.honest.workUnits)))
        #expect(throws: ExecutionError.self) { try node.application.execute(context(node), transactions: [result]) }
        try node.hold(output)
        try node.commit([result])
        #expect(try LedgerQuery(store: node.store).job(job.hash)?.status.isTerminal == false)
    }

    @Test func theProposerLeavesOutATransactionWhoseBlobItNoLongerHolds() throws {
        let node = try NodeFixture()
        let offer = try node.openMarket()
        let job = try node.job(offer: offer)
        try node.mempool.admit(job.canonicalBytes)
        #expect(node.application.transactionsForNewBlock(context(node)).map(\.hash) == [job.hash])

        _ = try node.blobs.remove(GemmJob.inputBlob.id)
        #expect(node.application.transactionsForNewBlock(context(node)).isEmpty)
        try node.hold(GemmJob.input)
        #expect(node.application.transactionsForNewBlock(context(node)).map(\.hash) == [job.hash])
    }

    @Test func submittingATransactionWhoseBlobIsNotHeldIsRefusedWithTheUploadHint() async throws {
        let node = try NodeFixture()
        let model = BlobRef(of: [9, 9, 9])
        let register = try node.sign(node.client, .registerModel(RegisterModel(modelBlob: model)))
        let results = await node.service.submit([register.canonicalBytes])
        guard case let .failure(error) = results[0] else { Issue.record("admitted without its blob"); return }
        #expect(error == .blobNotHeld(model.id))
        #expect(error.description.contains("upload it first (PUT /blobs/\(model.id))"))
    }

    @Test func blobsAreCollectedOnceTheLedgerReleasesThemAndTheModelStays() throws {
        let node = try NodeFixture()
        let collector = BlobCollector(store: node.blobs, logger: Logger(label: "test"))
        let offer = try node.openMarket()
        let job = try node.job(offer: offer)
        try node.commit([job])
        let result = try node.result(job: job.hash)
        try node.commit([try node.sign(node.provider, .result(result))])
        // The window (3 blocks) ends the job, then 2 retention blocks pass.
        for _ in 0..<6 { try node.commit([]) }
        for outcome in node.outcomes { collector.collect(outcome) }

        #expect(!node.blobs.has(GemmJob.inputBlob.id) && !node.blobs.has(result.outputBlob.id))
        #expect(node.blobs.has(GemmJob.modelBlob.id))
        #expect(collector.total == .init(blobs: 2, bytes: GemmJob.inputBlob.length + result.outputBlob.length))
    }
}
