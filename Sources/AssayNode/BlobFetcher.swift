import AssayBlobs
import AssayCrypto
import AssayP2P
import Foundation
import Logging
import Synchronization

/// Bytes of blob chunks fetched from peers and served to them (for /metrics).
public final class BlobTraffic: Sendable {
    public let fetchedBytes = Atomic<UInt64>(0)
    public let servedBytes = Atomic<UInt64>(0)

    public init() {}
}

/// A blob that could not be fetched in time.
public struct BlobFetchError: Error, Equatable, CustomStringConvertible {
    public let ref: BlobRef
    public let heldChunks: Int
    public let peersAsked: Int

    public var description: String {
        "blob \(ref) not fetched by the deadline: \(heldChunks) of \(ref.chunkCount) chunks held, "
            + "\(peersAsked) peers asked"
    }
}

/// Fetches blobs from the connected peers into the local store (docs/p2p.md, Blob transfer): the missing chunks
/// are spread over every peer that has room, at most `inFlightBytesPerPeer` requested and not yet stored per peer
/// over all fetches; each chunk is verified against its proof before it is stored. A chunk a peer does not hold,
/// or does not answer within `chunkTimeout`, is asked of another; a peer whose chunk fails its proof is dropped
/// for that blob. Concurrent fetches of one blob share one transfer.
public final class BlobFetcher: Sendable {
    public static let inFlightBytesPerPeerDefault = 4 << 20

    let store: BlobStore
    let p2p: P2PService
    let traffic: BlobTraffic
    let inFlightBytesPerPeer: Int
    let chunkTimeout: Duration
    /// How long a peer that said "not held" (or timed out) rests before it is asked about that blob again.
    let peerRest: Duration
    let logger: Logger
    /// Chunk writes hash and block on the disk: they run here, several at once, never on the cooperative pool.
    private let writes = DispatchQueue(label: "assay.blobs.fetch", attributes: .concurrent)
    private let state = Mutex(State())

    private struct State {
        var running: [BlobRef: Running] = [:]
        var inFlight: [PublicKey: Int] = [:]
    }

    private struct Running {
        let task: Task<Void, any Error>
        let events: AsyncStream<FetchEvent>.Continuation
    }

    public init(
        store: BlobStore, p2p: P2PService, traffic: BlobTraffic, inFlightBytesPerPeer: Int = inFlightBytesPerPeerDefault,
        chunkTimeout: Duration = .seconds(10), peerRest: Duration = .milliseconds(500), logger: Logger
    ) {
        self.store = store
        self.p2p = p2p
        self.traffic = traffic
        self.inFlightBytesPerPeer = inFlightBytesPerPeer
        self.chunkTimeout = chunkTimeout
        self.peerRest = peerRest
        self.logger = logger
    }

    /// Returns once the whole blob is held and verified; throws `BlobFetchError` at the deadline, or the store's
    /// error when it cannot keep a chunk (a full disk, a blob over `max_blob_bytes`).
    public func fetch(_ ref: BlobRef, deadline: ContinuousClock.Instant) async throws {
        try store.checkSize(ref)
        while true {
            do { return try await transfer(ref, deadline: deadline).value } catch is BlobFetchError
            where ContinuousClock.now < deadline {
                continue  // joined a transfer started with an earlier deadline: go on with ours
            }
        }
    }

    /// Hands a peer's answer to the transfer of its blob; answers nobody waits for are dropped.
    func received(_ answer: WireMessage, from peer: PublicKey) {
        let ref: BlobRef
        switch answer {
        case let .blobChunk(answered, _, _, _), let .blobChunksNotHeld(answered, _): ref = answered
        default: return
        }
        _ = state.withLock { $0.running[ref] }?.events.yield(.answer(answer, from: peer))
    }

    /// The running transfer of `ref`, or a new one.
    private func transfer(_ ref: BlobRef, deadline: ContinuousClock.Instant) -> Task<Void, any Error> {
        state.withLock { state in
            if let running = state.running[ref] { return running.task }
            let (events, continuation) = AsyncStream.makeStream(of: FetchEvent.self)
            let task = Task {
                defer { _ = self.state.withLock { $0.running.removeValue(forKey: ref) } }
                try await BlobTransfer(ref: ref, deadline: deadline, fetcher: self, events: continuation).run(events)
            }
            state.running[ref] = Running(task: task, events: continuation)
            return task
        }
    }

    /// Takes `bytes` of `peer`'s budget; false when that would exceed it.
    fileprivate func reserve(_ bytes: Int, of peer: PublicKey) -> Bool {
        state.withLock { state in
            let used = state.inFlight[peer, default: 0]
            guard used + bytes <= inFlightBytesPerPeer else { return false }
            state.inFlight[peer] = used + bytes
            return true
        }
    }

    fileprivate func release(_ bytes: Int, of peer: PublicKey) {
        state.withLock { $0.inFlight[peer, default: 0] -= bytes }
    }

    /// Stores a received chunk off the caller's thread and reports the outcome as an event; the peer's budget
    /// for the chunk is released once it is on disk (or refused).
    fileprivate func write(
        _ chunk: ReceivedChunk, events: AsyncStream<FetchEvent>.Continuation
    ) {
        writes.async { [self] in
            let outcome = Result { () throws(BlobError) in
                try store.writeChunk(ref: chunk.ref, index: chunk.index, bytes: chunk.bytes, proof: chunk.proof)
            }
            release(chunk.bytes.count, of: chunk.peer)
            events.yield(.stored(chunk.withoutBytes, outcome))
        }
    }
}

fileprivate struct ReceivedChunk: Sendable {
    let ref: BlobRef
    let index: Int
    let bytes: [UInt8]
    let proof: ChunkProof
    let peer: PublicKey

    var withoutBytes: StoredChunk { StoredChunk(index: index, byteCount: bytes.count, peer: peer) }
}

fileprivate struct StoredChunk: Sendable {
    let index: Int
    let byteCount: Int
    let peer: PublicKey
}

fileprivate enum FetchEvent: Sendable {
    case answer(WireMessage, from: PublicKey)
    case stored(StoredChunk, Result<ChunkWriteOutcome, BlobError>)
    case tick
}

/// One blob's transfer: which chunks are missing, asked of whom since when, and which peers are out of the
/// running. Lives in one task; events (answers, finished writes, ticks) arrive through one stream.
private final class BlobTransfer {
    let ref: BlobRef
    let deadline: ContinuousClock.Instant
    let fetcher: BlobFetcher
    let events: AsyncStream<FetchEvent>.Continuation
    /// Missing chunks not asked of anyone, highest first (so `popLast` asks in order).
    var unasked: [Int] = []
    var asked: [Int: (peer: PublicKey, at: ContinuousClock.Instant)] = [:]
    var dropped: Set<PublicKey> = []
    var restingUntil: [PublicKey: ContinuousClock.Instant] = [:]
    var peersAsked: Set<PublicKey> = []
    var heldChunks = 0

    init(ref: BlobRef, deadline: ContinuousClock.Instant, fetcher: BlobFetcher, events: AsyncStream<FetchEvent>.Continuation) {
        self.ref = ref
        self.deadline = deadline
        self.fetcher = fetcher
        self.events = events
    }

    /// Returns chunk `index`'s bytes to `peer`'s in-flight budget.
    private func releaseChunk(_ index: Int, of peer: PublicKey) {
        fetcher.release(chunkLength(index: index, length: ref.length), of: peer)
    }

    func run(_ stream: AsyncStream<FetchEvent>) async throws {
        let ticker = Task { [events] in
            while (try? await Task.sleep(for: .milliseconds(50))) != nil { events.yield(.tick) }
        }
        defer {
            ticker.cancel()
            events.finish()
            for (index, request) in asked { releaseChunk(index, of: request.peer) }
        }
        switch fetcher.store.status(ref) {
        case .complete(ref): return
        case let .partial(_, held):
            // Every chunk already here (a crash or a full disk cut the completion short): complete it, nothing to ask.
            if held.count == ref.chunkCount, try fetcher.store.finish(ref) { return }
            let heldSet = Set(held)
            heldChunks = held.count
            unasked = (0..<ref.chunkCount).reversed().filter { !heldSet.contains($0) }
        default: unasked = Array((0..<ref.chunkCount).reversed())
        }
        askPeers()
        for await event in stream {
            if try handle(event) { return }
            guard ContinuousClock.now < deadline else {
                throw BlobFetchError(ref: ref, heldChunks: heldChunks, peersAsked: peersAsked.count)
            }
            askPeers()
        }
        throw CancellationError()
    }

    /// True once the blob is complete.
    private func handle(_ event: FetchEvent) throws -> Bool {
        switch event {
        case .tick: requeueOverdue()
        case let .answer(.blobChunk(_, index, bytes, proof), peer):
            guard accept(Int(index), from: peer) else { return false }
            fetcher.write(
                ReceivedChunk(ref: ref, index: Int(index), bytes: bytes, proof: proof, peer: peer), events: events)
        case let .answer(.blobChunksNotHeld(_, indices), peer):
            for index in indices where accept(Int(index), from: peer) {
                releaseChunk(Int(index), of: peer)
                unasked.append(Int(index))
            }
            restingUntil[peer] = .now + fetcher.peerRest
        case .answer: break
        case let .stored(chunk, outcome): return try stored(chunk, outcome)
        }
        return false
    }

    /// Whether `index` was asked of `peer` (and is now no longer outstanding with it).
    private func accept(_ index: Int, from peer: PublicKey) -> Bool {
        guard let request = asked[index], request.peer == peer else { return false }
        asked[index] = nil
        return true
    }

    private func stored(_ chunk: StoredChunk, _ outcome: Result<ChunkWriteOutcome, BlobError>) throws -> Bool {
        switch outcome {
        case .success(let written):
            fetcher.traffic.fetchedBytes.add(UInt64(chunk.byteCount), ordering: .relaxed)
            heldChunks += 1
            return written == .complete
        case .failure(.chunkMismatch), .failure(.wrongChunkLength), .failure(.chunkIndexOutOfRange):
            drop(chunk.peer, servedBad: chunk.index)
            unasked.append(chunk.index)
            return false
        case .failure(let error): throw error
        }
    }

    /// Takes a peer that served a chunk failing its proof out of this blob's transfer, and asks others for
    /// whatever it still owed.
    private func drop(_ peer: PublicKey, servedBad index: Int) {
        // Its other chunks already on their way to the store fail too: one log line per peer and blob.
        guard dropped.insert(peer).inserted else { return }
        fetcher.logger.warning("dropping peer \(peer) for blob \(ref.id): it served chunk \(index), which fails its proof")
        for (owed, request) in asked where request.peer == peer {
            asked[owed] = nil
            releaseChunk(owed, of: peer)
            unasked.append(owed)
        }
    }

    /// Chunks unanswered for `chunkTimeout`, or asked of a peer that has disconnected since, are asked
    /// elsewhere; the slow peer rests.
    private func requeueOverdue() {
        let now = ContinuousClock.now
        let connected = Set(fetcher.p2p.connectedPeers.map(\.key))
        for (index, request) in asked
        where now - request.at >= fetcher.chunkTimeout || !connected.contains(request.peer) {
            asked[index] = nil
            releaseChunk(index, of: request.peer)
            unasked.append(index)
            restingUntil[request.peer] = now + fetcher.peerRest
        }
    }

    /// Hands out unasked chunks one at a time to each usable peer in turn, while any has budget left.
    private func askPeers() {
        guard !unasked.isEmpty else { return }
        unasked.sort(by: >)
        let now = ContinuousClock.now
        let peers = fetcher.p2p.connectedPeers.map(\.key).filter {
            !dropped.contains($0) && restingUntil[$0].map { $0 <= now } ?? true
        }
        var batches: [PublicKey: [Int]] = [:]
        var progress = true
        while progress && !unasked.isEmpty {
            progress = false
            for peer in peers where batches[peer, default: []].count < WireMessage.blobChunkIndicesMax {
                guard let index = unasked.last, fetcher.reserve(chunkLength(index: index, length: ref.length), of: peer)
                else { continue }
                unasked.removeLast()
                batches[peer, default: []].append(index)
                progress = true
            }
        }
        for (peer, indices) in batches { send(indices, to: peer, at: now) }
    }

    private func send(_ indices: [Int], to peer: PublicKey, at now: ContinuousClock.Instant) {
        let request = WireMessage.blobChunkRequest(ref, indices: indices.map { UInt32($0) })
        guard fetcher.p2p.send(to: peer, request.canonicalBytes) else {
            for index in indices { releaseChunk(index, of: peer) }
            unasked += indices
            return
        }
        peersAsked.insert(peer)
        for index in indices { asked[index] = (peer, now) }
    }
}
