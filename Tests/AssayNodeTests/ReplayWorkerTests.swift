import AssayCrypto
import AssayKernels
import AssayLedger
import AssayTypes
import Logging
import Synchronization
import Testing

@testable import AssayNode

/// Transactions the worker handed to gossip.
final class Gossiped: Sendable {
    let transactions = Mutex<[Transaction]>([])
}

@Suite struct ReplayWorkerTests {
    let node: NodeFixture
    let gossiped = Gossiped()

    init() throws { node = try NodeFixture() }

    /// A worker challenging from the fixture's account, or, `withAccount: false`, from none (no `[account]`).
    func worker(
        _ policy: SpotCheckPolicy = SpotCheckPolicy(mode: .sample, tilesPerResult: 16), withAccount: Bool = true
    ) -> ReplayWorker {
        let gossiped = gossiped
        return ReplayWorker(
            policy: policy, secret: SpotChecker.secret(of: NodeFixture.nodeKey), threads: 1,
            account: withAccount
                ? node.account(gossip: { transaction in gossiped.transactions.withLock { $0.append(transaction) } }) : nil,
            store: node.store, blobs: node.blobs, logger: Logger(label: "test"))
    }

    /// Without an account key the worker still checks and counts the wrong result, and sends nothing: it never falls
    /// back to another key.
    @Test func withoutAnAccountAWrongResultIsFoundButNotChallenged() throws {
        let offer = try node.openMarket()
        let cheated = try node.job(offer: offer)
        try node.commit([cheated])
        let block = try node.commit([
            try node.sign(node.provider, .result(try node.result(job: cheated.hash, wrong: true)))
        ])
        let worker = worker(withAccount: false)
        let items = worker.items(in: block, try #require(node.outcomes.last))
        #expect(items.compactMap { worker.replay($0) }.isEmpty)
        let counters = worker.counters.withLock { $0 }
        #expect(counters.mismatches == 1 && counters.challengesSent == 0)
        #expect(gossiped.transactions.withLock { $0 }.isEmpty && node.mempool.count == 0)
    }

    /// The fixture's gemm job has four tiles (T = 8): k = 16 checks them all.
    @Test func aWrongOutputIsDetectedAndChallengedWithASignedTransactionThatSlashes() throws {
        let offer = try node.openMarket()
        let honest = try node.job(offer: offer), cheated = try node.job(offer: offer, offset: 1)
        try node.commit([honest, cheated])
        let block = try node.commit([
            try node.sign(node.provider, .result(try node.result(job: honest.hash))),
            try node.sign(node.provider, .result(try node.result(job: cheated.hash, wrong: true)), offset: 1),
        ])
        let worker = worker()
        let items = worker.items(in: block, try #require(node.outcomes.last))
        #expect(items.map(\.result.jobID) == [honest.hash, cheated.hash])

        let challenges = items.compactMap { worker.replay($0) }
        let challenge = try #require(challenges.count == 1 ? challenges.first : nil)
        let params = NodeFixture.params()
        // The output's last byte differs from the trace's final layer: it lies in tile 3.
        #expect(challenge.body == .challenge(Challenge(jobID: cheated.hash, layer: 0, tile: 3, bond: params.challengeBondMin)))
        #expect(challenge.sender == node.accountKey.publicKey && challenge.hasValidSignature)
        #expect(node.mempool.contains(challenge.hash))
        #expect(gossiped.transactions.withLock { $0 } == [challenge])
        let counters = worker.counters.withLock { $0 }
        #expect(counters.results == 2 && counters.mismatches == 1 && counters.challengesSent == 1)
        #expect(counters.tilesChecked == 4 && counters.workUnits == GemmJob.honest.workUnits, "the honest result's tiles")

        // Committed, the challenge slashes the provider; the ended job is not challenged again.
        let bondBefore = try LedgerQuery(store: node.store).stake(address(node.provider)).bonded
        try node.commit(node.mempool.reap(maxBytes: .max, maxCount: 10))
        let ended = try #require(try LedgerQuery(store: node.store).job(cheated.hash))
        #expect(ended.status.endReason == .wrongOutput)
        #expect(try LedgerQuery(store: node.store).stake(address(node.provider)).bonded < bondBefore)
        #expect(worker.replay(items[1]) == nil, "an ended job is not challenged twice")
    }

    /// A trace with one corrupted tile and an output that matches it: only a check of that tile finds it, and the
    /// challenge names it.
    @Test func aCorruptedTileIsChallengedByName() throws {
        let offer = try node.openMarket()
        let job = try node.job(offer: offer)
        try node.commit([job])
        let forged = try GemmJob.trace.corrupting([TileID(layer: 0, tile: 1)])
        let result = JobResult(
            jobID: job.hash, outputBlob: try node.hold(forged.output.output.canonicalBytes),
            traceBlob: try node.hold(forged.blobBytes), traceRoot: forged.root, workUnits: GemmJob.honest.workUnits)
        let block = try node.commit([try node.sign(node.provider, .result(result))])
        let worker = worker(SpotCheckPolicy(mode: .all, tilesPerResult: 1))
        let outcome = try #require(node.outcomes.last)
        let challenge = try #require(worker.replay(worker.items(in: block, outcome)[0]))
        #expect(challenge.body == .challenge(Challenge(
            jobID: job.hash, layer: 0, tile: 1, bond: NodeFixture.params().challengeBondMin)))
        #expect(worker.counters.withLock { $0.tilesChecked } == 2, "tiles 0 and 1, in leaf order")
        try node.commit(node.mempool.reap(maxBytes: .max, maxCount: 10))
        #expect(try LedgerQuery(store: node.store).job(job.hash)?.status.endReason == .wrongOutput)
    }

    @Test func theCommitPathOnlyQueuesAndAFullQueueDropsInsteadOfWaiting() throws {
        let offer = try node.openMarket()
        let job = try node.job(offer: offer)
        try node.commit([job])
        let block = try node.commit([try node.sign(node.provider, .result(try node.result(job: job.hash, wrong: true)))])
        let worker = worker()
        worker.committed(block, try #require(node.outcomes.last))
        #expect(worker.queuedCount == 1)
        #expect(worker.counters.withLock { $0.results } == 0, "nothing is checked on the caller's thread")
        let item = worker.items(in: block, try #require(node.outcomes.last))[0]
        for _ in 0..<ReplayWorker.queueResultsMax { worker.enqueue(item) }
        #expect(worker.queuedCount == ReplayWorker.queueResultsMax)
        #expect(worker.counters.withLock { $0.dropped } == 1)
    }

    @Test func theWorkerThreadsChallengeWhatTheCommitPathQueued() async throws {
        let offer = try node.openMarket()
        let job = try node.job(offer: offer)
        try node.commit([job])
        let block = try node.commit([try node.sign(node.provider, .result(try node.result(job: job.hash, wrong: true)))])
        let worker = worker()
        worker.start()
        worker.committed(block, try #require(node.outcomes.last))
        // Waits for the replay thread (a bounded wait for an outcome, not a speed check).
        for _ in 0..<3_000 where worker.counters.withLock({ $0.challengesSent }) == 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        worker.stop()
        let sent = try #require(gossiped.transactions.withLock { $0.first })
        #expect(sent.body == .challenge(Challenge(jobID: job.hash, layer: 0, tile: 3, bond: NodeFixture.params().challengeBondMin)))
        #expect(node.mempool.contains(sent.hash))
    }
}
