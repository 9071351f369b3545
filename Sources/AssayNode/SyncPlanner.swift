import AssayEngine
import AssayTypes

/// The asking side of block sync: which ranges of committed blocks to ask which peers for, and when. A value fed
/// with the heights peers announce, the answers that arrived and the time (it reads no clock), returning the
/// requests to send. Up to `window` requests of `batchBlocks` blocks are outstanding at once, for consecutive
/// ranges and spread over the peers: on a WAN link one request at a time leaves each connection idle for a round
/// trip per batch, and an idle TCP connection falls back to a small congestion window. A peer that leaves a request
/// unanswered past `answerTimeoutMs`, answers with a block that does not apply, or cannot be sent to is not asked
/// again for `benchMs`, so a peer claiming any height (2^64-1 included) costs at most one request per
/// `answerTimeoutMs + benchMs`.
struct SyncPlanner {
    struct Request: Hashable {
        let peer: PeerID
        let fromHeight: Height
        let maxCount: UInt32

        /// The first height after the range asked for (saturating, as heights near 2^64-1 may be asked for).
        var endHeight: Height {
            let (end, overflow) = fromHeight.addingReportingOverflow(UInt64(maxCount))
            return overflow ? .max : end
        }

        func covers(_ height: Height) -> Bool { fromHeight <= height && height < endHeight }
    }

    let batchBlocks: UInt32
    let window: Int
    let answerTimeoutMs: UInt64
    let benchMs: UInt64
    /// The height each peer last said it works on (its status, or the height of its vote or proposal).
    private var announced: [PeerID: Height] = [:]
    private var benchedUntilMs: [PeerID: UInt64] = [:]
    /// Requests sent and not yet answered, with the time each was sent.
    private(set) var outstanding: [Request: UInt64] = [:]
    /// The end of the highest range asked for: the next range starts there, unless our own height is asked for by
    /// no outstanding request (an answer that came short or never came), which is then asked for first.
    private var requestedThrough: Height = 0

    init(batchBlocks: UInt32, window: Int = 4, answerTimeoutMs: UInt64 = 5_000, benchMs: UInt64 = 10_000) {
        precondition(batchBlocks > 0 && window > 0, "a planner that may ask for nothing")
        precondition(benchMs > 0, "a zero bench would let a failed send be retried at once")
        self.batchBlocks = batchBlocks
        self.window = window
        self.answerTimeoutMs = answerTimeoutMs
        self.benchMs = benchMs
    }

    /// The furthest height a peer announced, if any did.
    var bestAnnounced: Height? { announced.values.max() }

    /// The heights above ours that answers may bring before they can be applied: the reorder buffer's bound.
    var spanBlocks: UInt64 { UInt64(batchBlocks) * UInt64(window) }

    /// Whether an answer from `peer` whose first block is at `firstHeight` answers an outstanding request.
    func awaits(_ peer: PeerID, from firstHeight: Height) -> Bool {
        outstanding.keys.contains { $0.peer == peer && $0.fromHeight == firstHeight }
    }

    /// `peer` works on `height`; we work on `ourHeight`. Returns the requests to send now.
    mutating func heard(_ peer: PeerID, at height: Height, ourHeight: Height, nowMs: UInt64) -> [Request] {
        announced[peer] = height
        return nextRequests(ourHeight: ourHeight, nowMs: nowMs)
    }

    /// A sync response from `peer` whose first block is at `firstHeight` arrived (its blocks are applied or held);
    /// we now work on `ourHeight`. If it answers an outstanding request, that request is done.
    mutating func answered(by peer: PeerID, firstHeight: Height, ourHeight: Height, nowMs: UInt64) -> [Request] {
        if let request = outstanding.keys.first(where: { $0.peer == peer && $0.fromHeight == firstHeight }) {
            outstanding[request] = nil
        }
        return nextRequests(ourHeight: ourHeight, nowMs: nowMs)
    }

    /// A block `peer` sent did not apply: its requests are dropped (their ranges are asked of others) and it rests.
    mutating func rejected(_ peer: PeerID, ourHeight: Height, nowMs: UInt64) -> [Request] {
        giveUp(outstanding.keys.filter { $0.peer == peer }, nowMs: nowMs)
        bench(peer, nowMs: nowMs)
        return nextRequests(ourHeight: ourHeight, nowMs: nowMs)
    }

    /// `request` could not even be sent (the peer is not connected): ask another.
    mutating func sendFailed(_ request: Request, ourHeight: Height, nowMs: UInt64) -> [Request] {
        giveUp([request], nowMs: nowMs)
        return nextRequests(ourHeight: ourHeight, nowMs: nowMs)
    }

    /// Nothing arrived: overdue requests are given up and ranges asked of peers whose bench has ended. The host
    /// calls this on a timer while `wantsTicks`, so a stall (the only peer ahead benched, say) does not wait for
    /// the next announcement, which a quiet peer may never send.
    mutating func tick(ourHeight: Height, nowMs: UInt64) -> [Request] {
        nextRequests(ourHeight: ourHeight, nowMs: nowMs)
    }

    /// Whether a later tick could ask for something: requests are outstanding, or a peer is known to be ahead.
    func wantsTicks(ourHeight: Height) -> Bool {
        !outstanding.isEmpty || (bestAnnounced ?? 0) > ourHeight + 1
    }

    private mutating func nextRequests(ourHeight: Height, nowMs: UInt64) -> [Request] {
        dropOverdue(nowMs: nowMs)
        var requests: [Request] = []
        while outstanding.count < window, let request = nextRequest(ourHeight: ourHeight, nowMs: nowMs) {
            outstanding[request] = nowMs
            requestedThrough = max(requestedThrough, request.endHeight)
            requests.append(request)
        }
        return requests
    }

    /// Requests unanswered past the timeout are given up.
    private mutating func dropOverdue(nowMs: UInt64) {
        giveUp(outstanding.filter { nowMs - min(nowMs, $0.value) >= answerTimeoutMs }.map(\.key), nowMs: nowMs)
    }

    /// Drops `requests` and benches their peers. Their ranges are asked for again from where the remaining
    /// requests end, which may ask again for blocks that answers already brought (a rare cost, on failures only).
    private mutating func giveUp(_ requests: [Request], nowMs: UInt64) {
        guard !requests.isEmpty else { return }
        for request in requests {
            outstanding[request] = nil
            bench(request.peer, nowMs: nowMs)
        }
        requestedThrough = outstanding.keys.map(\.endHeight).max() ?? 0
    }

    /// The next range to ask for and the peer to ask, if any: nothing unless some peer is at least two heights
    /// ahead (one height ahead is a peer that just committed, which consensus and the engine's single-block sync
    /// cover), and nothing past the reorder buffer's span.
    private func nextRequest(ourHeight: Height, nowMs: UInt64) -> Request? {
        let start =
            outstanding.keys.contains(where: { $0.covers(ourHeight) }) ? max(requestedThrough, ourHeight) : ourHeight
        guard start - ourHeight < spanBlocks,
            let best = announced.values.max(), best > ourHeight, best - ourHeight > 1, best > start,
            let peer = peer(holding: start, nowMs: nowMs)
        else { return nil }
        return Request(peer: peer, fromHeight: start, maxCount: batchBlocks)
    }

    /// An unbenched peer that holds the block at `height` (it works on a later height): the one with the fewest
    /// outstanding requests, then the one furthest ahead, then the lower id, so the choice does not depend on
    /// dictionary order.
    private func peer(holding height: Height, nowMs: UInt64) -> PeerID? {
        var best: (peer: PeerID, load: Int, height: Height)?
        for (peer, announcedHeight) in announced where announcedHeight > height {
            guard nowMs >= benchedUntilMs[peer, default: 0] else { continue }
            let load = outstanding.keys.count { $0.peer == peer }
            if let current = best,
                (current.load, Height.max - current.height, current.peer)
                    < (load, Height.max - announcedHeight, peer)
            {
                continue
            }
            best = (peer, load, announcedHeight)
        }
        return best?.peer
    }

    private mutating func bench(_ peer: PeerID, nowMs: UInt64) {
        let (until, overflow) = nowMs.addingReportingOverflow(benchMs)
        benchedUntilMs[peer] = overflow ? .max : until
    }
}
