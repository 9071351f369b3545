import ArgumentParser
import AssayAPI
import AssayCodec
import AssayCrypto
import AssayTypes
import Dispatch
import Foundation

/// `Tools/loadgen`: funds fresh accounts, pre-signs transfers among them, submits them in batches spread over
/// the nodes, follows the chain, and prints committed tx/s with submit-to-commit latency, beside the machine's
/// 2-thread Schnorr verify rate divided by the node count (each node verifies each transaction once).
struct Loadgen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure committed transfers per second and latency against running nodes.")

    @Option(help: "Comma-separated node RPC URLs.") var nodes: String
    @Option(help: "A funded key file that pays for the fresh accounts.") var funder: String
    @Option(help: "Fresh accounts to send from.") var accounts = 1_000
    @Option(help: "Transfers to submit.") var txs = 50_000
    @Option(help: "Transfers per broadcast_txs request.") var batch = 500
    @Option(help: "Fee per transfer, base units.") var fee: UInt64 = 1_000
    @Option(help: "Give up waiting for commits after this many seconds.") var timeout = 300.0
    @Option(help: "Funding transfers per round, at most the mempool's per-sender queue.") var fundingRound = 64
    @Option(help: "Open loop: submit this many transfers per second for --duration instead of --txs at once.")
    var rate: Int?
    @Option(help: "Seconds each open-loop rate is held.") var duration = 20.0
    @Option(help: "Open loop at each of these comma-separated rates (tx/s) in turn: a table, its CSV and a plot.")
    var sweep: String?
    @Option(help: "Where --sweep writes FILE.csv and FILE.png (the plot needs Python with matplotlib).")
    var sweepOut = "loadgen-sweep"

    func run() async throws {
        let clients = try nodes.split(separator: ",").map { try RPCClient(node: String($0)) }
        guard !clients.isEmpty, accounts > 0, txs > 0, fundingRound > 0, duration > 0 else {
            throw CommandFailure("need nodes, and positive accounts, txs, funding round and duration")
        }
        let rates = try openLoopRates()
        let total = rates.map { $0.reduce(0) { $0 + Int(Double($1) * duration) } } ?? txs
        let (_, funderKey) = try unlockKeyFile(funder, passphraseFile: nil)
        let chainID = try await clients[0].call(ChainMethods.status, NoParams()).chainId
        let keys = try (0..<accounts).map { _ in try SecretKey.generate() }

        print("funding \(accounts) accounts")
        let perAccount = UInt64((total + accounts - 1) / accounts)
        let funding = try await fundingTransfers(chainID: chainID, funder: funderKey, to: keys, each: perAccount, clients[0])
        // The mempool queues a bounded number of transactions per sender, so the funder's go in rounds.
        for round in stride(from: 0, to: funding.count, by: fundingRound) {
            let slice = Array(funding[round..<min(round + fundingRound, funding.count)])
            _ = try await submitAndTrack([slice.map { Scheduled(transaction: $0, due: 0) }], clients: clients,
                                         following: clients[0])
        }

        let signStart = Date()
        let transfers = try presign(chainID: chainID, keys: keys, count: total)
        print("pre-signed \(total) transfers in \(String(format: "%.2f", Date().timeIntervalSince(signStart))) s")
        if let rates {
            try await runOpenLoop(rates, transfers, clients: clients)
            return
        }
        let report = try await submitAndTrack(spread(transfers, dueEvery: 0, over: clients.count), clients: clients,
                                              following: clients[0])
        let verifyRate = Self.verifyRate(threads: 2)
        let perNodeBudget = verifyRate / Double(clients.count)
        print("committed: \(report.committed) of \(txs) transfers in \(String(format: "%.2f", report.seconds)) s")
        print("committed tx/s: \(Int(report.rate))")
        print("latency p50: \(Int(report.p50 * 1000)) ms  p99: \(Int(report.p99 * 1000)) ms")
        let intervals = report.intervals.map(\.ms).sorted()
        if let longest = report.intervals.max(by: { $0.ms < $1.ms }) {
            // A pause in commits (issue 15, defect 7) shows here, not in the throughput.
            print("block intervals: \(intervals.count), median \(intervals[intervals.count / 2]) ms, max \(longest.ms) ms "
                + "(before height \(longest.height)), over 3 s: \(intervals.filter { $0 > 3_000 }.count)")
        }
        print("schnorr verify/s (2 threads): \(Int(verifyRate))  / \(clients.count) nodes = \(Int(perNodeBudget))")
        print("ratio committed tx/s / (verify/s / nodes): \(String(format: "%.2f", report.rate / perNodeBudget))")
        if report.committed < txs { throw CommandFailure("only \(report.committed) of \(txs) transfers committed") }
    }

    /// The rates of `--sweep` or `--rate`; nil for the closed loop (`--txs` at once).
    private func openLoopRates() throws -> [Int]? {
        if let sweep {
            let rates = sweep.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !rates.isEmpty, rates.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw CommandFailure("--sweep takes comma-separated positive rates, e.g. 250,500,1000")
            }
            return rates.compactMap { $0 }
        }
        if let rate {
            guard rate > 0 else { throw CommandFailure("--rate must be positive") }
            return [rate]
        }
        return nil
    }

    /// Each rate for `duration` seconds in turn, over consecutive pieces of `transfers`; after each, its line of the
    /// table. A sweep also writes the table as CSV and plots it.
    private func runOpenLoop(_ rates: [Int], _ transfers: [Transaction], clients: [RPCClient]) async throws {
        var rows: [(rate: Int, report: Report)] = []
        var offset = 0
        print("rate tx/s | submitted tx/s | committed tx/s | p50 ms | p99 ms | max ms")
        for rate in rates {
            let count = Int(Double(rate) * duration)
            let piece = Array(transfers[offset..<offset + count])
            offset += count
            let report = try await submitAndTrack(
                spread(piece, dueEvery: 1 / Double(rate), over: clients.count), clients: clients, following: clients[0])
            rows.append((rate, report))
            print(String(format: "%9d | %14.0f | %14.0f | %6.0f | %6.0f | %6.0f", rate, report.submittedRate,
                         report.rate, report.p50 * 1000, report.p99 * 1000, report.max * 1000))
        }
        guard sweep != nil else { return }
        let csv = "rate,submitted_rate,committed_rate,p50_ms,p99_ms,max_ms\n" + rows.map { row in
            let r = row.report
            return String(format: "%d,%.1f,%.1f,%.0f,%.0f,%.0f", row.rate, r.submittedRate, r.rate, r.p50 * 1000,
                          r.p99 * 1000, r.max * 1000)
        }.joined(separator: "\n") + "\n"
        try csv.write(toFile: sweepOut + ".csv", atomically: true, encoding: .utf8)
        print("table: \(sweepOut).csv")
        try plot(csv: sweepOut + ".csv", png: sweepOut + ".png")
        print("plot: \(sweepOut).png")
    }

    /// Runs Tools/loadgen_plot.py from the working directory (`Tools/loadgen` runs from the repository and puts a
    /// Python with matplotlib first on PATH).
    private func plot(csv: String, png: String) throws {
        let script = "Tools/loadgen_plot.py"
        guard FileManager.default.fileExists(atPath: script) else {
            throw CommandFailure("no \(script) here to plot \(csv) with: run from the repository, or use Tools/loadgen")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, csv, png]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CommandFailure("plotting \(csv) failed (is matplotlib installed?)") }
    }

    /// Account i always goes to node i % nodes, so each sender's nonces arrive in order at one node; transaction k
    /// is due `k * dueEvery` seconds after the start (all at once when 0).
    private func spread(_ transfers: [Transaction], dueEvery: Double, over nodes: Int) -> [[Scheduled]] {
        var perNode = [[Scheduled]](repeating: [], count: nodes)
        for (index, transaction) in transfers.enumerated() {
            perNode[index % accounts % nodes].append(Scheduled(transaction: transaction, due: Double(index) * dueEvery))
        }
        return perNode
    }

    private func fundingTransfers(
        chainID: String, funder: SecretKey, to keys: [SecretKey], each count: UInt64, _ client: RPCClient
    ) async throws -> [Transaction] {
        let funderAddress = Address(publicKey: funder.publicKey).description
        let nonce = try await client.call(ChainMethods.account, AddressParams(address: funderAddress)).nonce
        let amount = (count + 1) * (fee + 1)
        return try keys.enumerated().map { index, key in
            try Transaction.signed(
                chainID: chainID, nonce: nonce + UInt64(index), fee: fee,
                body: .transfer(Transfer(recipient: Address(publicKey: key.publicKey), amount: amount)), key: funder)
        }
    }

    /// Transfers of 1 base unit, round-robin over the senders, to the next account along.
    private func presign(chainID: String, keys: [SecretKey], count: Int) throws -> [Transaction] {
        let addresses = keys.map { Address(publicKey: $0.publicKey) }
        return try (0..<count).map { index in
            let sender = index % keys.count
            return try Transaction.signed(
                chainID: chainID, nonce: UInt64(index / keys.count), fee: fee,
                body: .transfer(Transfer(recipient: addresses[(sender + 1) % keys.count], amount: 1)), key: keys[sender])
        }
    }

    struct Report {
        var committed: Int
        var seconds: Double
        var rate: Double
        var p50: Double
        var p99: Double
        var max: Double
        /// Transactions submitted per second, from the first submission to the last.
        var submittedRate: Double
        /// Milliseconds between consecutive blocks of the run, by their headers' times, with the later height.
        var intervals: [(ms: Int, height: Int)]
    }

    /// A transfer and when it is due, in seconds after the submission starts.
    struct Scheduled {
        let transaction: Transaction
        let due: Double
    }

    /// Submits each node's share as it falls due, at most `batch` per request (concurrently across nodes, in order
    /// within one), while following `following`'s blocks until every transaction is committed, timing each from its
    /// request to the block that holds it.
    private func submitAndTrack(_ perNode: [[Scheduled]], clients: [RPCClient], following: RPCClient) async throws
        -> Report
    {
        let startHeight = try await following.call(ChainMethods.status, NoParams()).latestHeight
        let submitted = SubmitTimes()
        let start = Date()
        let total = perNode.reduce(0) { $0 + $1.count }
        let follower = Task { try await follow(following, from: startHeight + 1, total: total, submitted, start: start) }
        defer { follower.cancel() }  // a refused submission ends the run; the follower must not outlive it
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (node, scheduled) in perNode.enumerated() where !scheduled.isEmpty {
                group.addTask {
                    var next = 0
                    while next < scheduled.count {
                        let wait = scheduled[next].due - Date().timeIntervalSince(start)
                        if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
                        let elapsed = Date().timeIntervalSince(start)
                        var end = next + 1
                        while end < min(scheduled.count, next + batch), scheduled[end].due <= elapsed { end += 1 }
                        let slice = scheduled[next..<end].map(\.transaction)
                        next = end
                        let hashes = slice.map(\.hash)
                        await submitted.record(hashes, at: Date())
                        let result = try await clients[node].call(
                            ChainMethods.broadcastTxs, TxsParams(txs: slice.map { Hex.encode($0.canonicalBytes) }),
                            timeout: 60)
                        if result.rejected > 0 {
                            let firstError = result.results.lazy.compactMap(\.error).first
                            throw CommandFailure(
                                "node \(node) rejected \(result.rejected) of \(slice.count) transactions; first: "
                                    + "\(firstError?.message ?? "no message")")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let submittedRate = Double(total) / max(Date().timeIntervalSince(start), 1e-3)
        var report = try await follower.value
        report.submittedRate = submittedRate
        return report
    }

    /// Reads `following`'s blocks from `height` on until `total` submitted transactions are seen committed (or the
    /// timeout passes).
    private func follow(_ following: RPCClient, from height: Height, total: Int, _ submitted: SubmitTimes, start: Date)
        async throws -> Report
    {
        var latencies: [Double] = []
        var intervals: [(ms: Int, height: Int)] = []
        var previousTimeMs: Int?
        var height = height
        while latencies.count < total, Date().timeIntervalSince(start) < timeout {
            guard let block = try? await following.call(ChainMethods.block, BlockParams(height: height)) else {
                try await Task.sleep(nanoseconds: 50_000_000)
                continue
            }
            let seen = Date()
            let timeMs = Int(block.header.timeMs)
            if let previousTimeMs { intervals.append((timeMs - previousTimeMs, Int(height))) }
            previousTimeMs = timeMs
            for entry in block.transactions {
                if let sentAt = await submitted.time(of: entry.hash) {
                    latencies.append(seen.timeIntervalSince(sentAt))
                }
            }
            height += 1
        }
        let seconds = Date().timeIntervalSince(start)
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        return Report(
            committed: latencies.count, seconds: seconds, rate: Double(latencies.count) / seconds,
            p50: percentile(0.5), p99: percentile(0.99), max: latencies.last ?? 0, submittedRate: 0, intervals: intervals)
    }

    /// BIP-340 verifications per second on `threads` threads, measured now on this machine.
    static func verifyRate(threads: Int) -> Double {
        let key = try! SecretKey.generate()
        let message = [UInt8](repeating: 7, count: 32)
        let signature = try! key.sign(message)
        let publicKey = key.publicKey
        let perThread = 20_000
        let start = Date()
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<perThread { precondition(publicKey.verify(signature, for: message)) }
        }
        return Double(perThread * threads) / Date().timeIntervalSince(start)
    }
}

/// When each transaction hash was submitted.
actor SubmitTimes {
    private var times: [String: Date] = [:]

    func record(_ hashes: [Hash], at time: Date) { for hash in hashes { times[hash.description] = time } }
    func time(of hash: String) -> Date? { times[hash] }
}
