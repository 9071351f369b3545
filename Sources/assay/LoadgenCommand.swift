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

    func run() async throws {
        let clients = try nodes.split(separator: ",").map { try RPCClient(node: String($0)) }
        guard !clients.isEmpty, accounts > 0, txs > 0, fundingRound > 0 else {
            throw CommandFailure("need nodes, and positive accounts, txs and funding round")
        }
        let (_, funderKey) = try unlockKeyFile(funder, passphraseFile: nil)
        let chainID = try await clients[0].call(ChainMethods.status, NoParams()).chainId
        let keys = try (0..<accounts).map { _ in try SecretKey.generate() }

        print("funding \(accounts) accounts")
        let perAccount = UInt64((txs + accounts - 1) / accounts)
        let funding = try await fundingTransfers(chainID: chainID, funder: funderKey, to: keys, each: perAccount, clients[0])
        // The mempool queues a bounded number of transactions per sender, so the funder's go in rounds.
        for round in stride(from: 0, to: funding.count, by: fundingRound) {
            let slice = Array(funding[round..<min(round + fundingRound, funding.count)])
            _ = try await submitAndTrack([slice], clients: clients, following: clients[0])
        }

        let signStart = Date()
        let transfers = try presign(chainID: chainID, keys: keys, count: txs)
        print("pre-signed \(txs) transfers in \(String(format: "%.2f", Date().timeIntervalSince(signStart))) s")

        // Account i always goes to node i % nodes, so each sender's nonces arrive in order at one node.
        var perNode = [[Transaction]](repeating: [], count: clients.count)
        for (index, transaction) in transfers.enumerated() { perNode[index % accounts % clients.count].append(transaction) }
        let report = try await submitAndTrack(perNode, clients: clients, following: clients[0])
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
        /// Milliseconds between consecutive blocks of the run, by their headers' times, with the later height.
        var intervals: [(ms: Int, height: Int)]
    }

    /// Submits each node's share in batches (concurrently across nodes) and follows `following`'s blocks until
    /// every transaction is committed, timing each from its batch's submission to the block that holds it.
    private func submitAndTrack(_ perNode: [[Transaction]], clients: [RPCClient], following: RPCClient) async throws
        -> Report
    {
        let startHeight = try await following.call(ChainMethods.status, NoParams()).latestHeight
        let submitted = SubmitTimes()
        let start = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (node, transactions) in perNode.enumerated() where !transactions.isEmpty {
                group.addTask {
                    for chunk in stride(from: 0, to: transactions.count, by: batch) {
                        let slice = transactions[chunk..<min(chunk + batch, transactions.count)]
                        let hashes = slice.map(\.hash)
                        await submitted.record(hashes, at: Date())
                        let result = try await clients[node].object(
                            "broadcast_txs", ["txs": slice.map { Hex.encode($0.canonicalBytes) }], timeout: 60)
                        if let rejected = result["rejected"] as? Int, rejected > 0 {
                            let entries = result["results"] as? [[String: Any]] ?? []
                            let firstError = entries.lazy.compactMap { $0["error"] as? [String: Any] }.first
                            throw CommandFailure(
                                "node \(node) rejected \(rejected) of \(slice.count) transactions; first: "
                                    + "\(firstError?["message"] as? String ?? "no message")")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        var latencies: [Double] = []
        var intervals: [(ms: Int, height: Int)] = []
        var previousTimeMs: Int?
        var height = startHeight + 1
        let total = perNode.reduce(0) { $0 + $1.count }
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
            p50: percentile(0.5), p99: percentile(0.99), intervals: intervals)
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
