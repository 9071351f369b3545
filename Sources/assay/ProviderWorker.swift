import AssayAPI
import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayKernels
import AssayLedger
import AssaySimulation
import AssayTracing
import AssayTypes
import Foundation

/// Serves one provider's jobs: runs each assigned job with AssayKernels and posts its result. The ledger pays
/// a result automatically at the end of its challenge window; the worker sends `settle` only for a result it
/// finds still unpaid after its window (on catch-up). All state here is the worker's own; the chain is the truth.
final class ProviderWorker {
    struct Settings {
        var kernels: [String]
        var price: UInt64
        var stake: UInt64?
        var capacity: UInt32
        var offerBlocks: UInt64
        /// nil: the chain's min_fee when the worker starts.
        var fee: UInt64?
        var cheat: Cheat
        var seed: UInt64
        /// Kernel threads per job.
        var threads: Int
    }

    private let wallet: Wallet
    private let settings: Settings
    private let tracer: JobTracer
    private var random: SimRandom
    private var nonce: UInt64 = 0
    private var fee: UInt64 = 0
    /// Jobs whose result was sent (or withheld on purpose), so a repeated notification does not redo them.
    private var served: Set<String> = []
    private var models: [String: Model] = [:]

    init(wallet: Wallet, settings: Settings, tracer: JobTracer = .off) {
        self.wallet = wallet
        self.settings = settings
        self.tracer = tracer
        random = SimRandom(seed: settings.seed)
    }

    func run() async throws {
        log("provider \(wallet.address) on \(wallet.client.url), kernels \(settings.kernels.joined(separator: ",")), "
            + "price \(settings.price)/work unit, cheat \(settings.cheat)")
        nonce = try await wallet.account().nonce
        if let chosen = settings.fee { fee = chosen } else { fee = try await wallet.minimumFee() }
        try await ensureStake()
        try await ensureOffer()
        guard let socket = Self.webSocketURL(wallet.client.url) else { throw CommandFailure("--node has no host") }
        var backoffSeconds = 1
        while !Task.isCancelled {
            do {
                try await SubscriptionClient.follow(
                    node: socket, params: .jobs(of: wallet.address.description),
                    subscribed: {
                        backoffSeconds = 1
                        try await self.catchUp()
                    }, deliver: { (job: JobView) in try await self.handle(job) })
                log("subscription closed by the node; reconnecting in \(backoffSeconds) s")
            } catch {
                log("subscription lost (\(error)); reconnecting in \(backoffSeconds) s")
            }
            try await Task.sleep(for: .seconds(backoffSeconds))
            backoffSeconds = min(backoffSeconds * 2, 16)
        }
    }

    static func webSocketURL(_ http: URL) -> URL? {
        guard let host = http.host else { return nil }
        return URL(string: "ws://\(host):\(http.port ?? 80)/websocket")
    }

    // MARK: setup

    private func ensureStake() async throws {
        let minimum = try await ChainReads.parameter("min_provider_stake", wallet.client)
        let target = max(settings.stake ?? minimum, minimum)
        let provider = try await wallet.client.call(
            MarketMethods.provider, AddressParams(address: wallet.address.description))
        guard let bonded = UInt64(provider.bonded) else {
            throw CommandFailure("the node's bonded stake '\(provider.bonded)' is not a decimal amount")
        }
        guard bonded < target else { return log("stake: \(Output.credits(bonded)) bonded") }
        try await send(.stake(Stake(amount: target - bonded)), wait: true).requireOK("stake")
        log("stake: bonded \(Output.credits(target - bonded)) more")
    }

    private func ensureOffer() async throws {
        let answer = try await wallet.client.call(
            MarketMethods.offers, OffersParams(provider: wallet.address.description))
        let wanted = Set(settings.kernels)
        if let live = answer.offers.first(where: {
            Set($0.kernels).isSuperset(of: wanted) && UInt64($0.pricePerWorkUnit) == settings.price
        }) {
            return log("offer: using live offer \(live.id)")
        }
        let height = try await ChainReads.latestHeight(wallet.client)
        let offer = Offer(
            kernels: settings.kernels, pricePerWorkUnit: settings.price, capacity: settings.capacity,
            expiryHeight: height + settings.offerBlocks)
        let outcome = try await send(.offer(offer), wait: true)
        try outcome.requireOK("offer")
        log("offer: published \(outcome.hash)")
    }

    // MARK: jobs

    /// Once subscribed (after every reconnect): serve open jobs that arrived while away and settle results past
    /// their window.
    private func catchUp() async throws {
        let me = wallet.address.description
        for state in ["open", "result_posted"] {
            let answer = try await wallet.client.call(
                MarketMethods.jobs, JobsParams(provider: me, state: state, limit: 1000))
            for job in answer.jobs { try await handle(job) }
        }
    }

    private func handle(_ job: JobView) async throws {
        guard job.provider == wallet.address.description else { return }
        let id = job.id
        switch job.state {
        case "open": try await serve(id)
        case "result_posted":
            let windowEnd = job.result?.windowEnd ?? 0
            // The ledger pays at the end of the window by itself; a settle is only for a job still unpaid after it.
            if try await ChainReads.latestHeight(wallet.client) > windowEnd,
                try await wallet.client.call(MarketMethods.job, IDParams(id: id)).state == "result_posted"
            {
                let outcome = try await send(.settle(Settle(jobID: try RPCValue.hash(id, what: "job id"))), wait: false)
                log("job \(id.prefix(12)): window ended at \(windowEnd), sent settle \(outcome.hash)")
            } else {
                log("job \(id.prefix(12)): result on chain, challenge window ends at \(windowEnd)")
            }
        case let state: log("job \(id.prefix(12)): \(state)\(job.reason.map { " (\($0))" } ?? "")")
        }
    }

    private func serve(_ id: String) async throws {
        guard !served.contains(id) else { return }
        if settings.cheat == .silent {
            served.insert(id)
            return log("job \(id.prefix(12)): staying silent (--cheat silent)")
        }
        let jobID = try RPCValue.hash(id, what: "job id")
        try await tracer.withJobSpan("provider.job", job: jobID) { try await runJob(id, jobID) }
    }

    /// Runs the job and posts its result; each step is a span under `provider.job` (docs/rpc.md, Tracing).
    private func runJob(_ id: String, _ jobID: Hash) async throws {
        let job = try await fetchJob(jobID)
        let trace: Trace
        do {
            let (model, input) = try await tracer.withSpan("provider.fetch") { () async throws -> (Model, Tensor) in
                (try await self.model(job.modelHash), try Tensor(canonicalBytes: try await blobs.download(job.inputBlob)))
            }
            let maxTileWorkUnits = try await maxTileWorkUnits()
            trace = try await tracer.withSpan("provider.compute") {
                try posted(
                    try Kernels.executeTraced(
                        try KernelID(job.kernel), model: model, input: input,
                        limits: .forJob(maxWorkUnits: job.maxWorkUnits), maxTileWorkUnits: maxTileWorkUnits,
                        threads: settings.threads),
                    job: jobID)
            }
        } catch {
            served.insert(id)
            return log("job \(id.prefix(12)): cannot run it (\(error)); leaving it to its deadline")
        }
        let output = trace.output
        var bytes = output.output.canonicalBytes
        if case let .wrong(probability) = settings.cheat, Double(random.below(1 << 53)) / Double(1 << 53) < probability {
            bytes[bytes.count - 1] ^= 0x01  // the last data byte: still a valid tensor, a different output
            log("job \(id.prefix(12)): cheating: posting a wrong output")
        }
        if settings.cheat == .late { try await waitForHeight(job.deadline) }
        // The output and the trace go to the node first: it admits the result only while it holds both blobs.
        let result = try await tracer.withSpan("provider.upload") {
            JobResult(
                jobID: jobID, outputBlob: try await blobs.upload(bytes), traceBlob: try await blobs.upload(trace.blobBytes),
                traceRoot: trace.root, workUnits: output.workUnits)
        }
        let sent = try await tracer.withSpan("provider.post_result") { try await send(.result(result), wait: false) }
        served.insert(id)
        log("job \(id.prefix(12)): ran \(job.kernel), \(output.workUnits) work units, posted result \(sent.hash)")
    }

    /// The trace to post: the honest one, or with the tiles `--cheat tile:` or `fraction:` picks corrupted (each
    /// later layer recomputed from them, so that only those tiles fail a check).
    private func posted(_ honest: Trace, job: Hash) throws -> Trace {
        let tiles = settings.cheat.tilesToCorrupt(honest.layout, job: job, seed: settings.seed)
        guard let first = tiles.min() else { return honest }
        log("job \(job.description.prefix(12)): cheating: corrupting \(tiles.count) of \(honest.layout.totalTileCount) "
            + "tiles (first: \(first))")
        return try honest.corrupting(tiles, threads: settings.threads)
    }

    /// The chain's `max_tile_work_units`: it fixes how the trace is cut into tiles, hence its root.
    private func maxTileWorkUnits() async throws -> UInt64 {
        try await ChainReads.parameter("max_tile_work_units", wallet.client)
    }

    private func fetchJob(_ id: Hash) async throws -> Job {
        let view = try await wallet.client.call(ChainMethods.tx, HashParams(hash: id.description))
        guard let bytes = Hex.decode(view.tx),
            let transaction = try? Transaction(canonicalBytes: bytes), case let .job(job) = transaction.body
        else { throw CommandFailure("transaction \(id) is not a job") }
        return job
    }

    private func model(_ hash: Hash) async throws -> Model {
        if let cached = models[hash.description] { return cached }
        guard let entry = try await ChainReads.proven(StateKey.model(hash), wallet.client).value else {
            throw CommandFailure("model \(hash) is not registered")
        }
        let model = try Model(canonicalBytes: try await blobs.download(try BlobRef(canonicalBytes: entry)))
        models[hash.description] = model
        return model
    }

    private var blobs: BlobClient { BlobClient(wallet.client) }

    private func waitForHeight(_ height: UInt64) async throws {
        while try await ChainReads.latestHeight(wallet.client) < height { try await Task.sleep(for: .milliseconds(500)) }
    }

    /// Signs with the worker's own nonce counter (its results are many and pipelined); on a nonce refusal it
    /// rereads the account's nonce and tries once more.
    private func send(_ body: TransactionBody, wait: Bool) async throws -> Submission {
        do {
            return try await sendOnce(body, wait: wait)
        } catch let failure as CommandFailure where failure.description.contains("nonce") {
            nonce = try await wallet.account().nonce
            return try await sendOnce(body, wait: wait)
        }
    }

    private func sendOnce(_ body: TransactionBody, wait: Bool) async throws -> Submission {
        let answer = try await wallet.broadcast(try wallet.sign(body, fee: fee, nonce: nonce), wait: wait)
        nonce += 1
        return answer
    }

    private func log(_ message: String) {
        let stamp = ISO8601DateFormatter().string(from: Date())
        print("\(stamp) provider: \(message)")
        fflush(nil)
    }
}

