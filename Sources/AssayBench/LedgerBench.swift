import AssayCrypto
import AssayLedger
import AssayRocksDB
import AssayStorage
import AssayTypes
import Foundation

/// `Tools/bench ledger`: blocks of 10,000 signed transfers among 100,000 accounts on RocksDB, signatures
/// already checked (as the mempool's cache makes them at execution). Each block is executed, its state root
/// computed, and its batch written; beside it, raw RocksDB batched puts of the same number of keys.
enum LedgerBench {
    static let accountCount = 100_000
    static let blockSize = 10_000
    static let blockCount = 10
    static let chainID = "assay-bench"

    static func run() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try RocksDBStore(
            path: directory, namespaces: LedgerNamespace.all + [rawNamespace], createIfMissing: true)

        var start = Measure.now()
        let keys = (0..<accountCount).map { index in
            try! SecretKey(bytes: SHA256.hash(parts: [Array("bench".utf8), withUnsafeBytes(of: UInt64(index)) { Array($0) }]).bytes)
        }
        let addresses = keys.map { Address(publicKey: $0.publicKey) }
        Measure.line("keys generated", Measure.now() - start, "s")

        let ledger = Ledger()
        let genesis = Genesis(
            chainID: chainID, genesisTimeMs: 0,
            accounts: addresses.map { Genesis.Account(address: $0, balance: 1_000_000_000_000) },
            validators: try ValidatorSet([Validator(publicKey: keys[0].publicKey, power: 1)]),
            nodeKeys: [keys[0].publicKey: keys[1].publicKey], params: Params())
        start = Measure.now()
        let (changes, genesisRoot) = try ledger.genesis(genesis, store: store)
        try store.write(changes, durability: .buffered)
        Measure.line("genesis of \(accountCount) accounts (state + tree)", Measure.now() - start, "s")

        start = Measure.now()
        let blocks = signedBlocks(keys: keys, addresses: addresses, fee: genesis.params.minFee)
        Measure.line("signing \(blockCount * blockSize) transfers", Measure.now() - start, "s")

        var root = genesisRoot
        var keysChanged = 0, nodesWritten = 0
        var elapsed = 0.0, executing = 0.0, executingCPU = 0.0
        for (index, transactions) in blocks.enumerated() {
            let context = BlockContext(
                chainID: chainID, height: UInt64(index + 1), timeMs: 0, proposer: keys[0].publicKey,
                validators: genesis.validators, checkSignatures: false)
            let blockStart = Measure.now(), blockCPU = threadCPUTime()
            let outcome = try ledger.execute(parentRoot: root, store: store, context: context, transactions: transactions)
            executing += Measure.now() - blockStart
            executingCPU += threadCPUTime() - blockCPU
            try store.write(outcome.changes, durability: .buffered)
            elapsed += Measure.now() - blockStart
            precondition(outcome.allIncluded && outcome.results.allSatisfy { $0.status == .included(.ok) })
            root = outcome.stateRoot
            keysChanged += outcome.changes.operations.count { operation in
                if case let .put(namespace, _, _) = operation { return namespace == LedgerNamespace.state }
                return false
            }
            nodesWritten += outcome.changes.operations.count { operation in
                switch operation {
                case let .put(namespace, _, _), let .delete(namespace, _): namespace == LedgerNamespace.smt
                }
            }
        }
        let transfersPerSecond = Double(blockCount * blockSize) / elapsed
        let stateKeysPerSecond = Double(keysChanged) / elapsed
        let raw = rawPuts(store: store, keysPerBatch: keysChanged / blockCount, batches: blockCount)
        Measure.line("ledger transfers (execute + state root)", Double(blockCount * blockSize) / executing, "tx/s")
        // The machine is shared: per CPU second of the executing thread, the figure other load does not move.
        Measure.line("ledger transfers per CPU second (execute + state root)", Double(blockCount * blockSize) / executingCPU, "tx/s")
        Measure.line("ledger transfers (execute + state root + commit)", transfersPerSecond, "tx/s")
        Measure.line("ledger state-root updates (state keys)", stateKeysPerSecond, "keys/s", baseline: raw)
        Measure.line("tree nodes written per block", Double(nodesWritten / blockCount), "nodes")
        Measure.line("raw rocksdb batched puts (\(keysChanged / blockCount) keys a batch)", raw, "keys/s")
    }

    static let rawNamespace = Namespace("bench-raw")

    /// Blocks of transfers between random accounts, each sender's nonces in order.
    static func signedBlocks(keys: [SecretKey], addresses: [Address], fee: Amount) -> [[Transaction]] {
        var generator = SplitMix(seed: 42)
        var nonces = [UInt64](repeating: 0, count: keys.count)
        return (0..<blockCount).map { _ in
            (0..<blockSize).map { _ in
                let sender = Int(generator.next() % UInt64(keys.count))
                let recipient = addresses[Int(generator.next() % UInt64(keys.count))]
                defer { nonces[sender] += 1 }
                return try! Transaction.signed(
                    chainID: chainID, nonce: nonces[sender], fee: fee,
                    body: .transfer(Transfer(recipient: recipient, amount: 1 + generator.next() % 1_000)), key: keys[sender])
            }
        }
    }

    /// Batched puts of random 21-byte keys with 16-byte values (the size of an account entry).
    static func rawPuts(store: RocksDBStore, keysPerBatch: Int, batches: Int) -> Double {
        var generator = SplitMix(seed: 7)
        let prepared: [WriteBatch] = (0..<batches).map { _ in
            var batch = WriteBatch()
            for _ in 0..<keysPerBatch {
                let key = [0x01] + (0..<20).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                batch.put(key, (0..<16).map { _ in UInt8(truncatingIfNeeded: generator.next()) }, in: rawNamespace)
            }
            return batch
        }
        let start = Measure.now()
        for batch in prepared { try! store.write(batch, durability: .buffered) }
        return Double(keysPerBatch * batches) / (Measure.now() - start)
    }

    /// CPU time of the calling thread, in seconds.
    static func threadCPUTime() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/assay-ledger-bench-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw StorageError(.io, "mkdtemp failed") }
        return String(cString: created)
    }
}

/// SplitMix64, so the benchmark's transfers are the same on every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
