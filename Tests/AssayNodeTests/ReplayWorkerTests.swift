import AssayCrypto
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

    func worker(_ selection: ReplaySelection = ReplaySelection(mode: .all, sampleFraction: 1, seed: 0)) -> ReplayWorker {
        let gossiped = gossiped
        return ReplayWorker(
            selection: selection, threads: 1, key: node.validator, chainID: NodeFixture.chainID, store: node.store,
            mempool: node.mempool, blobs: node.blobs, gossip: { transaction in gossiped.transactions.withLock { $0.append(transaction) } },
            logger: Logger(label: "test"))
    }

    @Test func aWrongOutputIsDetectedAndChallengedWithASignedTransactionThatSlashes() throws {
        let offer = try node.openMarket()
        let honest = try node.job(offer: offer), cheated = try node.job(offer: offer, offset: 1)
        try node.commit([honest, cheated])
        try node.commit([
            try node.sign(node.provider, .result(try node.result(job: honest.hash))),
            try node.sign(node.provider, .result(try node.result(job: cheated.hash, wrong: true)), offset: 1),
        ])
        let worker = worker()
        let items = worker.items(in: try #require(node.outcomes.last))
        #expect(items.map(\.job) == [honest.hash, cheated.hash])

        let challenges = items.compactMap { worker.replay($0) }
        let challenge = try #require(challenges.count == 1 ? challenges.first : nil)
        let params = NodeFixture.params()
        #expect(challenge.body == .challenge(Challenge(jobID: cheated.hash, layer: 0, tile: 3, bond: params.challengeBondMin)))
        #expect(challenge.sender == node.validator.publicKey && challenge.hasValidSignature)
        #expect(node.mempool.contains(challenge.hash))
        #expect(gossiped.transactions.withLock { $0 } == [challenge])
        let counters = worker.counters.withLock { $0 }
        #expect(counters.results == 2 && counters.mismatches == 1 && counters.challengesSent == 1)
        #expect(counters.workUnits == 2 * GemmJob.honest.workUnits)

        // Committed, the challenge slashes the provider; the ended job is not challenged again.
        let bondBefore = try LedgerQuery(store: node.store).stake(address(node.provider)).bonded
        try node.commit(node.mempool.reap(maxBytes: .max, maxCount: 10))
        let ended = try #require(try LedgerQuery(store: node.store).job(cheated.hash))
        #expect(ended.status == .slashed(.wrongOutput))
        #expect(try LedgerQuery(store: node.store).stake(address(node.provider)).bonded < bondBefore)
        #expect(worker.replay(items[1]) == nil, "an ended job is not challenged twice")
    }

    @Test func theCommitPathOnlyQueuesAndAFullQueueDropsInsteadOfWaiting() throws {
        let offer = try node.openMarket()
        let job = try node.job(offer: offer)
        try node.commit([job])
        try node.commit([try node.sign(node.provider, .result(try node.result(job: job.hash, wrong: true)))])
        let worker = worker()
        worker.committed(try #require(node.outcomes.last))
        #expect(worker.queuedCount == 1)
        #expect(worker.counters.withLock { $0.results } == 0, "nothing is replayed on the caller's thread")
        let item = worker.items(in: try #require(node.outcomes.last))[0]
        for _ in 0..<ReplayWorker.queueResultsMax { worker.enqueue(item) }
        #expect(worker.queuedCount == ReplayWorker.queueResultsMax)
        #expect(worker.counters.withLock { $0.dropped } == 1)
    }

    @Test func theWorkerThreadsChallengeWhatTheCommitPathQueued() async throws {
        let offer = try node.openMarket()
        let job = try node.job(offer: offer)
        try node.commit([job])
        try node.commit([try node.sign(node.provider, .result(try node.result(job: job.hash, wrong: true)))])
        let worker = worker()
        worker.start()
        worker.committed(try #require(node.outcomes.last))
        // Waits for the replay thread (a bounded wait for an outcome, not a speed check).
        for _ in 0..<3_000 where worker.counters.withLock({ $0.challengesSent }) == 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        worker.stop()
        let sent = try #require(gossiped.transactions.withLock { $0.first })
        #expect(sent.body == .challenge(Challenge(jobID: job.hash, layer: 0, tile: 3, bond: NodeFixture.params().challengeBondMin)))
        #expect(node.mempool.contains(sent.hash))
    }

    @Test func samplingIsASeededFunctionOfTheJobID() {
        let ids = (0..<2_000).map { SHA256.hash(withUnsafeBytes(of: UInt32($0)) { Array($0) }) }
        let sample = ReplaySelection(mode: .sample, sampleFraction: 0.3, seed: 7)
        let chosen = ids.filter(sample.includes)
        #expect((500...700).contains(chosen.count), "about 30% of 2000: \(chosen.count)")
        #expect(ids.filter(ReplaySelection(mode: .sample, sampleFraction: 0.3, seed: 7).includes) == chosen)
        #expect(ids.filter(ReplaySelection(mode: .sample, sampleFraction: 0.3, seed: 8).includes) != chosen)
        #expect(ids.filter(ReplaySelection(mode: .sample, sampleFraction: 0, seed: 7).includes).isEmpty)
        #expect(ids.allSatisfy(ReplaySelection(mode: .all, sampleFraction: 0, seed: 0).includes))
    }
}
