import AssayConsensus
import AssayEngine
import AssayStorage
import AssayTypes
import Testing
@testable import AssaySimulation

/// Validator changes reaching consensus: the application hands the engine the changes a block commits, and they
/// take effect two heights later, in the headers, the votes that count, the rotation and the stored history.
@Suite struct ValidatorChangeStoriesTests {
    static let joiner = 4
    static let leaver = 0
    /// Block 2 adds engine 4 (a follower until then), block 4 removes engine 0.
    static let changes: [Height: [Validator]] = [
        2: [Validator(publicKey: SimKeys.publicKeys[joiner], power: 1)],
        4: [Validator(publicKey: SimKeys.publicKeys[leaver], power: 0)],
    ]

    static func expectedSet(at height: Height) throws -> ValidatorSet {
        let keys = (0..<5).filter { ($0 != joiner || height >= 4) && ($0 != leaver || height < 6) }
        return try ValidatorSet(keys.map { Validator(publicKey: SimKeys.publicKeys[$0], power: 1) })
    }

    func runChangingCluster() throws -> Cluster {
        let cluster = Cluster(size: 5, genesisValidators: 4, validatorChanges: Self.changes)
        try cluster.startAll()
        try cluster.run(untilMs: 120_000) { cluster.commits.allSatisfy { $0.count >= 9 } }
        #expect(cluster.commits.allSatisfy { $0.count >= 9 })
        return cluster
    }

    @Test func aValidatorJoinsAndOneLeavesAtHPlusTwo() throws {
        let cluster = try runChangingCluster()
        let blocks = cluster.commits[1].prefix(9)
        #expect(Set(cluster.commits.map { $0.prefix(9).map(\.hash) }).count == 1, "every engine, the joiner too")
        for block in blocks {
            #expect(block.header.validatorSetHash == (try Self.expectedSet(at: block.height)).hash)
            #expect(block.header.nextValidatorSetHash == (try Self.expectedSet(at: block.height + 1)).hash)
            if let commit = block.lastCommit {
                let signers = Set(commit.signatures.map(\.validator))
                #expect(signers.isSubset(of: Set((try Self.expectedSet(at: commit.height)).validators.map(\.publicKey))))
            }
        }
        let joinerVotes = cluster.votesSent.filter { $0.validator == SimKeys.publicKeys[Self.joiner] }.map(\.height)
        #expect(joinerVotes.min() == 4, "the joiner votes from height 4 on, never before")
        let leaverVotes = cluster.votesSent.filter { $0.validator == SimKeys.publicKeys[Self.leaver] }.map(\.height)
        #expect(leaverVotes.max() == 5, "the leaver's last votes are at height 5")
        let proposers = Set(blocks.filter { $0.height >= 6 }.map(\.header.proposer))
        #expect(!proposers.contains(SimKeys.publicKeys[Self.leaver]))
    }

    /// Every engine's store answers the set of any height from 1 to its tip + 2, from the recorded changes.
    @Test func theSetOfEveryHeightIsStored() throws {
        let cluster = try runChangingCluster()
        for node in cluster.nodes {
            let chain = ChainStore(store: node.disk)
            let tip = try #require(try chain.tip())
            for height in Height(1)...(tip.height + 2) {
                #expect(try chain.validators(at: height, genesis: cluster.validators) == (try Self.expectedSet(at: height)))
            }
            #expect(try chain.validators(at: tip.height + 3, genesis: cluster.validators) == nil)
            #expect(try chain.validators(at: 0, genesis: cluster.validators) == nil)
        }
    }

    /// The joiner crashes after becoming a validator and restarts from its disk: the stored tip carries both
    /// coming sets, so it resumes voting at the right height with the right set.
    @Test func aJoinedValidatorRestartsWithItsSets() throws {
        let cluster = Cluster(size: 5, genesisValidators: 4, validatorChanges: Self.changes)
        try cluster.startAll()
        try cluster.run(untilMs: 120_000) { cluster.commits[Self.joiner].count >= 5 }
        cluster.crash(Self.joiner)
        try cluster.start(Self.joiner)
        #expect(cluster.engine(Self.joiner).consensus.validators?.power(of: SimKeys.publicKeys[Self.joiner]) == 1)
        try cluster.run(untilMs: 240_000) { cluster.commits.allSatisfy { $0.count >= 9 } }
        #expect(cluster.commits.allSatisfy { $0.count >= 9 })
    }
}
