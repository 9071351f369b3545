import AssayEngine
import AssayTypes
import Testing

@testable import AssayNode

@Suite struct SyncPlannerTests {
    private let a = PeerID(0)
    private let b = PeerID(1)
    private let c = PeerID(2)

    private func planner() -> SyncPlanner { SyncPlanner(batchBlocks: 64, answerTimeoutMs: 5_000, benchMs: 10_000) }

    private func request(_ peer: PeerID, from height: Height) -> SyncPlanner.Request {
        SyncPlanner.Request(peer: peer, fromHeight: height, maxCount: 64)
    }

    @Test func aPeerTwoOrMoreHeightsAheadIsAskedForABatchFromOurHeight() {
        var planner = planner()
        #expect(planner.heard(a, at: 11, ourHeight: 10, nowMs: 0) == nil)
        #expect(planner.heard(b, at: 10, ourHeight: 10, nowMs: 0) == nil)
        #expect(planner.heard(a, at: 12, ourHeight: 10, nowMs: 0) == request(a, from: 10))
    }

    @Test func thePeerFurthestAheadIsAskedAndTiesGoToTheLowerID() {
        var planner = planner()
        #expect(planner.heard(b, at: 100, ourHeight: 1, nowMs: 0) == request(b, from: 1))
        #expect(planner.heard(c, at: 500, ourHeight: 1, nowMs: 0) == nil, "one request at a time")
        #expect(planner.heard(a, at: 500, ourHeight: 1, nowMs: 0) == nil)
        #expect(planner.applied(responseFrom: b, firstHeight: 1, ourHeight: 65, nowMs: 1) == request(a, from: 65))
    }

    @Test func anAppliedAnswerIsFollowedAtOnceByTheNextBatchWhileBehind() {
        var planner = planner()
        #expect(planner.heard(a, at: 301, ourHeight: 1, nowMs: 0) == request(a, from: 1))
        #expect(planner.applied(responseFrom: a, firstHeight: 1, ourHeight: 65, nowMs: 10) == request(a, from: 65))
        #expect(planner.applied(responseFrom: a, firstHeight: 65, ourHeight: 129, nowMs: 20) == request(a, from: 129))
        #expect(planner.applied(responseFrom: a, firstHeight: 129, ourHeight: 300, nowMs: 30) == nil)
        #expect(planner.outstanding == nil)
    }

    @Test func noDuplicateRequestWhileOneIsOutstanding() {
        var planner = planner()
        #expect(planner.heard(a, at: 100, ourHeight: 1, nowMs: 0) != nil)
        for now in stride(from: UInt64(0), to: 5_000, by: 250) {
            #expect(planner.heard(a, at: 100, ourHeight: 1, nowMs: now) == nil)
            #expect(planner.heard(b, at: 200, ourHeight: 1, nowMs: now) == nil)
        }
        // A single block served by a peer's status exchange does not count as the answer.
        #expect(planner.applied(responseFrom: b, firstHeight: 1, ourHeight: 2, nowMs: 100) == nil)
        #expect(planner.outstanding?.request == request(a, from: 1))
    }

    @Test func aPeerThatNeverAnswersIsBenchedAndAnotherAskedAfterTheTimeout() {
        var planner = planner()
        _ = planner.heard(a, at: 100, ourHeight: 1, nowMs: 0)
        #expect(planner.heard(b, at: 90, ourHeight: 1, nowMs: 4_999) == nil)
        #expect(planner.heard(a, at: 100, ourHeight: 1, nowMs: 5_000) == request(b, from: 1))
        // b also times out; a is still benched and b now is too: nobody is asked until a's bench ends.
        #expect(planner.heard(a, at: 100, ourHeight: 1, nowMs: 10_000) == nil)
        #expect(planner.outstanding == nil)
        #expect(planner.heard(a, at: 100, ourHeight: 1, nowMs: 14_999) == nil)
        #expect(planner.heard(a, at: 100, ourHeight: 1, nowMs: 15_000) == request(a, from: 1))
    }

    @Test func aPeerWhoseAnswerAppliesNothingIsBenchedAndAnotherAskedAtOnce() {
        var planner = planner()
        _ = planner.heard(a, at: 100, ourHeight: 1, nowMs: 0)
        _ = planner.heard(b, at: 90, ourHeight: 1, nowMs: 0)
        #expect(planner.applied(responseFrom: a, firstHeight: 1, ourHeight: 1, nowMs: 10) == request(b, from: 1))
        #expect(planner.applied(responseFrom: b, firstHeight: 1, ourHeight: 65, nowMs: 20) == request(b, from: 65))
    }

    @Test func anAnswerOvertakenByOtherBlocksIsNotHeldAgainstThePeer() {
        var planner = planner()
        _ = planner.heard(a, at: 300, ourHeight: 1, nowMs: 0)
        // Blocks 1...70 arrived otherwise; a's answer from 1 applies nothing new, yet we are past its start.
        #expect(planner.applied(responseFrom: a, firstHeight: 1, ourHeight: 71, nowMs: 10) == request(a, from: 71))
    }

    @Test func aPeerClaimingTheLargestHeightCostsOneRequestPerTimeoutAndBench() {
        var planner = planner()
        var sent = 0
        for now in stride(from: UInt64(0), through: 60_000, by: 100) {
            if planner.heard(a, at: .max, ourHeight: 7, nowMs: now) != nil { sent += 1 }
            #expect(planner.outstanding?.request.fromHeight ?? 7 == 7)
        }
        // Asked at 0, 15 s, 30 s, 45 s and 60 s: 5 requests over a minute of announcements every 100 ms.
        #expect(sent == 5)
    }

    @Test func aFailedSendBenchesThePeerAndAsksAnother() {
        var planner = planner()
        _ = planner.heard(b, at: 50, ourHeight: 1, nowMs: 0)
        let first = request(b, from: 1)
        #expect(planner.outstanding?.request == first)
        _ = planner.heard(a, at: 40, ourHeight: 1, nowMs: 0)
        #expect(planner.sendFailed(first, ourHeight: 1, nowMs: 0) == request(a, from: 1))
        #expect(planner.sendFailed(request(a, from: 1), ourHeight: 1, nowMs: 0) == nil)
        #expect(planner.outstanding == nil)
    }

    @Test func theLargestHeightsNeitherOverflowNorAsk() {
        var planner = planner()
        #expect(planner.heard(a, at: .max, ourHeight: .max, nowMs: .max) == nil)
        #expect(planner.heard(a, at: 0, ourHeight: .max, nowMs: .max) == nil)
        #expect(planner.heard(a, at: .max, ourHeight: .max - 2, nowMs: .max) == request(a, from: .max - 2))
        #expect(planner.heard(a, at: .max, ourHeight: .max - 2, nowMs: .max) == nil)
    }
}
