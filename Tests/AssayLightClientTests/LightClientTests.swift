import AssayCodec
import AssayCrypto
import AssayLightClient
import AssayTypes
import Testing

/// Heights 1-35 through every kind of set change: 4 equal validators; one added (6); a power change (11); two
/// removed (16); then full turnover in three steps (21, 26, 31), after which no validator of height 1 is left.
let changingSets: [ValidatorSet] = {
    let stages: [(heights: Int, set: ValidatorSet)] = [
        (5, Signers.set(0...3)),
        (5, Signers.set(0...4)),
        (5, Signers.set([(0, 30), (1, 10), (2, 10), (3, 10), (4, 10)])),
        (5, Signers.set([(0, 30), (3, 10), (4, 10)])),
        (5, Signers.set(3...6)),
        (5, Signers.set(5...8)),
        (6, Signers.set(9...12)),
    ]
    return stages.flatMap { Array(repeating: $0.set, count: $0.heights) }
}()

let changingChain = TestChain(sets: changingSets)

@Suite struct ValidChainTests {
    @Test func everyBlockFollowsItsParentThroughEverySetChange() throws {
        #expect(changingChain.tip.height == 35)
        for height in Height(2)...35 {
            try LightClient.verifyAdjacent(trusted: changingChain[height - 1], untrusted: changingChain[height])
        }
    }

    @Test func skipsWhileTheTrustedSetStillHoldsOverAThird() throws {
        // Heights 1 -> 15: the trusted next set {0,1,2,3} signed 15 with 40 of its 40.
        try LightClient.verifyNonAdjacent(trusted: changingChain[1], untrusted: changingChain[15])
        // Heights 16 -> 23: of {0:30, 3, 4} only 3 and 4 are left at 23: 20 of 50 is over a third.
        try LightClient.verify(trusted: changingChain[16], untrusted: changingChain[23])
    }

    @Test func bisectionCrossesAFullTurnoverInFewerFetchesThanHeights() async throws {
        var fetched: [Height] = []
        let reached = try await LightClient.verifyToHeight(35, from: changingChain[1]) { height in
            fetched.append(height)
            return changingChain[height]
        }
        #expect(reached == changingChain[35])
        #expect(fetched.first == 35)
        #expect(fetched.count > 1, "no validator of height 1 signs 35: a direct skip cannot be trusted")
        // 35 fails from 1, 18 holds {0, 3} of {0..3}; from 18 both 35 and 26 fail, 22 holds {3, 4} of D; from 22,
        // 26 holds {5, 6} of E; from 26, 35 fails and 30 (voted by F) holds all of F, whose next set is 35's.
        #expect(fetched == [35, 18, 26, 22, 30])
    }

    @Test func bisectionFetchesOnlyTheTargetWhenTheSkipIsTrusted() async throws {
        var fetches = 0
        let reached = try await LightClient.verifyToHeight(10, from: changingChain[2]) { height in
            fetches += 1
            return changingChain[height]
        }
        #expect(reached.hash == changingChain[10].hash)
        #expect(fetches == 1)
    }

    @Test func aLightBlockSurvivesItsCanonicalEncoding() throws {
        let block = changingChain[17]
        #expect(try LightBlock(canonicalBytes: block.canonicalBytes) == block)
    }
}

@Suite struct RejectionTests {
    /// Each header field changed after the commit signed the header.
    static let forgeries: [(String, @Sendable (inout Header) -> Void)] = [
        ("chain id", { $0.chainID = "another-chain" }),
        ("height", { $0.height += 1 }),
        ("time", { $0.timeMs += 1 }),
        ("previous block hash", { $0.previousBlockHash = SHA256.hash([1]) }),
        ("last commit hash", { $0.lastCommitHash = SHA256.hash([2]) }),
        ("transactions root", { $0.transactionsRoot = SHA256.hash([3]) }),
        ("state root", { $0.stateRoot = SHA256.hash([4]) }),
        ("validator set hash", { $0.validatorSetHash = SHA256.hash([5]) }),
        ("next validator set hash", { $0.nextValidatorSetHash = SHA256.hash([6]) }),
        ("proposer", { $0.proposer = Signers.key(20).publicKey }),
    ]

    @Test(arguments: 0..<forgeries.count) func aHeaderChangedAfterSigningIsForged(_ index: Int) {
        var forged = changingChain[12]
        Self.forgeries[index].1(&forged.header)
        let expected = LightClientError.forgedHeader(
            height: forged.header.height, headerHash: forged.header.hash, signedHash: changingChain[12].hash)
        #expect(throws: expected, "\(Self.forgeries[index].0)") {
            try LightClient.verifyAdjacent(trusted: changingChain[11], untrusted: forged)
        }
        #expect(throws: expected) { try LightClient.verifyNonAdjacent(trusted: changingChain[3], untrusted: forged) }
    }

    @Test func aCommitByTheRemovedValidatorsIsRejected() async throws {
        // Validators 1 and 2 left at height 16. Signing on their own, they forge a chain that goes on without the
        // others: valid on its own (their set, their signatures), but none of its signers is trusted after 16.
        let removed = Signers.set([(1, 10), (2, 10)])
        let trusted = changingChain[17]
        let forgedNext = TestChain.signed(
            TestChain.header(height: 18, previous: trusted.hash, validators: removed, next: removed),
            validators: removed, next: removed)
        try forgedNext.validate(chainID: TestChain.chainID)
        #expect(throws: LightClientError.untrustedValidatorSet(height: 18)) {
            try LightClient.verifyAdjacent(trusted: trusted, untrusted: forgedNext)
        }
        let forgedLater = TestChain.signed(
            TestChain.header(height: 25, previous: SHA256.hash([9]), validators: removed, next: removed),
            validators: removed, next: removed)
        #expect(throws: LightClientError.insufficientTrustedPower(height: 25, signed: 0, total: 50)) {
            try LightClient.verifyNonAdjacent(trusted: trusted, untrusted: forgedLater)
        }
        // Their signatures on the real block 20 are not members' signatures.
        var realBlock = changingChain[20]
        realBlock.commit = TestChain.commit(
            chainID: TestChain.chainID, height: 20, blockHash: realBlock.hash,
            signers: removed.validators.map(\.publicKey))
        #expect(throws: LightClientError.invalidCommit(height: 20, .unknownValidator(realBlock.commit.signatures[0].validator))) {
            try LightClient.verifyNonAdjacent(trusted: trusted, untrusted: realBlock)
        }
    }

    @Test func bisectionOverAForgedChainFails() async {
        // A source that answers the removed validators' own chain for every height after 17.
        let removed = Signers.set([(1, 10), (2, 10)])
        let forged = TestChain(sets: Array(repeating: removed, count: 31))
        await #expect(throws: LightClientError.self) {
            _ = try await LightClient.verifyToHeight(30, from: changingChain[17]) { forged[$0] }
        }
    }

    /// Heights 1-3 voted by {a, b, c}, heights 4-6 by {a, x, y}: only `a` carries trust from height 1 to 6.
    static func handover(trustedPowers: [UInt64]) -> TestChain {
        let old = Signers.set([(0, trustedPowers[0]), (1, trustedPowers[1]), (2, trustedPowers[2])])
        let new = Signers.set([(0, trustedPowers[0]), (10, 10), (11, 10)])
        return TestChain(sets: [old, old, old, new, new, new, new])
    }

    @Test func signersWithExactlyAThirdOfTheTrustedPowerAreNotEnough() {
        let chain = Self.handover(trustedPowers: [10, 10, 10])
        #expect(throws: LightClientError.insufficientTrustedPower(height: 6, signed: 10, total: 30)) {
            try LightClient.verifyNonAdjacent(trusted: chain[1], untrusted: chain[6])
        }
    }

    @Test func signersWithLessThanAThirdOfTheTrustedPowerAreNotEnough() {
        let chain = Self.handover(trustedPowers: [10, 10, 11])
        #expect(throws: LightClientError.insufficientTrustedPower(height: 6, signed: 10, total: 31)) {
            try LightClient.verifyNonAdjacent(trusted: chain[1], untrusted: chain[6])
        }
    }

    @Test func signersWithOverAThirdOfTheTrustedPowerAreEnough() throws {
        let chain = Self.handover(trustedPowers: [11, 10, 10])
        try LightClient.verifyNonAdjacent(trusted: chain[1], untrusted: chain[6])
    }

    @Test func bisectionGoesThroughTheHandover() async throws {
        let chain = Self.handover(trustedPowers: [10, 10, 10])
        var fetched: [Height] = []
        let reached = try await LightClient.verifyToHeight(6, from: chain[1]) { height in
            fetched.append(height)
            return chain[height]
        }
        #expect(reached == chain[6])
        #expect(fetched == [6, 3])
    }

    @Test func anotherChainIsRejected() {
        let other = TestChain(sets: Array(repeating: Signers.set(0...3), count: 6), chainID: "other-chain")
        #expect(throws: LightClientError.wrongChain(expected: TestChain.chainID, found: "other-chain")) {
            try LightClient.verify(trusted: changingChain[1], untrusted: other[5])
        }
    }

    @Test func aHeightNotAboveTheTrustedOneIsRejected() async {
        #expect(throws: LightClientError.notHigher(trusted: 5, untrusted: 5)) {
            try LightClient.verify(trusted: changingChain[5], untrusted: changingChain[5])
        }
        #expect(throws: LightClientError.notHigher(trusted: 5, untrusted: 3)) {
            try LightClient.verifyNonAdjacent(trusted: changingChain[5], untrusted: changingChain[3])
        }
        await #expect(throws: LightClientError.notHigher(trusted: 5, untrusted: 4)) {
            _ = try await LightClient.verifyToHeight(4, from: changingChain[5]) { changingChain[$0] }
        }
    }

    @Test func adjacencyIsCheckedBothWays() {
        #expect(throws: LightClientError.notAdjacent(trusted: 5, untrusted: 7)) {
            try LightClient.verifyAdjacent(trusted: changingChain[5], untrusted: changingChain[7])
        }
        #expect(throws: LightClientError.adjacent(trusted: 5)) {
            try LightClient.verifyNonAdjacent(trusted: changingChain[5], untrusted: changingChain[6])
        }
    }

    @Test func setsThatDoNotMatchTheHeaderAreRejected() {
        var wrongSet = changingChain[8]
        wrongSet.validators = Signers.set(0...3)
        #expect(throws: LightClientError.validatorSetMismatch(height: 8)) {
            try LightClient.verifyAdjacent(trusted: changingChain[7], untrusted: wrongSet)
        }
        var wrongNext = changingChain[10]
        wrongNext.nextValidators = Signers.set(0...4)
        #expect(throws: LightClientError.nextValidatorSetMismatch(height: 10)) {
            try LightClient.verifyAdjacent(trusted: changingChain[9], untrusted: wrongNext)
        }
    }

    @Test func aDuplicatedSignatureIsRejected() {
        var block = changingChain[3]
        block.commit.signatures.insert(block.commit.signatures[1], at: 1)
        #expect(throws: LightClientError.invalidCommit(height: 3, .duplicate(block.commit.signatures[1].validator))) {
            try LightClient.verifyAdjacent(trusted: changingChain[2], untrusted: block)
        }
    }

    @Test func aBadSignatureAndTooFewSignersAreRejected() throws {
        var block = changingChain[3]
        let victim = block.commit.signatures[2]
        var bytes = victim.signature.bytes
        bytes[5] ^= 1
        block.commit.signatures[2] = CommitSignature(validator: victim.validator, signature: try Signature(bytes: bytes))
        #expect(throws: LightClientError.invalidCommit(height: 3, .badSignature(victim.validator))) {
            try LightClient.verifyAdjacent(trusted: changingChain[2], untrusted: block)
        }
        var twoOfFour = changingChain[3]
        twoOfFour.commit.signatures.removeLast(2)
        #expect(throws: LightClientError.invalidCommit(height: 3, .insufficientPower(signed: 20, total: 40))) {
            try LightClient.verifyAdjacent(trusted: changingChain[2], untrusted: twoOfFour)
        }
    }

    @Test func aSignedBlockOnAnotherParentOrNotLaterInTimeIsRejected() {
        let set = changingSets[1]
        let orphan = TestChain.signed(
            TestChain.header(height: 3, previous: SHA256.hash([7]), validators: set, next: changingSets[3]),
            validators: set, next: changingSets[3])
        #expect(throws: LightClientError.doesNotExtendTrusted(height: 3)) {
            try LightClient.verifyAdjacent(trusted: changingChain[2], untrusted: orphan)
        }
        var early = TestChain.header(height: 3, previous: changingChain[2].hash, validators: set, next: changingSets[3])
        early.timeMs = changingChain[2].header.timeMs
        #expect(throws: LightClientError.timeNotIncreasing(height: 3)) {
            try LightClient.verifyAdjacent(
                trusted: changingChain[2], untrusted: TestChain.signed(early, validators: set, next: changingSets[3]))
        }
    }

    @Test func aSourceAnsweringAnotherHeightIsRejected() async {
        await #expect(throws: LightClientError.wrongHeightFetched(asked: 9, got: 8)) {
            _ = try await LightClient.verifyToHeight(9, from: changingChain[2]) { changingChain[$0 - 1] }
        }
    }
}

@Suite struct BackwardsTests {
    @Test func theParentOfATrustedHeaderIsTrustedByItsHash() throws {
        try LightClient.verifyBackwards(trusted: changingChain[20].header, untrusted: changingChain[19].header)
    }

    @Test func aHeaderThatIsNotTheNamedParentIsRejected() {
        var forged = changingChain[19].header
        forged.stateRoot = SHA256.hash([8])
        #expect(throws: LightClientError.notTrustedParent(height: 19)) {
            try LightClient.verifyBackwards(trusted: changingChain[20].header, untrusted: forged)
        }
        #expect(throws: LightClientError.notAdjacent(trusted: 20, untrusted: 18)) {
            try LightClient.verifyBackwards(trusted: changingChain[20].header, untrusted: changingChain[18].header)
        }
    }
}
