import AssayEngine
import AssayTypes

/// The asking side of block sync: which peer to ask for a batch of committed blocks, and when. A value fed with
/// the heights peers announce, the answers applied and the time (it reads no clock), returning the request to
/// send. At most one request is outstanding; a peer that leaves it unanswered past `answerTimeoutMs`, or answers
/// with blocks that do not apply, is not asked again for `benchMs`, so a peer claiming any height (2^64-1
/// included) costs at most one request per `answerTimeoutMs + benchMs`.
struct SyncPlanner {
    struct Request: Hashable {
        let peer: PeerID
        let fromHeight: Height
        let maxCount: UInt32
    }

    let batchBlocks: UInt32
    let answerTimeoutMs: UInt64
    let benchMs: UInt64
    /// The height each peer last said it works on (its status, or the height of its vote or proposal).
    private var announced: [PeerID: Height] = [:]
    private var benchedUntilMs: [PeerID: UInt64] = [:]
    private(set) var outstanding: (request: Request, sentAtMs: UInt64)?

    init(batchBlocks: UInt32, answerTimeoutMs: UInt64 = 5_000, benchMs: UInt64 = 10_000) {
        precondition(batchBlocks > 0 && benchMs > 0, "a zero bench would let a failed send be retried at once")
        self.batchBlocks = batchBlocks
        self.answerTimeoutMs = answerTimeoutMs
        self.benchMs = benchMs
    }

    /// `peer` works on `height`; we work on `ourHeight`. Returns the request to send now, if any.
    mutating func heard(_ peer: PeerID, at height: Height, ourHeight: Height, nowMs: UInt64) -> Request? {
        announced[peer] = height
        return nextRequest(ourHeight: ourHeight, nowMs: nowMs)
    }

    /// A sync response from `peer` whose first block is at `firstHeight` has been applied, leaving us at
    /// `ourHeight`. If it answers the outstanding request, the next batch is asked for at once while we are behind.
    mutating func applied(responseFrom peer: PeerID, firstHeight: Height, ourHeight: Height, nowMs: UInt64)
        -> Request?
    {
        if let pending = outstanding?.request, pending.peer == peer, pending.fromHeight == firstHeight {
            outstanding = nil
            // Nothing applied although we still needed that height: the blocks were bad.
            if ourHeight <= pending.fromHeight { bench(peer, nowMs: nowMs) }
        }
        return nextRequest(ourHeight: ourHeight, nowMs: nowMs)
    }

    /// `request` could not even be sent (the peer is not connected): ask another.
    mutating func sendFailed(_ request: Request, ourHeight: Height, nowMs: UInt64) -> Request? {
        if outstanding?.request == request { outstanding = nil }
        bench(request.peer, nowMs: nowMs)
        return nextRequest(ourHeight: ourHeight, nowMs: nowMs)
    }

    private mutating func nextRequest(ourHeight: Height, nowMs: UInt64) -> Request? {
        if let (request, sentAtMs) = outstanding {
            guard nowMs - min(nowMs, sentAtMs) >= answerTimeoutMs else { return nil }
            outstanding = nil
            bench(request.peer, nowMs: nowMs)
        }
        guard let peer = bestPeer(ourHeight: ourHeight, nowMs: nowMs) else { return nil }
        let request = Request(peer: peer, fromHeight: ourHeight, maxCount: batchBlocks)
        outstanding = (request, nowMs)
        return request
    }

    /// The unbenched peer furthest ahead, at least two heights ahead of us (one height ahead is a peer that just
    /// committed, which consensus and the engine's single-block sync cover); ties go to the lower id, so the
    /// choice does not depend on dictionary order.
    private func bestPeer(ourHeight: Height, nowMs: UInt64) -> PeerID? {
        var best: (peer: PeerID, height: Height)?
        for (peer, height) in announced where height > ourHeight && height - ourHeight > 1 {
            guard nowMs >= benchedUntilMs[peer, default: 0] else { continue }
            if let current = best, current.height > height || (current.height == height && current.peer < peer) {
                continue
            }
            best = (peer, height)
        }
        return best?.peer
    }

    private mutating func bench(_ peer: PeerID, nowMs: UInt64) {
        let (until, overflow) = nowMs.addingReportingOverflow(benchMs)
        benchedUntilMs[peer] = overflow ? .max : until
    }
}
