import AssayRocksDB
import AssayStorage
import BenchBaselines
import Foundation

/// RocksDB batched puts and random point gets through `RocksDBStore`, each beside the same work done by
/// a C loop over RocksDB's C API with the same options (BenchBaselines/rocksdb_baseline.c).
/// Runs alternate between the two and the best of each is printed: on a shared machine the slower runs
/// measure other processes (both sides spend the same CPU time per key), the fastest run the code itself.
enum StorageBench {
    static let keyCount = 200_000
    static let keyBytes = 32
    static let valueBytes = 200
    static let batchSize = 5_000
    static let getCount = 50_000
    static let rounds = 5

    struct Rates {
        var puts: [Double] = []
        var gets: [Double] = []
    }

    static func run() throws {
        let workload = Workload()
        var wrapper = Rates()
        var baseline = Rates()
        for round in 0..<rounds {
            // Alternate which side goes first so neither always meets a warmer or busier machine.
            if round % 2 == 0 {
                try measureWrapper(workload, into: &wrapper)
                try measureBaseline(workload, into: &baseline)
            } else {
                try measureBaseline(workload, into: &baseline)
                try measureWrapper(workload, into: &wrapper)
            }
        }
        Measure.line("rocksdb batched put (32 B keys, 200 B values, 5,000 per batch)", best(wrapper.puts), "keys/s",
                     baseline: best(baseline.puts))
        Measure.line("rocksdb random point get", best(wrapper.gets), "gets/s", baseline: best(baseline.gets))
    }

    /// Random keys, one shared value and a random read order, made once and used by every run.
    struct Workload {
        let keys: [[UInt8]]
        let packedKeys: [UInt8]
        let value: [UInt8]
        let getOrder: [UInt32]

        init() {
            let packed = Self.randomBytes(StorageBench.keyCount * StorageBench.keyBytes)
            packedKeys = packed
            keys = stride(from: 0, to: packed.count, by: StorageBench.keyBytes).map {
                Array(packed[$0..<$0 + StorageBench.keyBytes])
            }
            value = Self.randomBytes(StorageBench.valueBytes)
            getOrder = (0..<StorageBench.getCount).map { _ in UInt32.random(in: 0..<UInt32(StorageBench.keyCount)) }
        }

        /// One bulk fill: drawing byte by byte would cost a system call per draw.
        static func randomBytes(_ count: Int) -> [UInt8] {
            [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                arc4random_buf(buffer.baseAddress!, count)
                initialized = count
            }
        }
    }

    static func measureWrapper(_ workload: Workload, into rates: inout Rates) throws {
        try withScratchDirectory { path in
            let store = try RocksDBStore(path: path, namespaces: [], createIfMissing: true)
            let putStart = Measure.now()
            for first in stride(from: 0, to: keyCount, by: batchSize) {
                var batch = WriteBatch()
                for key in workload.keys[first..<min(first + batchSize, keyCount)] { batch.put(key, workload.value) }
                try store.write(batch, durability: .buffered)
            }
            rates.puts.append(Double(keyCount) / (Measure.now() - putStart))

            let getStart = Measure.now()
            var found = 0
            for index in workload.getOrder where try store.get(workload.keys[Int(index)]) != nil { found += 1 }
            rates.gets.append(Double(getCount) / (Measure.now() - getStart))
            precondition(found == getCount, "every key written is read back")
        }
    }

    static func measureBaseline(_ workload: Workload, into rates: inout Rates) throws {
        try withScratchDirectory { path in
            var putSeconds = 0.0
            var getSeconds = 0.0
            let status = workload.packedKeys.withUnsafeBufferPointer { keys in
                workload.value.withUnsafeBufferPointer { value in
                    workload.getOrder.withUnsafeBufferPointer { order in
                        rocksdb_baseline_run(
                            path, keys.baseAddress, keyCount, keyBytes, value.baseAddress, valueBytes, batchSize,
                            order.baseAddress, getCount, &putSeconds, &getSeconds)
                    }
                }
            }
            guard status == 0 else { throw StorageError(.io, "the C baseline failed in \(path)") }
            rates.puts.append(Double(keyCount) / putSeconds)
            rates.gets.append(Double(getCount) / getSeconds)
        }
    }

    /// A fresh data directory for one run, removed afterwards so runs do not share files or disk state.
    static func withScratchDirectory(_ body: (String) throws -> Void) throws {
        let path = NSTemporaryDirectory() + "/assay-bench-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }

    static func best(_ rates: [Double]) -> Double { rates.max() ?? 0 }
}
