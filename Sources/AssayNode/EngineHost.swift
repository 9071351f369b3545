import AssayCodec
import AssayCrypto
import AssayEngine
import AssayP2P
import AssayTypes
import Dispatch
import Foundation
import Logging
import Synchronization

/// Runs the consensus engine on one serial queue: peer messages, timers and start-up all hop onto it,
/// so the engine (which is not thread-safe) sees one input at a time, as in the simulation.
final class EngineHost: @unchecked Sendable {
    let queue = DispatchQueue(label: "assay.engine", qos: .userInitiated)
    private var engine: Engine?
    private let logger: Logger
    /// The asking side of block sync, used on the queue only.
    private var planner = SyncPlanner(batchBlocks: UInt32(WireMessage.syncBlocksMax))
    /// Sync answers' blocks above our height, waiting for the ones below them (at most `planner.spanBlocks`
    /// heights, each one block), with the peer that sent each. Used on the queue only.
    private var syncBuffer: [Height: (block: CommittedBlock, peer: PeerID)] = [:]
    /// Whether a planner tick is scheduled (queue only): one at a time, every `syncTickMs` while behind.
    private var syncTickPending = false
    static let syncTickMs = 1_000
    /// Whether block sync has requests outstanding, published for `status.catching_up` (read off the queue).
    private let blockSyncing = Atomic<Bool>(false)
    /// Set for a node that started from a snapshot, known to be behind: cleared once it has heard a peer and is
    /// within one height of the furthest one.
    private let behindSinceStart: Atomic<Bool>
    /// Sends a sync request to a peer; false when it could not be queued (the peer is not connected).
    private let requestSync: @Sendable (SyncPlanner.Request) -> Bool
    /// Called when the engine hits a fatal error (storage, WAL): the node must stop rather than guess.
    private let onFatal: @Sendable (String) -> Void
    /// Receives the double-sign evidence each input uncovered, on the queue.
    private let onEvidence: @Sendable ([DoubleSignEvidence]) -> Void

    init(
        logger: Logger, startsBehind: Bool = false, requestSync: @escaping @Sendable (SyncPlanner.Request) -> Bool,
        onEvidence: @escaping @Sendable ([DoubleSignEvidence]) -> Void,
        onFatal: @escaping @Sendable (String) -> Void
    ) {
        self.logger = logger
        behindSinceStart = Atomic(startsBehind)
        self.requestSync = requestSync
        self.onEvidence = onEvidence
        self.onFatal = onFatal
    }

    /// Builds the engine with `make` and starts it, on the queue.
    func start(_ make: @escaping (EngineHost) throws -> Engine) throws {
        try queue.sync {
            let engine = try make(self)
            self.engine = engine
            try engine.start()
        }
    }

    /// A peer's message; a height it announces well ahead of ours starts block sync.
    func deliver(_ message: ConsensusMessage, from peer: PeerID) {
        queue.async {
            self.perform(message.kind) { engine throws(EngineError) in try engine.receive(message, from: peer) }
            // The message may have completed a height (its commit) that buffered blocks continue.
            let rejected = self.applyBuffered()
            let height = message.announcedHeight
            guard rejected != nil || height != nil else { return }
            self.planSync { planner, ourHeight, nowMs in
                (rejected.map { planner.rejected($0, ourHeight: ourHeight, nowMs: nowMs) } ?? [])
                    + (height.map { planner.heard(peer, at: $0, ourHeight: ourHeight, nowMs: nowMs) } ?? [])
            }
        }
    }

    /// Committed blocks from a peer (a sync answer, or one block a peer ahead sent on seeing our height). Blocks
    /// above our height wait in the reorder buffer, as answers to requests for later ranges can come first; each
    /// block at our height goes to the engine, which verifies and commits it and so starts the height the next
    /// buffered block is for. Then the next ranges are asked for while still behind.
    func deliverSync(_ blocks: [CommittedBlock], from peer: PeerID) {
        queue.async {
            guard let engine = self.engine, let first = blocks.first?.block.height else { return }
            // Only answers to our requests may wait (at most `window` frames); anything else a peer sends is
            // applied if it is for our height and otherwise dropped, so unasked blocks cannot pin memory.
            let span = self.planner.awaits(peer, from: first) ? self.planner.spanBlocks : 1
            for committed in blocks where committed.block.height >= engine.height {
                guard committed.block.height - engine.height < span else { break }
                self.syncBuffer[committed.block.height] = (committed, peer)
            }
            let rejected = self.applyBuffered()
            self.planSync { planner, ourHeight, nowMs in
                (rejected.map { planner.rejected($0, ourHeight: ourHeight, nowMs: nowMs) } ?? [])
                    + planner.answered(by: peer, firstHeight: first, ourHeight: ourHeight, nowMs: nowMs)
            }
        }
    }

    /// Applies the buffered blocks that continue our chain, in order. Returns the peer whose block failed to apply,
    /// if one did: its other buffered blocks are dropped with it.
    private func applyBuffered() -> PeerID? {
        var failed: PeerID?
        while let engine, let (committed, peer) = syncBuffer.removeValue(forKey: engine.height) {
            let height = engine.height
            perform("synced block") { engine throws(EngineError) in
                try engine.receive(.decided(committed.block, committed.commit), from: peer)
            }
            if self.engine?.height == height {
                failed = peer
                syncBuffer = syncBuffer.filter { $0.value.peer != peer }
            }
        }
        if let height = engine?.height, syncBuffer.keys.contains(where: { $0 < height }) {
            syncBuffer = syncBuffer.filter { $0.key > height }
        }
        return failed
    }

    /// Feeds the planner and sends what it asks for; a request that cannot be sent benches that peer and asks
    /// another (at most once per peer, as each failure benches one).
    private func planSync(_ feed: (inout SyncPlanner, Height, UInt64) -> [SyncPlanner.Request]) {
        guard let ourHeight = engine?.height else { return }
        let nowMs = DispatchTime.now().uptimeNanoseconds / 1_000_000
        var pending = feed(&planner, ourHeight, nowMs)
        while !pending.isEmpty {
            let request = pending.removeFirst()
            if !requestSync(request) { pending += planner.sendFailed(request, ourHeight: ourHeight, nowMs: nowMs) }
        }
        blockSyncing.store(!planner.outstanding.isEmpty, ordering: .relaxed)
        if let best = planner.bestAnnounced, best <= (engine?.height ?? ourHeight) + 1, planner.outstanding.isEmpty {
            behindSinceStart.store(false, ordering: .relaxed)
        }
        scheduleSyncTick()
    }

    /// Plans again in `syncTickMs` while block sync may still have something to ask (see `SyncPlanner.tick`).
    private func scheduleSyncTick() {
        guard !syncTickPending, let ourHeight = engine?.height, planner.wantsTicks(ourHeight: ourHeight) else { return }
        syncTickPending = true
        queue.asyncAfter(deadline: .now() + .milliseconds(Self.syncTickMs)) { [weak self] in
            guard let self else { return }
            self.syncTickPending = false
            self.planSync { planner, ourHeight, nowMs in planner.tick(ourHeight: ourHeight, nowMs: nowMs) }
        }
    }

    /// True while block sync is fetching blocks from a peer ahead (CometBFT's `catching_up`): a node that has heard
    /// of no peer ahead, or is within one height of them, is not catching up, except one started from a snapshot,
    /// which is until it has heard a peer and come within one height of it.
    var isCatchingUp: Bool { blockSyncing.load(ordering: .relaxed) || behindSinceStart.load(ordering: .relaxed) }

    /// `transport` for this host's engine, minus height announcements while a sync batch is outstanding: every peer
    /// ahead answers an announcement with the one block it names, so a node syncing by batches that announced
    /// each height it commits would download every block once more from every peer.
    func engineTransport(over transport: any Transport) -> any Transport {
        QuietWhileBatchSyncing(inner: transport, host: self)
    }

    /// Read on the queue only (the engine calls its transport there).
    fileprivate var isBatchSyncing: Bool { !planner.outstanding.isEmpty }

    func fire(_ timer: EngineTimer) {
        queue.async { self.perform("timer \(timer)") { engine throws(EngineError) in try engine.timerFired(timer) } }
    }

    /// The engine's current height and round, read on its queue.
    func position() -> (height: Height, round: Round) {
        queue.sync { (engine?.height ?? 0, engine?.round ?? 0) }
    }

    func stop() { queue.sync { engine = nil } }

    /// Runs one input through the engine. A step that holds the queue for long (building or executing a large
    /// block) and a height that needed more than one round are logged: both are what an operator looks for when
    /// blocks come slowly.
    private func perform(_ input: @autoclosure () -> String, _ body: (Engine) throws(EngineError) -> Void) {
        guard let engine else { return }
        let (height, round) = (engine.height, engine.round)
        let started = DispatchTime.now().uptimeNanoseconds
        do { try body(engine) } catch {
            logger.critical("consensus engine stopped: \(error)")
            self.engine = nil
            onFatal("\(error)")
            return
        }
        let evidence = engine.takeEvidence()
        if !evidence.isEmpty { onEvidence(evidence) }
        let elapsedMs = (DispatchTime.now().uptimeNanoseconds - started) / 1_000_000
        if elapsedMs >= Self.slowStepMs {
            logger.warning("consensus step took \(elapsedMs) ms at height \(height) round \(round): \(input())")
        }
        if engine.height > height, round > 0 {
            logger.info("height \(height) committed in round \(round)")
        }
    }

    /// A step this long delays every vote behind it by as much; the default propose timeout is 1,000 ms.
    private static let slowStepMs: UInt64 = 250
}

private final class QuietWhileBatchSyncing: Transport {
    let inner: any Transport
    unowned let host: EngineHost

    init(inner: any Transport, host: EngineHost) {
        self.inner = inner
        self.host = host
    }

    func broadcast(_ message: ConsensusMessage) {
        if case .status = message, host.isBatchSyncing { return }
        inner.broadcast(message)
    }

    func send(_ message: ConsensusMessage, to peer: PeerID) { inner.send(message, to: peer) }
}

/// Wall-clock time for block timestamps, and timers on the engine's queue.
final class DispatchClock: Clock, @unchecked Sendable {
    private weak var host: EngineHost?

    init(host: EngineHost) { self.host = host }

    var nowMs: UInt64 { UInt64(Date().timeIntervalSince1970 * 1_000) }

    func schedule(_ timer: EngineTimer, afterMs: UInt64) {
        host?.queue.asyncAfter(deadline: .now() + .milliseconds(Int(afterMs))) { [weak host] in host?.fire(timer) }
    }
}

/// The engine's messages over the encrypted P2P links, which peers authenticate with their node keys. Peers are
/// numbered in the order this node first allowed them (the genesis validators' node keys in the order of their
/// consensus keys, then each validator a committed change added), so an id never changes.
final class P2PTransport: Transport, Sendable {
    private let p2p: P2PService
    private let peers: Mutex<[PublicKey]>
    /// The consensus key of each allowed node key.
    private let validators = Mutex<[PublicKey: PublicKey]>([:])

    init(p2p: P2PService, peers: [PublicKey]) {
        self.p2p = p2p
        self.peers = Mutex(peers)
    }

    func peerID(of key: PublicKey) -> PeerID? {
        peers.withLock { $0.firstIndex(of: key).map { PeerID(UInt32($0)) } }
    }

    /// The validator (consensus key) whose node authenticated with `nodeKey`, while it is allowed.
    func validator(ofNode nodeKey: PublicKey) -> PublicKey? { validators.withLock { $0[nodeKey] } }

    /// Takes the allowed members (consensus keys by node key) and numbers the node keys not numbered yet
    /// (validators a committed change added), in key order.
    func admit(_ members: [PublicKey: PublicKey]) {
        validators.withLock { $0 = members }
        peers.withLock { peers in
            for key in members.keys.sorted() where !peers.contains(key) { peers.append(key) }
        }
    }

    func broadcast(_ message: ConsensusMessage) { p2p.broadcast(Self.wire(message).canonicalBytes) }

    func send(_ message: ConsensusMessage, to peer: PeerID) { _ = send(Self.wire(message), to: peer) }

    func requestSync(_ request: SyncPlanner.Request) -> Bool {
        send(.syncRequest(fromHeight: request.fromHeight, maxCount: request.maxCount), to: request.peer)
    }

    private func send(_ message: WireMessage, to peer: PeerID) -> Bool {
        let key = peers.withLock { Int(peer.rawValue) < $0.count ? $0[Int(peer.rawValue)] : nil }
        guard let key else { return false }
        return p2p.send(to: key, message.canonicalBytes)
    }

    static func wire(_ message: ConsensusMessage) -> WireMessage {
        switch message {
        case let .proposal(proposal, block): .proposal(proposal, block)
        case let .vote(vote): .vote(vote)
        case let .decided(block, commit): .syncResponse([CommittedBlock(block: block, commit: commit)])
        case let .status(height): .statusAnnouncement(height: height)
        }
    }
}

extension ConsensusMessage {
    /// What the message is, for the log.
    fileprivate var kind: String {
        switch self {
        case let .proposal(proposal, block):
            "proposal for height \(proposal.height) round \(proposal.round) (\(block.transactions.count) transactions)"
        case let .vote(vote): "vote for height \(vote.height) round \(vote.round)"
        case let .decided(block, _): "decided block \(block.height)"
        case let .status(height): "status \(height)"
        }
    }

    /// The height the sender says it works on: a status's, or a vote's or proposal's own height.
    fileprivate var announcedHeight: Height? {
        switch self {
        case let .status(height): height
        case let .vote(vote): vote.height
        case let .proposal(proposal, _): proposal.height
        case .decided: nil
        }
    }
}
