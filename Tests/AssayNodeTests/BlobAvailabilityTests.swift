import AssayBlobs
import AssayEngine
import AssayKernels
import AssayLedger
import AssayMempool
import AssayTypes
import AssayStorage
import Dispatch
import Foundation
import Logging
import Synchronization
import Testing

@testable import AssayNode

/// The availability rule in the ledger application: a validator executes (and so prevotes) a block only when it
/// holds every blob the block references, asks for the missing ones, and accepts the same block once they arrive.
/// The proposer never includes a transaction whose blobs it lacks.
@Suite struct BlobAvailabilityTests {
    func context(_ node: NodeFixture) -> ExecutionContext {
        ExecutionContext(
            height: node.height + 1, timeMs: 1_000 * (node.height + 1), proposer: node.validator.publicKey,
            validators: node.genesis.validators)
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
        #expect(throws: ExecutionError.invalid(.blobUnavailable(inputBlob.id.digest, length: UInt64(input.count)))) {
            try node.application.execute(context(node), transactions: [job])
        }
        #expect(node.requestedBlobs == [inputBlob])

        try node.hold(input)
        try node.commit([job])
        #expect(try LedgerQuery(store: node.store).job(job.hash)?.request.inputBlob == inputBlob)
    }

    /// A node that applies a block decided by others (a commit certificate, block sync) lacking one of its blobs
    /// fetches it and waits, retrying after a failed fetch, instead of stopping.
    @Test func aDecidedBlockWhoseInputIsNotHeldIsAppliedOnceTheFetchBringsIt() async throws {
        let proposer = try NodeFixture()
        let offer = try proposer.openMarket()
        let input = try Tensor(int8: [4, 3, 2, 1, 0, 1, 2, 3], shape: [2, 4]).canonicalBytes
        try proposer.hold(input)
        let job = try proposer.sign(
            proposer.client,
            .job(Job(
                offerID: offer, kernel: KernelID.gemmI8.rawValue, modelHash: GemmJob.modelHash,
                inputBlob: BlobRef(of: input), maxWorkUnits: GemmJob.honest.workUnits * 2,
                deadline: proposer.height + 8)))
        try proposer.commit([job])
        let chain = ChainStore(store: proposer.store)
        let decided = try (1...proposer.height).compactMap { height in try chain.block(at: height)?.block }
        #expect(decided.count == Int(proposer.height))

        let peers = FlakyPeers(serving: input)
        let follower = try NodeFixture(fetchBlob: peers.fetch)
        peers.target.withLock { $0 = follower.blobs }
        try await onOwnThread { for block in decided { try follower.apply(block) } }

        #expect(peers.attempts.withLock { $0 } == 2)
        #expect(follower.height == proposer.height)
        #expect(follower.application.snapshot.withLock { $0.stateRoot } == proposer.application.snapshot.withLock { $0.stateRoot })
        #expect(try LedgerQuery(store: follower.store).job(job.hash)?.request.inputBlob == BlobRef(of: input))
    }

    /// A blob corrupted on this node's disk is caught when the ledger reads it: removed and reported as not held
    /// (so the node fetches it again), instead of making this node's execution differ from its peers'.
    @Test func aBlobCorruptedOnDiskIsRemovedWhenReadAndCountsAsNotHeld() throws {
        let node = try NodeFixture()
        try node.hold(GemmJob.input)
        let file = node.directory.appendingPathComponent("blobs/\(GemmJob.inputBlob.id.hex)")
        var bytes = [UInt8](try Data(contentsOf: file))
        bytes[bytes.count - 1] ^= 1
        try Data(bytes).write(to: file)
        let source = StoreBlobSource(store: node.blobs, logger: Logger(label: "test"))
        #expect(throws: BlobError.notFound(GemmJob.inputBlob.id)) { try source.read(GemmJob.inputBlob) }
        #expect(node.blobs.status(GemmJob.inputBlob) != .complete(ref: GemmJob.inputBlob))
        try node.hold(GemmJob.input)
        #expect(try source.read(GemmJob.inputBlob) == GemmJob.input, "fetched again, it reads intact")
    }

    /// The ranged reads of a tile challenge read only the chunks a range overlaps, each checked against the blob's
    /// leaf hashes: a corrupted chunk is caught when it is read, like a corrupted whole blob.
    @Test func rangedReadsCrossChunksAndCatchACorruptedChunkWhenItIsRead() throws {
        let node = try NodeFixture()
        let bytes = (0..<2 * blobChunkBytes + 10).map { UInt8($0 % 251) }
        let ref = BlobRef(of: bytes)
        for index in 0..<ref.chunkCount {
            let chunk = bytes[index * blobChunkBytes..<min(bytes.count, (index + 1) * blobChunkBytes)]
            try node.blobs.writeChunk(ref: ref, index: index, bytes: Array(chunk))
        }
        let source = StoreBlobSource(store: node.blobs, logger: Logger(label: "test"))
        let across = blobChunkBytes - 5..<blobChunkBytes + 7
        #expect(try source.read(ref, range: UInt64(across.lowerBound)..<UInt64(across.upperBound)) == Array(bytes[across]))
        #expect(try source.read(ref, range: 3..<3) == [])
        #expect(throws: BlobError.self) { try source.read(ref, range: 0..<ref.length + 1) }

        let file = node.directory.appendingPathComponent("blobs/\(ref.id.hex)")
        var held = [UInt8](try Data(contentsOf: file))
        held[2 * blobChunkBytes + 3] ^= 1
        try Data(held).write(to: file)
        #expect(try source.read(ref, range: 0..<10) == Array(bytes[0..<10]), "chunk 0 is intact")
        #expect(throws: BlobError.notFound(ref.id)) { try source.read(ref, range: UInt64(2 * blobChunkBytes)..<ref.length) }
        #expect(node.blobs.status(ref) != .complete(ref: ref), "removed, to be fetched again")
    }

    @Test func aResultWhoseOutputIsNotHeldIsRefused() throws {
        let node = try NodeFixture()
        let offer = try node.openMarket()
        let job = try node.job(offer: offer)
        try node.commit([job])
        let output = GemmJob.output()
        try node.hold(GemmJob.trace.blobBytes)
        let result = try node.sign(
            node.provider,
            .result(GemmJob.result(job: job.hash, output: BlobRef(of: output))))
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
        #expect(try node.application.transactionsForNewBlock(context(node)).map(\.hash) == [job.hash])

        _ = try node.blobs.remove(GemmJob.inputBlob.id)
        #expect(try node.application.transactionsForNewBlock(context(node)).isEmpty)
        try node.hold(GemmJob.input)
        #expect(try node.application.transactionsForNewBlock(context(node)).map(\.hash) == [job.hash])
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
        let collector = BlobCollector(store: node.blobs, state: node.store, mempool: node.mempool, logger: Logger(label: "test"))
        let offer = try node.openMarket()
        let job = try node.job(offer: offer)
        try node.commit([job])
        let result = try node.result(job: job.hash)
        try node.commit([try node.sign(node.provider, .result(result))])
        // The window (3 blocks) ends the job, then 2 retention blocks pass.
        for _ in 0..<6 { try node.commit([]) }
        for (number, outcome) in node.outcomes.enumerated() { collector.collect(outcome, height: Height(number + 1)) }

        #expect(!node.blobs.has(GemmJob.inputBlob.id) && !node.blobs.has(result.outputBlob.id))
        #expect(!node.blobs.has(result.traceBlob.id))
        #expect(node.blobs.has(GemmJob.modelBlob.id))
        let released = GemmJob.inputBlob.length + result.outputBlob.length + result.traceBlob.length
        #expect(collector.total == .init(blobs: 3, bytes: released))
    }

    /// Blobs no transaction uses, and partials that stopped, go `blob_retention_blocks` (2 here) after this node
    /// first saw them; blobs used in state or by a pending transaction, and partials still growing, stay.
    @Test func unusedBlobsAndIdlePartialsAreCollectedAfterTheRetention() throws {
        let node = try NodeFixture()
        let collector = BlobCollector(store: node.blobs, state: node.store, mempool: node.mempool, logger: Logger(label: "test"))
        let offer = try node.openMarket()
        try node.commit([try node.job(offer: offer)])
        let unused = try node.hold([UInt8](repeating: 7, count: 100))
        let carried = try node.hold([UInt8](repeating: 8, count: 100))
        try node.mempool.admit(try node.sign(node.client, .registerModel(RegisterModel(modelBlob: carried))).canonicalBytes)
        let twoChunks = (0..<blobChunkBytes + 1).map { UInt8($0 % 253) }
        let stalled = BlobRef(of: twoChunks)
        try node.blobs.writeChunk(ref: stalled, index: 0, bytes: Array(twoChunks[..<blobChunkBytes]))
        let threeChunks = (0..<2 * blobChunkBytes + 1).map { UInt8($0 % 241) }
        let growing = BlobRef(of: threeChunks)
        func growingChunk(_ index: Int) -> [UInt8] {
            Array(threeChunks[index * blobChunkBytes..<min(threeChunks.count, (index + 1) * blobChunkBytes)])
        }
        try node.blobs.writeChunk(ref: growing, index: 0, bytes: growingChunk(0))

        func commitAndCollect() throws {
            try node.commit([])
            collector.collect(try #require(node.outcomes.last), height: node.height)
        }
        try commitAndCollect()  // first seen
        try commitAndCollect()  // one block later: all kept
        #expect(node.blobs.has(unused.id) && node.blobs.status(stalled) != .absent)
        try node.blobs.writeChunk(ref: growing, index: 1, bytes: growingChunk(1))
        try commitAndCollect()  // two blocks later

        #expect(!node.blobs.has(unused.id) && node.blobs.status(stalled) == .absent)
        #expect(node.blobs.has(carried.id) && node.blobs.has(GemmJob.inputBlob.id) && node.blobs.has(GemmJob.modelBlob.id))
        #expect(node.blobs.status(growing) == .partial(ref: growing, heldChunks: [0, 1]))
        #expect(collector.total == .init(blobs: 1, bytes: unused.length, partials: 1))
        // The growing partial, once stopped, goes two blocks later.
        try commitAndCollect()
        try commitAndCollect()
        #expect(node.blobs.status(growing) == .absent && collector.total.partials == 2)
    }
}

/// Peers whose first fetch fails (its deadline passed) and whose second brings the blob into `target`.
private final class FlakyPeers: Sendable {
    let bytes: [UInt8]
    let attempts = Mutex(0)
    let target = Mutex<BlobStore?>(nil)

    init(serving bytes: [UInt8]) { self.bytes = bytes }

    @Sendable func fetch(_ ref: BlobRef) async throws {
        guard ref == BlobRef(of: bytes) else { throw CancellationError() }
        let attempt = attempts.withLock { $0 += 1; return $0 }
        guard attempt > 1, let store = target.withLock({ $0 }) else { throw CancellationError() }
        try store.writeChunk(ref: ref, index: 0, bytes: bytes)
    }
}

/// Runs blocking work (the engine's queue waiting on a fetch) on a thread of its own, not the cooperative pool.
private func onOwnThread(_ work: @escaping @Sendable () throws -> Void) async throws {
    try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
        DispatchQueue(label: "test.engine").async { done.resume(with: Result { try work() }) }
    }
}
