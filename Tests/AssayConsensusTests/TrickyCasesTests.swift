import AssayConsensus
import AssayCrypto
import AssayTypes
import Testing

/// The paper's tricky cases, as stories about one validator ("me", one of four equal validators,
/// not the proposer of round 0, unless a story says otherwise). Quorum is three of four.
@Suite struct TrickyCasesTests {
    @Test func happyPathDecidesWithACommitCertificate() {
        var story = CoreHarness()
        story.start()
        let round: Round = 0
        let v = value("block A")
        let produced = story.proposal(round: round, v)
        #expect(story.ownVote(.prevote, in: produced) == .some(v), "L24: a valid proposal is prevoted")
        story.echoOwnVotes(produced)
        let afterPolka = story.votes(.prevote, from: story.others(2), round: round, v)
        #expect(story.ownVote(.precommit, in: afterPolka) == .some(v), "L36-40: a polka is precommitted")
        #expect(story.core.lockedValue == v && story.core.lockedRound == 0)
        story.echoOwnVotes(afterPolka)
        let decided = story.votes(.precommit, from: story.others(2), round: round, v)
        guard case let .decide(height, decidedRound, blockHash, commit)? = decided.last else {
            Issue.record("L49: three precommits decide")
            return
        }
        #expect(height == 1 && decidedRound == 0 && blockHash == v)
        #expect(commit.signatures.count == 3 && commit.blockHash == v)
        #expect(story.core.step == .decided)
    }

    /// A hidden lock: me saw the polka for v only after precommitting nil, so it is not locked but
    /// v is its valid value; as the next proposer it must re-propose v with proof-of-lock round 0
    /// (L15-16), not a new block, or validators locked on v could never agree with the rest.
    @Test func hiddenLockIsReproposedWithItsProofOfLockRound() {
        var story = CoreHarness()
        story.start()
        let next = story.round(from: 1, proposerIsMe: true)
        let v = value("locked elsewhere")
        story.echoOwnVotes(story.apply(.timeout(Timeout(kind: .propose, height: 1, round: 0))))
        story.votes(.prevote, from: story.others(2), round: 0, nil)
        story.echoOwnVotes(story.apply(.timeout(Timeout(kind: .prevote, height: 1, round: 0))))
        #expect(story.core.step == .precommit)
        // The polka for v arrives late: validator 3's prevote and the proposal of round 0.
        story.votes(.prevote, from: story.others(3), round: 0, v)
        story.proposal(round: 0, v)
        #expect(story.core.lockedValue == nil, "L37: no lock after the prevote step")
        #expect(story.core.validValue == v && story.core.validRound == 0, "L42-43: but v is the valid value")
        // Rounds pass until me proposes.
        for skipped in 0..<next {
            story.votes(.precommit, from: story.others(3), round: skipped, nil)
            story.apply(.timeout(Timeout(kind: .precommit, height: 1, round: skipped)))
        }
        #expect(story.core.round == next)
        #expect(story.effects.contains(.propose(height: 1, round: next, blockHash: v, proofOfLockRound: 0)))
        #expect(!story.effects.contains(.buildProposal(height: 1, round: next)))
    }

    /// Locked on v in round 0; round 2 proposes w with a proof-of-lock from round 1 (newer than the
    /// lock): L29 lets the lock yield. With a proof-of-lock older than the lock it would not.
    @Test func proofOfLockFromALaterRoundThanTheLockUnlocks() {
        var story = CoreHarness()
        story.start()
        let v = value("v")
        let w = value("w")
        story.echoOwnVotes(story.proposal(round: 0, v))
        story.echoOwnVotes(story.votes(.prevote, from: story.others(2), round: 0, v))
        #expect(story.core.lockedValue == v && story.core.lockedRound == 0)
        // Round 1: the others saw w's polka (me did not take part).
        story.votes(.precommit, from: story.others(3), round: 0, nil)
        story.apply(.timeout(Timeout(kind: .precommit, height: 1, round: 0)))
        story.votes(.prevote, from: story.others(3), round: 1, w)
        story.votes(.precommit, from: story.others(3), round: 1, nil)
        story.apply(.timeout(Timeout(kind: .precommit, height: 1, round: 1)))
        #expect(story.core.round == 2)
        let produced = story.proposal(round: 2, w, pol: 1)
        #expect(story.ownVote(.prevote, in: produced) == .some(w), "L29: lockedRound 0 <= vr 1")
    }

    @Test func proofOfLockOlderThanTheLockIsRefused() {
        var story = CoreHarness()
        story.start()
        let v = value("v")
        let w = value("w")
        // Round 0: w gets a polka that me does not join (me prevoted nil on a timeout).
        story.echoOwnVotes(story.apply(.timeout(Timeout(kind: .propose, height: 1, round: 0))))
        story.votes(.prevote, from: story.others(3), round: 0, w)
        story.votes(.precommit, from: story.others(3), round: 0, nil)
        story.apply(.timeout(Timeout(kind: .precommit, height: 1, round: 0)))
        // Round 1: me locks on v.
        story.echoOwnVotes(story.proposal(round: 1, v))
        story.echoOwnVotes(story.votes(.prevote, from: story.others(2), round: 1, v))
        #expect(story.core.lockedValue == v && story.core.lockedRound == 1)
        story.votes(.precommit, from: story.others(3), round: 1, nil)
        story.apply(.timeout(Timeout(kind: .precommit, height: 1, round: 1)))
        // Round 2 re-proposes w with the older proof-of-lock of round 0.
        let produced = story.proposal(round: 2, w, pol: 0)
        #expect(story.ownVote(.prevote, in: produced) == .some(nil), "L31: lockedRound 1 > vr 0 keeps the lock")
    }

    /// Me is already in round 3 when the precommits of round 0 for v arrive: L49 decides on a value
    /// of any round of the height.
    @Test func decidesOnAValueFromAnEarlierRound() {
        var story = CoreHarness()
        story.start()
        let v = value("round zero block")
        story.proposal(round: 0, v)
        story.votes(.prevote, from: story.others(3), round: 3, nil)
        #expect(story.core.round == 3, "L55: f+1 in round 3 moves me there")
        let produced = story.votes(.precommit, from: story.others(3), round: 0, v)
        #expect(produced.contains { if case .decide(1, 0, v, _) = $0 { true } else { false } })
    }

    @Test func invalidProposalIsPrevotedNil() {
        var story = CoreHarness()
        story.start()
        let produced = story.proposal(round: 0, value("bad state root"), valid: false)
        #expect(story.ownVote(.prevote, in: produced) == .some(nil), "L26: invalid value: prevote nil")
    }

    @Test func lockedValidatorPrevotesNilForANewValueWithoutProofOfLock() {
        var story = CoreHarness()
        story.start()
        let v = value("v")
        story.echoOwnVotes(story.proposal(round: 0, v))
        story.echoOwnVotes(story.votes(.prevote, from: story.others(2), round: 0, v))
        story.votes(.precommit, from: story.others(3), round: 0, nil)
        story.apply(.timeout(Timeout(kind: .precommit, height: 1, round: 0)))
        let produced = story.proposal(round: 1, value("other"))
        #expect(story.ownVote(.prevote, in: produced) == .some(nil), "L25: locked on v")
    }

    @Test func roundSkipNeedsMoreThanAThirdOfThePower() {
        var story = CoreHarness(powers: [1, 1, 1, 6])
        story.start()
        story.votes(.prevote, from: story.others(2), round: 5, nil)
        #expect(story.core.round == 0, "2 of 9 is not more than a third")
        story.votes(.prevote, from: [3], round: 5, nil)
        #expect(story.core.round == 5, "L55: 8 of 9 is")
    }

    @Test func quorumIsCountedByPowerNotByNumber() {
        // Validators 0, 1, 2 have power 1 each, validator 3 has 4: three of four by number is 3 of 7.
        var story = CoreHarness(powers: [1, 1, 1, 4])
        story.start()
        let v = value("v")
        let round: Round = 0
        story.echoOwnVotes(story.proposal(round: round, v))
        let produced = story.votes(.prevote, from: story.others(2), round: round, v)
        #expect(story.ownVote(.precommit, in: produced) == .none, "3 of 7 is no quorum")
        let withHeavy = story.votes(.prevote, from: [3], round: round, v)
        #expect(story.ownVote(.precommit, in: withHeavy) == .some(v), "7 of 7 is")
    }

    @Test func equivocatingVoteYieldsEvidenceOnce() {
        var story = CoreHarness()
        story.start()
        story.votes(.prevote, from: story.others(1), round: 0, value("a"))
        let first = story.votes(.prevote, from: story.others(1), round: 0, value("b"))
        let again = story.votes(.prevote, from: story.others(1), round: 0, nil)
        #expect(first.contains { if case .evidence = $0 { true } else { false } })
        #expect(!again.contains { if case .evidence = $0 { true } else { false } })
    }

    @Test func timeoutsGrowLinearlyWithTheRound() {
        let config = TimeoutConfig(proposeBaseMs: 1_000, proposeDeltaMs: 250)
        #expect(config.durationMs(.propose, round: 0) == 1_000)
        #expect(config.durationMs(.propose, round: 4) == 2_000)
        #expect(config.durationMs(.propose, round: .max) > config.durationMs(.propose, round: 1_000))
    }

    @Test func staleTimeoutsAreIgnored() {
        var story = CoreHarness()
        story.start()
        story.votes(.prevote, from: story.others(3), round: 2, nil)
        let produced = story.apply(.timeout(Timeout(kind: .propose, height: 1, round: 0)))
        #expect(produced.isEmpty && story.core.round == 2 && story.core.step == .propose)
    }
}
