import AssayConsensus
import AssayCrypto
import AssayTypes
import Testing

/// Validator changes in the rotation (CometBFT's `UpdateWithChangeSet` then one increment): who joins, who leaves,
/// and that proposing stays weighted by the new powers.
@Suite struct ValidatorChangeRotationTests {
    static func set(_ powers: [UInt64]) throws -> ValidatorSet {
        try ValidatorSet(powers.enumerated().map { Validator(publicKey: testKeys[$0.offset], power: $0.element) })
    }

    /// How often each key proposes over `steps` heights from `rotation`.
    static func proposals(from rotation: ProposerRotation, steps: Int) -> [PublicKey: Int] {
        var counts: [PublicKey: Int] = [:]
        var current = rotation
        for _ in 0..<steps {
            counts[current.proposer, default: 0] += 1
            current = current.advanced()
        }
        return counts
    }

    @Test func noChangesIsOneStep() throws {
        let rotation = ProposerRotation(validators: try Self.set([3, 1, 2])).advanced()
        #expect(try rotation.advanced(applying: []) == rotation.advanced())
    }

    @Test func setChangesAddRemoveAndRepower() throws {
        let set = try Self.set([1, 1, 1])
        let changed = try set.applying([
            Validator(publicKey: testKeys[3], power: 4), Validator(publicKey: testKeys[0], power: 0),
            Validator(publicKey: testKeys[1], power: 7),
        ])
        #expect(changed.validators.map(\.publicKey) == [testKeys[1], testKeys[2], testKeys[3]].sorted())
        #expect(changed.power(of: testKeys[1]) == 7 && changed.power(of: testKeys[3]) == 4)
        #expect(changed.power(of: testKeys[0]) == 0 && changed.totalPower == 12)
    }

    /// A key added and removed (or tombstoned) in the block that added it reaches consensus as power 0 for a key
    /// that is not a member: the set stays as it was, where throwing would have stopped every node at that commit.
    @Test func removingANonMemberChangesNothing() throws {
        let set = try Self.set([1, 1])
        #expect(try set.applying([Validator(publicKey: testKeys[5], power: 0)]) == set)
    }

    @Test func badChangesAreRefused() throws {
        let set = try Self.set([1, 1])
        #expect(throws: ValidatorSet.Problem.duplicate(testKeys[0])) {
            try set.applying([Validator(publicKey: testKeys[0], power: 2), Validator(publicKey: testKeys[0], power: 3)])
        }
        #expect(throws: ValidatorSet.Problem.empty) {
            try set.applying([Validator(publicKey: testKeys[0], power: 0), Validator(publicKey: testKeys[1], power: 0)])
        }
    }

    /// A newcomer starts at -1.125 x the total power: it proposes only after the members it joined, however large
    /// its power (leaving and re-joining cannot jump the queue).
    @Test func aNewcomerWaitsBehindTheMembers() throws {
        let rotation = ProposerRotation(validators: try Self.set([1, 1, 1, 1])).advanced()
        let joined = try rotation.advanced(applying: [Validator(publicKey: testKeys[4], power: 1)])
        var current = joined
        var before: [PublicKey] = []
        while current.proposer != testKeys[4] {
            before.append(current.proposer)
            current = current.advanced()
        }
        #expect(Set(before) == Set(testKeys.prefix(4)), "every member proposes before the newcomer")
    }

    /// Over many heights each validator proposes in proportion to its new power; a removed one never again.
    @Test func proposingFollowsTheNewPowers() throws {
        let rotation = ProposerRotation(validators: try Self.set([5, 3, 2])).advanced().advanced()
        let changed = try rotation.advanced(applying: [
            Validator(publicKey: testKeys[0], power: 0), Validator(publicKey: testKeys[1], power: 1),
            Validator(publicKey: testKeys[3], power: 6),
        ])
        let rounds = 100
        let counts = Self.proposals(from: changed, steps: 9 * rounds)
        #expect(counts[testKeys[0]] == nil)
        for (key, power) in [(testKeys[1], 1), (testKeys[2], 2), (testKeys[3], 6)] {
            #expect(abs((counts[key] ?? 0) - power * rounds) <= 3, "\(counts[key] ?? 0) for power \(power)")
        }
    }

    /// The same changes on the same rotation give the same rotation on every node: priorities are integers and
    /// members are ordered by key, whatever order the changes come in.
    @Test func changesAreDeterministicAndOrderFree() throws {
        let rotation = ProposerRotation(validators: try Self.set([4, 2, 9])).advanced()
        let changes = [Validator(publicKey: testKeys[5], power: 3), Validator(publicKey: testKeys[1], power: 0)]
        let one = try rotation.advanced(applying: changes)
        let other = try rotation.advanced(applying: changes.reversed())
        #expect(one == other)
        #expect(Self.proposals(from: one, steps: 50) == Self.proposals(from: other, steps: 50))
    }
}
