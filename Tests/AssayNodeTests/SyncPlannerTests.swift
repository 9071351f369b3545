import AssayEngine
import AssayTypes
import Testing

@testable import AssayNode

@Suite struct SyncPlannerTests {
    private let a = PeerID(0)
    private let b = PeerID(1)
    private let c = PeerID(2)

    private func planner(window: Int = 1) -> SyncPlanner {
        SyncPlanner(batchBlocks: 64, window: window, answerTimeoutMs: 5_000, benchMs: 10_000)
    }

    private func request(_ peer: PeerID, from height: Height) -> SyncPlanner.Request {
        SyncPlanner.Request(peer: peer, fromHeight: height, maxCount: 64)
    }

    @Test func aPeerTwoOrMoreHeightsAheadIsAskedForABatchFromOurHeight() {
        var planner = planner()
        #expect(planner.heard(a, at: 11, ourHeight: 10, nowMs: 0) == [])
        #expect(planner.heard(b, at: 10, ourHeight: 10, nowMs: 0) == [])
        #expect(planner.heard(a, at: 12, ourHeight: 10, nowMs: 0) == [request(a, from: 10)])
    }

    @Test func thePeerFurthestAheadIsAskedAndTiesGoToTheLowerID() {
        var planner = planner()
        #expect(planner.heard(b, at: 100, ourHeight: 1, nowMs: 0) == [request(b, from: 1)])
        #expect(planner.heard(c, at: 500, ourHeight: 1, nowMs: 0) == [], "a window of one request")
        #expect(planner.heard(a, at: 500, ourHeight: 1, nowMs: 0) == [])
        #expect(planner.answered(by: b, firstHeight: 1, ourHeight: 65, nowMs: 1) == [request(a, from: 65)])
    }

    @Test func anAnswerIsFollowedAtOnceByTheNextBatchWhileBehind() {
        var planner = planner()
        #expect(planner.heard(a, at: 301, ourHeight: 1, nowMs: 0) == [request(a, from: 1)])
        #expect(planner.answered(by: a, firstHeight: 1, ourHeight: 65, nowMs: 10) == [request(a, from: 65)])
        #expect(planner.answered(by: a, firstHeight: 65, ourHeight: 129, nowMs: 20) == [request(a, from: 129)])
        #expect(planner.answered(by: a, firstHeight: 129, ourHeight: 300, nowMs: 30) == [])
        #expect(planner.outstanding.isEmpty)
    }

    @Test func aWindowAsksForConsecutiveRangesSpreadOverThePeers() {
        var fresh = planner(window: 3)
        #expect(fresh.heard(c, at: 900, ourHeight: 1, nowMs: 0).map(\.fromHeight) == [1, 65, 129])
        _ = fresh.heard(a, at: 1_000, ourHeight: 1, nowMs: 0)
        _ = fresh.heard(b, at: 1_000, ourHeight: 1, nowMs: 0)
        // The next range goes to the least loaded peer.
        #expect(fresh.answered(by: c, firstHeight: 1, ourHeight: 65, nowMs: 5) == [request(a, from: 193)])
        // The answer for 129 before the one for 65: held, not applied, and nothing past the buffer's span is asked.
        #expect(fresh.answered(by: c, firstHeight: 129, ourHeight: 65, nowMs: 6) == [])
        #expect(
            fresh.answered(by: c, firstHeight: 65, ourHeight: 193, nowMs: 7) == [request(b, from: 257), request(c, from: 321)])
    }

    @Test func aShortAnswerLeavesAGapThatIsAskedForOnceReached() {
        var planner = planner(window: 2)
        #expect(planner.heard(a, at: 1_000, ourHeight: 1, nowMs: 0).map(\.fromHeight) == [1, 65])
        // a's answer from 1 brought only 10 blocks (its frame filled): 11...64 is asked for first, not skipped.
        #expect(planner.answered(by: a, firstHeight: 1, ourHeight: 11, nowMs: 10) == [request(a, from: 11)])
        #expect(planner.answered(by: a, firstHeight: 11, ourHeight: 65, nowMs: 20) == [request(a, from: 129)])
    }

    @Test func noDuplicateRequestWhileTheWindowIsFull() {
        var planner = planner()
        #expect(planner.heard(a, at: 100, ourHeight: 1, nowMs: 0).count == 1)
        for now in stride(from: UInt64(0), to: 5_000, by: 250) {
            #expect(planner.heard(a, at: 100, ourHeight: 1, nowMs: now) == [])
            #expect(planner.heard(b, at: 200, ourHeight: 1, nowMs: now) == [])
        }
        // A single block served by a peer's status exchange does not count as the answer.
        #expect(planner.answered(by: b, firstHeight: 1, ourHeight: 2, nowMs: 100) == [])
        #expect(Array(planner.outstanding.keys) == [request(a, from: 1)])
    }

    @Test func aPeerThatNeverAnswersIsBenchedAndAnotherAskedAfterTheTimeout() {
        var planner = planner()
        _ = planner.heard(a, at: 100, ourHeight: 1, nowMs: 0)
        #expect(planner.heard(b, at: 90, ourHeight: 1, nowMs: 4_999) == [])
        #expect(planner.heard(a, at: 100, ourHeight: 1, nowMs: 5_000) == [request(b, from: 1)])
        // b also times out; a is still benched and b now is too: nobody is asked until a's bench ends.
        #expect(planner.heard(a, at: 100, ourHeight: 1, nowMs: 10_000) == [])
        #expect(planner.outstanding.isEmpty)
        #expect(planner.heard(a, at: 100, ourHeight: 1, nowMs: 14_999) == [])
        #expect(planner.heard(a, at: 100, ourHeight: 1, nowMs: 15_000) == [request(a, from: 1)])
    }

    @Test func aTickAsksAgainOnceTheOnlyPeersBenchEndsWithoutANewAnnouncement() {
        var planner = planner()
        _ = planner.heard(a, at: 100, ourHeight: 1, nowMs: 0)
        #expect(planner.wantsTicks(ourHeight: 1))
        #expect(planner.tick(ourHeight: 1, nowMs: 4_999) == [])
        #expect(planner.tick(ourHeight: 1, nowMs: 5_000) == [], "timed out: a is benched")
        #expect(planner.outstanding.isEmpty && planner.wantsTicks(ourHeight: 1), "a is still ahead")
        #expect(planner.tick(ourHeight: 1, nowMs: 15_000) == [request(a, from: 1)])
        var quiet = self.planner()
        _ = quiet.heard(b, at: 6, ourHeight: 5, nowMs: 0)
        #expect(!quiet.wantsTicks(ourHeight: 5), "one height ahead is consensus's to cover")
    }

    @Test func aPeerWhoseBlockDoesNotApplyIsBenchedAndItsRangesAskedOfAnother() {
        var planner = planner(window: 2)
        _ = planner.heard(a, at: 100, ourHeight: 1, nowMs: 0)
        _ = planner.heard(b, at: 90, ourHeight: 1, nowMs: 0)
        #expect(planner.rejected(a, ourHeight: 1, nowMs: 10).allSatisfy { $0.peer == b })
        #expect(planner.outstanding.keys.allSatisfy { $0.peer == b })
        #expect(planner.outstanding.keys.contains { $0.fromHeight == 1 }, "our own height is asked for again")
    }

    @Test func anAnswerOvertakenByOtherBlocksIsNotHeldAgainstThePeer() {
        var planner = planner()
        _ = planner.heard(a, at: 300, ourHeight: 1, nowMs: 0)
        // Blocks 1...70 arrived otherwise; a's answer from 1 applies nothing new, yet we are past its start.
        #expect(planner.answered(by: a, firstHeight: 1, ourHeight: 71, nowMs: 10) == [request(a, from: 71)])
    }

    @Test func aPeerClaimingTheLargestHeightCostsOneRequestPerTimeoutAndBench() {
        var planner = planner(window: 4)
        var sent = 0
        for now in stride(from: UInt64(0), through: 60_000, by: 100) {
            sent += planner.heard(a, at: .max, ourHeight: 7, nowMs: now).count
        }
        // Asked at 0, 15 s, 30 s, 45 s and 60 s, a window of 4 each time: 20 requests over a minute of
        // announcements every 100 ms, however high the height it claims.
        #expect(sent == 20)
        #expect(planner.outstanding.keys.map(\.fromHeight).sorted() == [7, 71, 135, 199])
    }

    @Test func aFailedSendBenchesThePeerAndAsksAnother() {
        var planner = planner()
        _ = planner.heard(b, at: 50, ourHeight: 1, nowMs: 0)
        let first = request(b, from: 1)
        #expect(Array(planner.outstanding.keys) == [first])
        _ = planner.heard(a, at: 40, ourHeight: 1, nowMs: 0)
        #expect(planner.sendFailed(first, ourHeight: 1, nowMs: 0) == [request(a, from: 1)])
        #expect(planner.sendFailed(request(a, from: 1), ourHeight: 1, nowMs: 0) == [])
        #expect(planner.outstanding.isEmpty)
    }

    @Test func theLargestHeightsNeitherOverflowNorAsk() {
        var planner = planner(window: 4)
        #expect(planner.heard(a, at: .max, ourHeight: .max, nowMs: .max) == [])
        #expect(planner.heard(a, at: 0, ourHeight: .max, nowMs: .max) == [])
        #expect(planner.heard(a, at: .max, ourHeight: .max - 2, nowMs: .max) == [request(a, from: .max - 2)])
        #expect(planner.heard(a, at: .max, ourHeight: .max - 2, nowMs: .max) == [])
    }
}
