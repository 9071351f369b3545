import Foundation
import AssayCrypto
import AssayLedger
import AssayRocksDB
import AssayStorage
import AssayTypes
import Testing

/// Random blocks of random transactions (every kind, valid and invalid), run on RocksDB and in memory,
/// with the ledger's invariants checked after every block.
@Suite struct LedgerPropertyTests {
    static let blocks = 84
    static let blockSize = 12

    @Test(arguments: [11, 22, 33, 44, 55] as [UInt64])
    func randomBlocksKeepEveryInvariant(seed: UInt64) throws {
        let directory = try TemporaryDirectory()
        let genesis = try makeGenesis()
        let memory = try Chain(store: InMemoryStore(), genesis: genesis)
        let rocks = try Chain(
            store: try RocksDBStore(path: directory.path, namespaces: LedgerNamespace.all, createIfMissing: true),
            genesis: genesis, blobs: memory.blobs)
        #expect(memory.root == rocks.root)
        var random = RandomTransactions(seed: seed)
        var kinds: [String: Int] = [:]
        var included = 0, generated = 0
        var judged = 0
        var accepted: [Hash: JobResult] = [:]
        for _ in 0..<Self.blocks {
            let transactions = try random.block(for: memory, size: Self.blockSize)
            generated += transactions.count
            try checkFailuresChangeOnlyFeeAndNonce(memory, transactions)
            let nonces = try memory.query.accounts()
            let outcome = try memory.commit(transactions)
            let replica = try rocks.commit(transactions)
            #expect(replica.stateRoot == outcome.stateRoot, "seed \(seed): RocksDB and memory disagree at \(memory.height)")
            #expect(replica.results == outcome.results)
            try checkNonces(before: nonces, chain: memory, transactions: transactions, outcome: outcome)
            random.learn(from: outcome, transactions: transactions)
            for (transaction, result) in zip(transactions, outcome.results) where result.isIncluded {
                kinds[transaction.body.kindName, default: 0] += 1
                included += 1
                guard result.status == .included(.ok) else { continue }
                if case let .result(posted) = transaction.body { accepted[posted.jobID] = posted }
                guard case let .challenge(challenge) = transaction.body, let posted = accepted[challenge.jobID] else { continue }
                // A challenge is upheld exactly when its tile differs from the honest one in the trace or output.
                let upheld = if case .challengeUpheld = result.events[0] { true } else { false }
                #expect(upheld == (try Self.wrongTiles(posted, memory.blobs).contains(Int(challenge.tile))),
                        "seed \(seed): challenge of tile \(challenge.tile) at height \(memory.height)")
                judged += 1
            }
        }
        // Long enough for every deadline and challenge window to pass: every job has ended.
        try memory.advance(to: memory.height + testParams().maxJobDeadlineBlocks + testParams().challengeWindowBlocks + 1)
        #expect(try memory.query.jobs().allSatisfy { $0.job.status.isTerminal })
        #expect(generated >= 1_000)
        #expect(kinds.count == 13, "seed \(seed): kinds included \(kinds.keys.sorted())")
        #expect(included > generated / 2)
        #expect(judged >= 3, "seed \(seed): only \(judged) challenges were judged")
    }

    /// The tiles of a gemm fixture result whose bytes differ from the honest ones, in the trace or in the output.
    static func wrongTiles(_ result: JobResult, _ blobs: MemoryBlobs) throws -> Set<Int> {
        let (trace, output) = (try blobs.read(result.traceBlob), try blobs.read(result.outputBlob))
        let honest = GemmFixture.trace.blobBytes
        let header = output.count - trace.count
        let layout = GemmFixture.trace.layout
        return Set(try (0..<layout.tileCount(layer: 0)).filter { tile in
            let range = Int.range(try layout.tileRange(layer: 0, tile: tile))
            let shifted = range.lowerBound + header..<range.upperBound + header
            return trace[range] != honest[range] || output[shifted] != honest[range]
        })
    }

    /// Each account's nonce grew by exactly the number of its included transactions.
    func checkNonces(
        before: [(address: Address, account: Account)], chain: Chain<InMemoryStore>, transactions: [Transaction],
        outcome: BlockOutcome
    ) throws {
        var expected = Dictionary(uniqueKeysWithValues: before.map { ($0.address, $0.account.nonce) })
        for (transaction, result) in zip(transactions, outcome.results) where result.isIncluded {
            expected[transaction.senderAddress, default: 0] += 1
        }
        for (address, nonce) in expected { #expect(try chain.query.account(address).nonce == nonce) }
    }

    /// Executes (without committing) each failing transaction alone, beside an empty block at the same height:
    /// the only difference may be the sender paying the fee and using its nonce, and the proposer's fee.
    func checkFailuresChangeOnlyFeeAndNonce(_ chain: Chain<InMemoryStore>, _ transactions: [Transaction]) throws {
        let context = BlockContext(
            chainID: chain.chainID, height: chain.height + 1, timeMs: 0, proposer: chain.proposer,
            validators: chain.validators(at: chain.height + 1), blobs: chain.blobs)
        let baseline = try chain.ledger.execute(parentRoot: chain.root, store: chain.store, context: context, transactions: [])
        for transaction in transactions {
            let alone = try chain.ledger.execute(parentRoot: chain.root, store: chain.store, context: context, transactions: [transaction])
            guard case let .included(code) = alone.results[0].status, code != .ok else { continue }
            #expect(alone.results[0].events.isEmpty)
            // Start from each account as the empty block leaves it (end-of-block work may pay it too).
            func account(_ address: Address) throws -> Account {
                let key = StateKey.account(address)
                for case let .put(_, written, value) in baseline.changes.operations where written == key {
                    return try Account(canonicalBytes: value)
                }
                return try chain.query.account(address)
            }
            let sender = transaction.senderAddress, proposer = Address(publicKey: chain.proposer)
            var senderAccount = try account(sender)
            senderAccount.nonce += 1
            var expected: [[UInt8]: [UInt8]] = [:]
            if sender != proposer {
                senderAccount.balance -= transaction.fee
                var proposerAccount = try account(proposer)
                proposerAccount.balance += transaction.fee
                expected[StateKey.account(proposer)] = proposerAccount.canonicalBytes
            }
            expected[StateKey.account(sender)] = senderAccount.canonicalBytes
            let difference = Set(stateOperations(alone.changes)).subtracting(stateOperations(baseline.changes))
            #expect(difference == Set(expected.map { WriteBatch.Operation.put(LedgerNamespace.state, key: $0.key, value: $0.value) }),
                    "\(transaction.body.kindName) failing with \(code) changed more than fee and nonce")
        }
    }

    func stateOperations(_ batch: WriteBatch) -> [WriteBatch.Operation] {
        batch.operations.filter {
            switch $0 {
            case let .put(namespace, _, _), let .delete(namespace, _): namespace == LedgerNamespace.state
            }
        }
    }
}

extension WriteBatch.Operation: Hashable {
    public func hash(into hasher: inout Hasher) {
        switch self {
        case let .put(namespace, key, value):
            hasher.combine(namespace)
            hasher.combine(key)
            hasher.combine(value)
        case let .delete(namespace, key):
            hasher.combine(namespace)
            hasher.combine(key)
        }
    }
}

/// A fresh directory under /tmp, removed when released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/assay-ledger-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw StorageError(.io, "mkdtemp failed") }
        path = String(cString: created)
    }

    deinit {
        _ = try? FileManager.default.removeItem(atPath: path)
    }
}
