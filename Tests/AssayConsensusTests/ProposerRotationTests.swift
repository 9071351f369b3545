import AssayCodec
import AssayConsensus
import AssayCrypto
import AssayTypes
import Testing

@Suite struct ProposerRotationTests {
    /// CometBFT's `TestProposerSelection1` vector (powers foo 1000, bar 300, baz 330). Keys are
    /// assigned so that their order matches the addresses' order (bar < baz < foo), our tie-break.
    @Test func matchesCometBFTSelectionVector() throws {
        let names = ["bar": testKeys[0], "baz": testKeys[1], "foo": testKeys[2]]
        let set = try ValidatorSet([
            Validator(publicKey: names["foo"]!, power: 1000), Validator(publicKey: names["bar"]!, power: 300),
            Validator(publicKey: names["baz"]!, power: 330),
        ])
        var rotation = ProposerRotation(validators: set)
        var sequence: [String] = []
        for _ in 0..<99 {
            sequence.append(names.first { $0.value == rotation.proposer }!.key)
            rotation = rotation.advanced()
        }
        let expected =
            "foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo foo baz foo bar foo foo "
            + "baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz "
            + "foo foo foo baz bar foo foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar "
            + "foo foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo"
        #expect(sequence.joined(separator: " ") == expected)
    }

    @Test func equalPowersRotateThroughEveryone() throws {
        let set = try ValidatorSet((0..<4).map { Validator(publicKey: testKeys[$0], power: 5) })
        var rotation = ProposerRotation(validators: set)
        var seen: [PublicKey] = []
        for _ in 0..<8 {
            seen.append(rotation.proposer)
            rotation = rotation.advanced()
        }
        #expect(Set(seen.prefix(4)).count == 4)
        #expect(Array(seen.prefix(4)) == Array(seen.suffix(4)))
    }

    @Test func proposalsFollowVotingPower() throws {
        let powers: [UInt64] = [1, 2, 3, 4]
        let set = try ValidatorSet(powers.enumerated().map { Validator(publicKey: testKeys[$0.offset], power: $0.element) })
        var rotation = ProposerRotation(validators: set)
        var counts = [PublicKey: Int]()
        for _ in 0..<100 {
            counts[rotation.proposer, default: 0] += 1
            rotation = rotation.advanced()
        }
        #expect(powers.indices.allSatisfy { counts[testKeys[$0]] == Int(powers[$0]) * 10 })
    }

    @Test func roundProposerIsThatManyStepsOn() throws {
        let set = try ValidatorSet((0..<5).map { Validator(publicKey: testKeys[$0], power: UInt64($0 + 1)) })
        let rotation = ProposerRotation(validators: set)
        var stepped = rotation
        for round in 0..<12 {
            #expect(rotation.proposer(round: Round(round)) == stepped.proposer)
            stepped = stepped.advanced()
        }
    }

    @Test func rescalingKeepsLargePowersBoundedAndFair() throws {
        let set = try ValidatorSet([
            Validator(publicKey: testKeys[0], power: 1 << 40), Validator(publicKey: testKeys[1], power: 1),
        ])
        var rotation = ProposerRotation(validators: set)
        for _ in 0..<1_000 {
            rotation = rotation.advanced()
            let spread = rotation.priorities.max()! - rotation.priorities.min()!
            #expect(spread <= 2 * Int64(set.totalPower) + Int64(set.totalPower))
        }
    }

    @Test func roundTripsThroughCanonicalBytes() throws {
        let set = try ValidatorSet((0..<3).map { Validator(publicKey: testKeys[$0], power: UInt64($0 + 2)) })
        let rotation = ProposerRotation(validators: set).advanced().advanced()
        #expect(try ProposerRotation(canonicalBytes: rotation.canonicalBytes) == rotation)
        var corrupt = rotation.canonicalBytes
        corrupt[corrupt.count - 4] = 9
        #expect(throws: CodecError.self) { try ProposerRotation(canonicalBytes: corrupt) }
    }
}
