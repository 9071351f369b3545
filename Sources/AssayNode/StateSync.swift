import AssayCodec
import AssayCrypto
import AssayEngine
import AssayLedger
import AssayLightClient
import AssayP2P
import AssayRocksDB
import AssaySafetyRules
import AssayStorage
import AssayTypes
import Foundation
import Logging
import Synchronization

/// Untrusted blocks from the peers that offered a snapshot.
protocol StateSyncSource: Sendable {
    func block(_ height: Height) async throws -> CommittedBlock
    func lightBlock(_ height: Height) async throws -> LightBlock
}

/// Verifies the snapshot's block from the operator's trust options with the light client, as CometBFT's state sync
/// does: the trusted block must hash to the trust hash and be younger than the trust period; block `H` is verified
/// from it (skipping, with bisection when too little trusted power signed), and so is `H + 1`, whose header names
/// the set of `H + 2` that the snapshot's tip also carries. The full block `H` must hash to the verified header.
struct SnapshotBlockVerifier {
    let chainID: String
    let trustHeight: Height
    let trustHash: Hash
    let trustPeriodMs: UInt64
    /// The wall clock when the node started (read at the edge; only the trust period depends on it).
    let nowMs: UInt64

    /// Block `height` with its verified commit, and the verified header of `height + 1`.
    func verified(at height: Height, from source: some StateSyncSource) async throws
        -> (block: CommittedBlock, nextHeader: Header)
    {
        guard height >= trustHeight else {
            throw StateSyncError("snapshot height \(height) is below the trusted height \(trustHeight)")
        }
        do {
            let trusted = try await self.trusted(from: source)
            let target =
                height == trustHeight
                ? trusted : try await LightClient.verifyToHeight(height, from: trusted, fetch: source.lightBlock)
            let next = try await LightClient.verifyToHeight(height + 1, from: target, fetch: source.lightBlock)
            let full = try await source.block(height)
            guard full.block.height == height, full.block.hash == target.hash else {
                throw StateSyncError("block \(height) from a peer does not hash to the verified header \(target.hash)")
            }
            return (CommittedBlock(block: full.block, commit: target.commit), next.header)
        } catch let error as LightClientError {
            throw StateSyncError("light client: \(error)")
        }
    }

    private func trusted(from source: some StateSyncSource) async throws -> LightBlock {
        let trusted = try await source.lightBlock(trustHeight)
        guard trusted.hash == trustHash else {
            throw StateSyncError("block \(trustHeight) from a peer is \(trusted.hash), not the trusted \(trustHash)")
        }
        try trusted.validate(chainID: chainID)
        guard trusted.header.timeMs + trustPeriodMs >= nowMs else {
            throw StateSyncError(
                "the trusted block \(trustHeight) is older than trust_period_s: trust a newer block from a source you trust")
        }
        return trusted
    }
}

struct StateSyncError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Which chunks to ask which peers for: at most `window` outstanding, spread in turn over the peers that offered
/// the snapshot; a chunk unanswered past the timeout, or answered "not held", is asked of another; a peer that sent
/// a chunk that does not verify is asked nothing more. Pure: fed the time, returns the requests to send.
struct ChunkSchedule {
    let window: Int
    let timeoutMs: UInt64
    private(set) var peers: [PublicKey]
    private var missing: [UInt32]
    private var outstanding: [UInt32: (peer: PublicKey, sentMs: UInt64)] = [:]
    private var next = 0
    /// "Not held" answers per chunk: past four per peer, the snapshot is gone (replaced by newer ones); fewer may
    /// be a busy server.
    private var refusals: [UInt32: Int] = [:]

    init(chunkCount: Int, peers: [PublicKey], window: Int, timeoutMs: UInt64) {
        self.window = window
        self.timeoutMs = timeoutMs
        self.peers = peers
        missing = Array(0..<UInt32(chunkCount)).reversed()
    }

    var isComplete: Bool { missing.isEmpty && outstanding.isEmpty }

    /// Whether `index` is awaited from `peer` (anything else is dropped unread).
    func awaits(_ index: UInt32, from peer: PublicKey) -> Bool { outstanding[index]?.peer == peer }

    /// A chunk arrived and was written.
    mutating func received(_ index: UInt32) { outstanding[index] = nil }

    /// The peer could not serve `index`: ask another.
    mutating func notHeld(_ index: UInt32) {
        guard outstanding.removeValue(forKey: index) != nil else { return }
        missing.append(index)
        refusals[index, default: 0] += 1
    }

    /// `peer` sent a chunk that failed verification: it is dropped and its chunks asked of others.
    mutating func rejected(_ peer: PublicKey) {
        peers.removeAll { $0 == peer }
        for (index, request) in outstanding where request.peer == peer {
            outstanding[index] = nil
            missing.append(index)
        }
    }

    /// Requests to send now (overdue ones are asked again, of the next peer in turn).
    mutating func requests(nowMs: UInt64) throws -> [(peer: PublicKey, index: UInt32)] {
        for (index, request) in outstanding where nowMs - min(nowMs, request.sentMs) >= timeoutMs {
            outstanding[index] = nil
            missing.append(index)
        }
        guard !peers.isEmpty else { throw StateSyncError("no peer left that serves the snapshot") }
        if let (index, _) = refusals.first(where: { $0.value >= 4 * peers.count }) {
            throw StateSyncError("no peer holds chunk \(index) any more (the snapshot was replaced by newer ones)")
        }
        var sent: [(peer: PublicKey, index: UInt32)] = []
        while outstanding.count < window, let index = missing.popLast() {
            let peer = peers[next % peers.count]
            next += 1
            outstanding[index] = (peer, nowMs)
            sent.append((peer, index))
        }
        return sent
    }
}

/// The joining side of state sync: runs before the engine, on a node with an empty store. Asks the peers for
/// their snapshots, verifies the newest one's block from the trust options, checks its manifest against that
/// block, downloads and checks every chunk (writing each as it arrives), then stores the block, its commit and
/// the chain tip, so the node starts at that height and block-syncs the rest.
final class StateSyncClient: Sendable {
    private let p2p: P2PService
    private let store: RocksDBStore
    private let chainID: String
    private let verifier: SnapshotBlockVerifier
    private let settings: NodeConfig.StateSync
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var offers: [PublicKey: StateSyncManifest] = [:]
        var blocks: [Height: CommittedBlock] = [:]
        var lightBlocks: [Height: LightBlock] = [:]
        var manifest: StateSyncManifest?
        var schedule: ChunkSchedule?
        var failure: String?
        var done = false
        var chunkBytes = 0
    }

    init(
        p2p: P2PService, store: RocksDBStore, chainID: String, verifier: SnapshotBlockVerifier,
        settings: NodeConfig.StateSync, logger: Logger
    ) {
        self.p2p = p2p
        self.store = store
        self.chainID = chainID
        self.verifier = verifier
        self.settings = settings
        self.logger = logger
    }

    /// Restores the newest verifiable snapshot; returns its tip. The inbound stream is read only until then.
    func run() async throws -> ChainTip {
        try StateRestore.requireEmpty(store)
        let started = ContinuousClock.now
        return try await withThrowingTaskGroup(of: ChainTip?.self) { group in
            group.addTask {
                for await message in self.p2p.inbound {
                    self.handle(message)
                    if self.state.withLock({ $0.done }) { break }
                }
                return nil
            }
            group.addTask {
                defer { self.state.withLock { $0.done = true } }
                let tip = try await self.restore()
                let elapsed = (ContinuousClock.now - started).components
                let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
                self.logger.info(
                    "state sync: restored height \(tip.height) in \(String(format: "%.1f", seconds)) s, \(self.state.withLock { $0.chunkBytes }) chunk bytes, \(self.p2p.receivedBytesTotal) p2p bytes received")
                return tip
            }
            var restored: ChainTip?
            for try await result in group where result != nil { restored = result }
            guard let restored else { throw StateSyncError("state sync ended without a snapshot") }
            return restored
        }
    }

    private func restore() async throws -> ChainTip {
        while true {
            let candidates = try await gatherOffers()
            for manifest in candidates {
                do { return try await restore(manifest) } catch let error as SnapshotError {
                    logger.warning("state sync: snapshot at height \(manifest.height) rejected: \(error)")
                } catch let error as StateSyncError {
                    logger.warning("state sync: snapshot at height \(manifest.height) failed: \(error)")
                }
                state.withLock { state in state.offers = state.offers.filter { $0.value != manifest } }
                try clearPartialState()
            }
        }
    }

    /// Deletes what a failed snapshot wrote, so that another can be restored into an empty store.
    private func clearPartialState() throws {
        for namespace in LedgerNamespace.all {
            while true {
                let page = try store.scan(namespace, from: [], to: nil, limit: 10_000)
                guard !page.isEmpty else { break }
                var batch = WriteBatch()
                for (key, _) in page { batch.delete(key, in: namespace) }
                try store.write(batch, durability: .buffered)
            }
        }
        try StateRestore.requireEmpty(store)
    }

    /// Asks every peer for its snapshot until some answer; the distinct offers, newest first.
    private func gatherOffers() async throws -> [StateSyncManifest] {
        while true {
            p2p.broadcast(WireMessage.snapshotOfferRequest.canonicalBytes)
            try await Task.sleep(for: .milliseconds(settings.discoveryMs))
            let offers = state.withLock { Array(Set($0.offers.values)) }.sorted { $0.height > $1.height }
            if !offers.isEmpty { return offers }
            logger.info("state sync: no snapshot offered yet by \(p2p.connectedPeers.count) connected peers")
        }
    }

    private func restore(_ manifest: StateSyncManifest) async throws -> ChainTip {
        let peers = state.withLock { $0.offers.filter { $0.value == manifest }.map(\.key) }.sorted()
        logger.info("state sync: verifying the snapshot at height \(manifest.height) offered by \(peers.count) peers")
        let verified = try await verifier.verified(at: manifest.height, from: PeerSource(client: self, peers: peers))
        try manifest.verify(against: verified.block.block, nextHeader: verified.nextHeader)
        try await downloadChunks(manifest, peers: peers)
        try StateRestore.finish(manifest.ledger, store: store)
        var batch = WriteBatch()
        try ChainStore(store: store).restoreWrites(
            verified.block.block, verified.block.commit, tip: manifest.tip, into: &batch)
        try store.write(batch, durability: .synced)
        return manifest.tip
    }

    private func downloadChunks(_ manifest: StateSyncManifest, peers: [PublicKey]) async throws {
        let timeoutMs = UInt64(settings.chunkTimeoutMs)
        state.withLock {
            $0.manifest = manifest
            // As many outstanding per peer as a server reads at once, so that busy answers stay rare.
            $0.schedule = ChunkSchedule(
                chunkCount: SnapshotManifest.chunkCount, peers: peers, window: SnapshotServer.readsMax * peers.count,
                timeoutMs: timeoutMs)
            $0.failure = nil
        }
        defer { state.withLock { $0.schedule = nil } }
        while true {
            let nowMs = DispatchTime.now().uptimeNanoseconds / 1_000_000
            let (requests, complete): ([(peer: PublicKey, index: UInt32)], Bool) = try state.withLock { state in
                if let failure = state.failure { throw StateSyncError(failure) }
                guard state.schedule != nil else { return ([], true) }
                return (try state.schedule!.requests(nowMs: nowMs), state.schedule!.isComplete)
            }
            if complete { return }
            for request in requests {
                let message = WireMessage.snapshotChunkRequest(height: manifest.height, index: request.index)
                if !p2p.send(to: request.peer, message.canonicalBytes) {
                    state.withLock { $0.schedule?.notHeld(request.index) }
                }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The peers' answers to block and light block requests (checked by the verifier, not here).
    struct PeerSource: StateSyncSource {
        let client: StateSyncClient
        let peers: [PublicKey]

        func block(_ height: Height) async throws -> CommittedBlock {
            try await client.ask(.syncRequest(fromHeight: height, maxCount: 1), of: peers, for: "block \(height)") {
                $0.blocks.removeValue(forKey: height)
            }
        }

        func lightBlock(_ height: Height) async throws -> LightBlock {
            try await client.ask(.lightBlockRequest(height: height), of: peers, for: "light block \(height)") {
                $0.lightBlocks.removeValue(forKey: height)
            }
        }
    }

    /// Sends `request` to each of `peers` in turn until `answer` finds the reply within the chunk timeout.
    private func ask<Answer: Sendable>(
        _ request: WireMessage, of peers: [PublicKey], for what: String,
        answer: @Sendable (inout State) -> Answer?
    ) async throws -> Answer {
        for peer in peers {
            _ = p2p.send(to: peer, request.canonicalBytes)
            for _ in 0..<(settings.chunkTimeoutMs / 20) {
                if let found = state.withLock({ answer(&$0) }) { return found }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        throw StateSyncError("no peer sent \(what)")
    }

    private func handle(_ message: InboundMessage) {
        guard let wire = try? WireMessage(canonicalBytes: message.bytes) else { return }
        switch wire {
        case let .snapshotOffer(bytes):
            guard let manifest = try? StateSyncManifest(canonicalBytes: bytes) else { return }
            state.withLock { $0.offers[message.peer] = manifest }
        case let .syncResponse(blocks):
            // At most one awaited block at a time; anything else is dropped.
            guard blocks.count == 1, let block = blocks.first else { return }
            state.withLock { $0.blocks = [block.block.height: block] }
        case let .lightBlock(height, bytes):
            guard let block = try? LightBlock(canonicalBytes: bytes), block.height == height else { return }
            state.withLock { $0.lightBlocks = [height: block] }
        case let .snapshotChunk(height, index, bytes):
            received(height: height, index: index, bytes: bytes, from: message.peer)
        case let .snapshotChunkNotHeld(_, index):
            state.withLock { $0.schedule?.notHeld(index) }
        default:
            break
        }
    }

    /// Checks a chunk against the manifest and writes it; a chunk that does not verify drops its sender.
    private func received(height: Height, index: UInt32, bytes: [UInt8], from peer: PublicKey) {
        guard let manifest = state.withLock({ state in
            state.schedule?.awaits(index, from: peer) == true && state.manifest?.height == height ? state.manifest : nil
        }) else { return }
        let chunk: StateChunk
        do {
            chunk = try StateChunk(canonicalBytes: bytes)
            guard chunk.index == index else { throw SnapshotError.chunkMismatch(index: Int(index), reason: "answers another index") }
            try chunk.verify(against: manifest.ledger)
        } catch {
            logger.warning("state sync: chunk \(index) from peer \(peer) rejected, peer dropped: \(error)")
            state.withLock { $0.schedule?.rejected(peer) }
            return
        }
        do {
            try store.write(try StateRestore.writes(for: chunk, store: store), durability: .buffered)
        } catch {
            state.withLock { $0.failure = "writing chunk \(index): \(error)" }
            return
        }
        state.withLock {
            $0.schedule?.received(index)
            $0.chunkBytes += bytes.count
        }
    }
}

extension LightBlock {
    /// The light block of `height` from a node's chain store: its block's header and commit with the sets of
    /// `height` and `height + 1`. Nil when the block is not held (beyond the tip, below the base).
    static func stored(at height: Height, in chain: ChainStore, genesis: ValidatorSet) throws(EngineError) -> LightBlock? {
        guard let stored = try chain.block(at: height),
            let validators = try chain.validators(at: height, genesis: genesis),
            let next = try chain.validators(at: height + 1, genesis: genesis)
        else { return nil }
        return LightBlock(header: stored.block.header, commit: stored.commit, validators: validators, nextValidators: next)
    }
}
