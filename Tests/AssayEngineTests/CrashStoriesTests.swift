import AssayConsensus
import AssayEngine
import AssayStorage
import AssayTypes
import Testing
@testable import AssaySimulation

@Suite struct CrashStoriesTests {
    @Test func fourEnginesCommitTheSameBlocks() throws {
        let cluster = Cluster()
        try cluster.startAll()
        try cluster.run(untilMs: 30_000) { cluster.commits.allSatisfy { $0.count >= 3 } }
        #expect(cluster.commits.allSatisfy { $0.count >= 3 })
        #expect(Set(cluster.commits.map { $0.prefix(3).map(\.hash) }).count == 1)
    }

    /// The proposer of height 1 sends its proposal and dies. The other three still hold a quorum:
    /// they commit its block. Restarted two seconds later, it replays its WAL and catches up.
    @Test func proposerCrashingAfterProposing() throws {
        let cluster = Cluster()
        try cluster.startAll()
        let proposer = cluster.firstProposer
        #expect(cluster.inFlight.contains { if case .proposal = $0.message { $0.from == proposer } else { false } })
        cluster.crash(proposer)
        let others = cluster.nodes.indices.filter { $0 != proposer }
        try cluster.run(untilMs: 2_000) { others.allSatisfy { !cluster.commits[$0].isEmpty } }
        let committed = try #require(cluster.commits[others[0]].first)
        #expect(committed.header.proposer == SimKeys.publicKeys[proposer], "the dead proposer's block")
        #expect(others.allSatisfy { cluster.commits[$0].first?.hash == committed.hash })

        try cluster.start(proposer)
        try cluster.run(untilMs: 30_000) { !cluster.commits[proposer].isEmpty }
        #expect(cluster.commits[proposer].first?.hash == committed.hash)
    }

    /// A validator precommits and loses power before anything else happens. Restarted from its WAL
    /// it is back in the same height, round and step with the same lock, re-sends the same
    /// precommit, and the height still commits.
    @Test func validatorCrashingAfterPrecommittingResumesFromTheWAL() throws {
        let cluster = Cluster()
        try cluster.startAll()
        let victim = (cluster.firstProposer + 1) % 4
        while cluster.engine(victim).step != .precommit {
            guard try cluster.deliverOne() else { Issue.record("victim never precommitted"); return }
        }
        let before = cluster.engine(victim).consensus
        #expect(before.lockedValue != nil)
        cluster.crash(victim)
        cluster.inFlight.removeAll { $0.to == victim }

        try cluster.start(victim)
        let after = cluster.engine(victim).consensus
        #expect(after.height == before.height && after.round == before.round && after.step == before.step)
        #expect(after.lockedValue == before.lockedValue && after.lockedRound == before.lockedRound)
        #expect(after.validValue == before.validValue)
        let resent = cluster.inFlight.filter { $0.from == victim }.compactMap { entry -> Vote? in
            if case let .vote(vote) = entry.message, vote.kind == .precommit { vote } else { nil }
        }
        #expect(resent.contains { $0.blockHash == before.lockedValue }, "the same precommit is re-sent")
        #expect(cluster.engine(victim).refusals == 0)

        try cluster.run(untilMs: 30_000) { cluster.commits.allSatisfy { !$0.isEmpty } }
        #expect(Set(cluster.commits.map { $0.first?.hash }).count == 1)
    }

    /// A record half-written when power failed is detected by its length and checksum, dropped,
    /// and the engine resumes from the records before it.
    @Test func tornWALTailIsDroppedOnRestart() throws {
        let cluster = Cluster()
        try cluster.startAll()
        let victim = (cluster.firstProposer + 2) % 4
        for _ in 0..<12 { try cluster.deliverOne() }
        let before = cluster.engine(victim).consensus
        cluster.crash(victim)
        let disk = cluster.nodes[victim].disk
        let records = try disk.scan(WriteAheadLog.namespace, prefix: [])
        let tornKey = WriteAheadLog.key(UInt64(records.count))
        var tear = WriteBatch()
        tear.put(tornKey, Array(try #require(records.last).value.dropLast(5)), in: WriteAheadLog.namespace)
        try disk.write(tear, durability: .synced)

        try cluster.start(victim)
        #expect(cluster.engine(victim).droppedTornWALRecord)
        #expect(try disk.get(tornKey, in: WriteAheadLog.namespace) == nil)
        let after = cluster.engine(victim).consensus
        #expect(after.height == before.height && after.round == before.round && after.step == before.step)
        try cluster.run(untilMs: 30_000) { cluster.commits.allSatisfy { !$0.isEmpty } }
        #expect(Set(cluster.commits.map { $0.first?.hash }).count == 1)
    }

    @Test func corruptionBeforeTheLastRecordStopsTheEngine() throws {
        let cluster = Cluster()
        try cluster.startAll()
        for _ in 0..<12 { try cluster.deliverOne() }
        cluster.crash(0)
        let disk = cluster.nodes[0].disk
        let records = try disk.scan(WriteAheadLog.namespace, prefix: [])
        #expect(records.count >= 3)
        var damage = WriteBatch()
        var flipped = records[1].value
        flipped[flipped.count - 1] ^= 0xff
        damage.put(records[1].key, flipped, in: WriteAheadLog.namespace)
        try disk.write(damage, durability: .synced)
        #expect(throws: EngineError.self) { try cluster.start(0) }
    }
}
