import AssayBlobs
import AssayCrypto
import AssayKernels
import AssayLedger
import AssayRocksDB
import AssayTracing
import AssayTypes
import Dispatch
import Foundation
import Logging
import Tracing

#if canImport(Glibc)
    import Glibc
#endif
import Synchronization

/// Counters the worker keeps for `/metrics`.
struct ReplayCounters: Sendable {
    var results = 0
    var mismatches = 0
    var challengesSent = 0
    var dropped = 0
    var tilesChecked = 0
    /// Work units of the tiles recomputed: what the e2e compares with a job's work.
    var workUnits: UInt64 = 0
    var seconds: Double = 0

    var workUnitsPerSecond: Double { seconds > 0 ? Double(workUnits) / seconds : 0 }
}

/// The validator's replay worker. Fed from committed blocks, it spot-checks every posted result on threads of its
/// own (never the engine's queue): the output against the trace's final layer, then the policy's tiles
/// (`SpotChecker`), and on a wrong tile challenges it from the node's account (`AccountSubmitter`; a node without
/// one only logs the wrong tile).
///
/// The queue between the commit path and the threads is bounded: when it is full a result is skipped and counted
/// (`assay_replay_dropped_total`), so heavy replay can never delay a commit.
final class ReplayWorker: Sendable {
    static let queueResultsMax = 1_024

    /// A posted result to check, and the transaction that posted it.
    struct Item: Equatable, Sendable {
        let resultTx: Hash
        let result: JobResult
    }

    private let policy: SpotCheckPolicy
    private let secret: Digest32
    private let threadCount: Int
    private let account: AccountSubmitter?
    private let store: RocksDBStore
    /// Where the job's model, input, output and trace are read (the node's blob store).
    private let blobs: BlobStore
    private let logger: Logger
    private let tracer: JobTracer
    private let queue = Mutex<(items: [Item], stopped: Bool)>(([], false))
    private let available = DispatchSemaphore(value: 0)
    private let finished = DispatchGroup()
    let counters = Mutex(ReplayCounters())

    init(
        policy: SpotCheckPolicy, secret: Digest32, threads: Int, account: AccountSubmitter?, store: RocksDBStore,
        blobs: BlobStore, logger: Logger, tracer: JobTracer = .off
    ) {
        self.policy = policy
        threadCount = max(1, threads)
        self.account = account
        self.secret = secret
        self.store = store
        self.blobs = blobs
        self.logger = logger
        self.tracer = tracer
    }

    /// The results a committed block posted (those whose `result` transaction succeeded).
    func items(in block: Block, _ outcome: BlockOutcome) -> [Item] {
        zip(block.transactions, outcome.results).compactMap { transaction, result in
            guard case let .result(posted) = transaction.body,
                result.events.contains(where: { if case .resultPosted = $0 { true } else { false } })
            else { return nil }
            return Item(resultTx: result.transactionHash, result: posted)
        }
    }

    /// Called on the commit path: only queues, never replays.
    func committed(_ block: Block, _ outcome: BlockOutcome) {
        for item in items(in: block, outcome) { enqueue(item) }
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

    /// Puts the calling replay thread in Linux's SCHED_IDLE class: it runs only on CPU time no other thread wants, and
    /// a waking engine, P2P or RPC thread preempts it at once, so a long replay cannot stretch the block interval.
    /// (A nice value is not enough: on a busy machine a niced thread still holds the CPU for a whole slice.)
    /// The kernels run a single-threaded replay inline, so all of its work stays in this class.
    private static func yieldToConsensus() {
        #if os(Linux)
            let schedIdle: Int32 = 5  // SCHED_IDLE in <sched.h>, which Glibc's module does not export
            var parameters = sched_param()
            parameters.sched_priority = 0
            _ = pthread_setschedparam(pthread_self(), schedIdle, &parameters)
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

    /// Spot-checks one result; on a wrong tile, challenges it. Returns the challenge it submitted, if any.
    @discardableResult
    func replay(_ item: Item) -> Transaction? {
        let job = item.result.jobID
        let query = LedgerQuery(store: store)
        do {
            // The job may have ended meanwhile (settled, or challenged by another validator): nothing to check.
            guard let record = try query.job(job), case let .resultPosted(_, _, _, _, resultTx, _) = record.status,
                resultTx == item.resultTx, let modelBlob = try query.model(record.request.modelHash)
            else { return nil }
            let source = StoreBlobSource(store: blobs, logger: logger)
            let params = try query.params()
            let checker = SpotChecker(
                read: { try source.read($0, range: $1) }, secret: secret, policy: policy,
                maxTileWorkUnits: params.maxTileWorkUnits)
            let posted = ResultUnderCheck(
                job: job, request: record.request, model: try Model(canonicalBytes: try source.read(modelBlob)),
                result: item.result)
            let started = ContinuousClock.now
            let startedAt = DefaultTracerClock.now
            let outcome = try checker.check(posted)
            count(outcome, seconds: (ContinuousClock.now - started) / .seconds(1))
            trace(job, outcome, from: startedAt)
            guard let tile = outcome.wrongTile else { return nil }
            guard let account else {
                logger.warning(
                    "job \(job): provider \(record.provider) posted a wrong \(tile); not challenged: no [account] key")
                return nil
            }
            guard record.provider != account.address else { return nil }
            logger.warning("job \(job): provider \(record.provider) posted a wrong \(tile); challenging")
            return challenge(job, tile, bond: params.challengeBondMin, from: account)
        } catch {
            logger.error("spot check of job \(job) failed: \(error)")
            return nil
        }
    }

    /// The check as a span of the job's trace (docs/rpc.md, Tracing).
    private func trace(_ job: Hash, _ outcome: SpotCheckOutcome, from start: DefaultTracerClock.Timestamp) {
        var attributes: SpanAttributes = [
            "assay.tiles_checked": .int64(Int64(outcome.tilesChecked)),
            "assay.work_units": .int64(Int64(clamping: outcome.workUnits)),
        ]
        if let tile = outcome.wrongTile { attributes["assay.wrong_tile"] = "\(tile.layer):\(tile.tile)" }
        tracer.record("replay.spot_check", job: job, from: start, to: DefaultTracerClock.now, attributes: attributes)
    }

    private func count(_ outcome: SpotCheckOutcome, seconds: Double) {
        counters.withLock { counters in
            counters.results += 1
            counters.tilesChecked += outcome.tilesChecked
            counters.workUnits += outcome.workUnits
            counters.seconds += seconds
            if outcome.wrongTile != nil { counters.mismatches += 1 }
        }
    }

    /// Challenges `tile` of `job` with `bond`.
    private func challenge(_ job: Hash, _ tile: TileID, bond: Amount, from account: AccountSubmitter) -> Transaction? {
        let body = TransactionBody.challenge(
            Challenge(jobID: job, layer: UInt32(tile.layer), tile: UInt32(tile.tile), bond: bond))
        guard let transaction = account.submit(body, purpose: "challenge of job \(job)") else { return nil }
        counters.withLock { $0.challengesSent += 1 }
        return transaction
    }
}
