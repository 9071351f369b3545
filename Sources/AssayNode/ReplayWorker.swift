import AssayBlobs
import AssayCrypto
import AssayLedger
import AssayMempool
import AssayRocksDB
import AssayTypes
import Dispatch
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif
import Synchronization

/// Which posted results a validator replays: all of them, or a fraction chosen by a seeded hash of the job id
/// (so the choice is reproducible and a provider cannot tell in advance which of its jobs a validator skips,
/// unless it knows the seed).
public struct ReplaySelection: Equatable, Sendable {
    public enum Mode: String, Codable, Sendable {
        case all, sample
    }

    public var mode: Mode
    /// Used in `sample` mode: the share of results replayed, 0...1.
    public var sampleFraction: Double
    public var seed: UInt64

    public init(mode: Mode, sampleFraction: Double, seed: UInt64) {
        self.mode = mode
        self.sampleFraction = sampleFraction
        self.seed = seed
    }

    public func includes(_ job: Hash) -> Bool {
        switch mode {
        case .all: return true
        case .sample:
            guard sampleFraction < 1 else { return true }
            guard sampleFraction > 0 else { return false }
            var message = withUnsafeBytes(of: seed.littleEndian) { Array($0) }
            message += job.bytes
            let draw = SHA256.hash(message).bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return Double(draw) < sampleFraction * 18_446_744_073_709_551_616.0
        }
    }
}

/// Counters the worker keeps for `/metrics`.
struct ReplayCounters: Sendable {
    var results = 0
    var mismatches = 0
    var challengesSent = 0
    var dropped = 0
    var workUnits: UInt64 = 0
    var seconds: Double = 0

    var workUnitsPerSecond: Double { seconds > 0 ? Double(workUnits) / seconds : 0 }
}

/// The validator's replay worker. Fed from committed blocks, it re-executes every selected result's kernel on
/// threads of its own (never the engine's queue), compares every tile with the posted trace and the last layer with
/// the posted output, and on the first wrong tile signs a challenge of it with the validator's key and submits it
/// like any client would.
///
/// The queue between the commit path and the threads is bounded: when it is full a result is skipped and counted
/// (`assay_replay_dropped_total`), so heavy replay can never delay a commit.
final class ReplayWorker: Sendable {
    static let queueResultsMax = 1_024

    /// A posted result to check.
    struct Item: Equatable, Sendable {
        let job: Hash
        let outputHash: Hash
        let workUnits: UInt64
    }

    private let selection: ReplaySelection
    private let threadCount: Int
    private let key: SecretKey
    private let chainID: String
    private let store: RocksDBStore
    private let mempool: Mempool
    /// Where the job's model and input are read (the node's blob store).
    private let blobs: BlobStore
    /// Sends an admitted transaction to the peers.
    private let gossip: @Sendable (Transaction) -> Void
    private let logger: Logger
    private let queue = Mutex<(items: [Item], stopped: Bool)>(([], false))
    private let available = DispatchSemaphore(value: 0)
    private let signing = Mutex(())
    private let finished = DispatchGroup()
    let counters = Mutex(ReplayCounters())

    init(
        selection: ReplaySelection, threads: Int, key: SecretKey, chainID: String, store: RocksDBStore,
        mempool: Mempool, blobs: BlobStore, gossip: @escaping @Sendable (Transaction) -> Void, logger: Logger
    ) {
        self.selection = selection
        threadCount = max(1, threads)
        self.key = key
        self.chainID = chainID
        self.store = store
        self.mempool = mempool
        self.blobs = blobs
        self.gossip = gossip
        self.logger = logger
    }

    /// The results a committed block posted that this worker replays.
    func items(in outcome: BlockOutcome) -> [Item] {
        outcome.results.flatMap(\.events).compactMap { event in
            guard case let .resultPosted(job, outputHash, _, _, workUnits, _) = event, selection.includes(job) else {
                return nil
            }
            return Item(job: job, outputHash: outputHash, workUnits: workUnits)
        }
    }

    /// Called on the commit path: only queues, never replays.
    func committed(_ outcome: BlockOutcome) {
        for item in items(in: outcome) { enqueue(item) }
    }

    func enqueue(_ item: Item) {
        let queued = queue.withLock { queue in
            guard !queue.stopped, queue.items.count < Self.queueResultsMax else { return false }
            queue.items.append(item)
            return true
        }
        if queued { available.signal() } else { counters.withLock { $0.dropped += 1 } }
    }

    var queuedCount: Int { queue.withLock { $0.items.count } }

    func start() {
        for index in 0..<threadCount {
            finished.enter()
            let thread = Thread { [self] in
                defer { finished.leave() }
                Self.yieldToConsensus()
                while let item = next() { replay(item) }
            }
            thread.name = "assay-replay-\(index)"
            thread.qualityOfService = .utility
            thread.start()
        }
    }

    /// Gives the calling replay thread a nice value of 10, so the engine, P2P and RPC threads win the CPU when a
    /// long replay competes with them (on Linux, `setpriority(PRIO_PROCESS, 0, ...)` applies to the calling thread).
    private static func yieldToConsensus() {
        #if os(Linux)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        #endif
    }

    /// Stops the threads after the item each is replaying and waits for them.
    func stop() {
        queue.withLock { $0.stopped = true }
        for _ in 0..<threadCount { available.signal() }
        finished.wait()
    }

    private func next() -> Item? {
        while true {
            available.wait()
            let (item, stopped) = queue.withLock { queue in
                (queue.items.isEmpty ? nil : queue.items.removeFirst(), queue.stopped)
            }
            if stopped { return nil }
            if let item { return item }
        }
    }

    /// Re-executes one result; on a mismatch, challenges it. Returns the challenge it submitted, if any.
    @discardableResult
    func replay(_ item: Item) -> Transaction? {
        let query = LedgerQuery(store: store)
        do {
            // The job may have ended meanwhile (settled, or challenged by another validator): nothing to check.
            guard let job = try query.job(item.job),
                case let .resultPosted(outputHash, traceBlob, _, workUnits, _, _) = job.status,
                outputHash == item.outputHash, workUnits == item.workUnits,
                let modelBlob = try query.model(job.request.modelHash)
            else { return nil }
            let source = StoreBlobSource(store: blobs, logger: logger)
            let model = try source.read(modelBlob)
            let input = try source.read(job.request.inputBlob)
            let trace = try source.read(traceBlob)
            // The ledger accepted the output's length as the job's, so the blob id names it.
            guard let outputLength = blobs.heldLength(BlobID(outputHash)) else { return nil }
            let output = try source.read(BlobRef(id: BlobID(outputHash), length: outputLength))
            let params = try query.params()
            let started = ContinuousClock.now
            guard let finding = JobReplay.check(
                job.request, model: model, input: input, trace: trace, output: output,
                maxTileWorkUnits: params.maxTileWorkUnits)
            else {
                logger.error("replay of job \(item.job): the kernel refused a result the ledger accepted")
                return nil
            }
            let elapsed = ContinuousClock.now - started
            let mismatch = finding.wrongTile != nil
            counters.withLock { counters in
                counters.results += 1
                counters.workUnits += finding.workUnits
                counters.seconds += Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                if mismatch { counters.mismatches += 1 }
            }
            guard let wrong = finding.wrongTile else { return nil }
            guard job.provider != Address(publicKey: key.publicKey) else { return nil }
            logger.warning(
                "job \(item.job): provider \(job.provider) posted a wrong tile \(wrong.tile) of layer \(wrong.layer); challenging")
            let committedNonce = try query.account(Address(publicKey: key.publicKey)).nonce
            return challenge(item.job, wrong, params: params, committedNonce: committedNonce)
        } catch {
            logger.error("replay of job \(item.job) failed: \(error)")
            return nil
        }
    }

    /// Signs and submits a challenge with the minimum bond, after the key's committed and pending transactions.
    /// One at a time, so that two replay threads never pick the same nonce.
    private func challenge(_ job: Hash, _ tile: TileIndex, params: Params, committedNonce: UInt64) -> Transaction? {
        signing.withLock { _ in
            let nonce = max(committedNonce, mempool.pendingNonce(of: key.publicKey) ?? 0)
            do {
                let transaction = try Transaction.signed(
                    chainID: chainID, nonce: nonce, fee: max(params.minFee, mempool.minimumFee),
                    body: .challenge(Challenge(
                        jobID: job, layer: UInt32(tile.layer), tile: UInt32(tile.tile), bond: params.challengeBondMin)),
                    key: key)
                let admission = try mempool.admit(transaction.canonicalBytes)
                gossip(admission.transaction)
                counters.withLock { $0.challengesSent += 1 }
                return transaction
            } catch {
                logger.error("challenge of job \(job) not submitted: \(error)")
                return nil
            }
        }
    }
}
