import AssayStorage

/// A `KeyValueStore` with a crash model: `.synced` writes are durable together with every write
/// before them (like fsync); `.buffered` writes are visible at once but a crash keeps only a random
/// prefix of them and may tear the last one kept. Confined to one scenario's thread.
final class SimulatedDisk: KeyValueStore, @unchecked Sendable {
    typealias Space = [[UInt8]: [UInt8]]

    private var visible: [Namespace: Space] = [:]
    private var durable: [Namespace: Space] = [:]
    private var unsynced: [WriteBatch] = []

    func get(_ key: [UInt8], in namespace: Namespace) throws(StorageError) -> [UInt8]? { visible[namespace]?[key] }

    func scan(
        _ namespace: Namespace, from start: [UInt8], to end: [UInt8]?, limit: Int
    ) throws(StorageError) -> [(key: [UInt8], value: [UInt8])] {
        Self.scan(visible[namespace] ?? [:], from: start, to: end, limit: limit)
    }

    func write(_ batch: WriteBatch, durability: Durability) throws(StorageError) {
        Self.apply(batch, to: &visible)
        unsynced.append(batch)
        if durability == .synced { flush(count: unsynced.count) }
    }

    func snapshot() throws(StorageError) -> Snapshot { Snapshot(spaces: visible) }

    /// Power loss: the first `kept` unsynced batches reach the disk (all of them when nil, at random
    /// otherwise); with `tearLast`, the last one kept loses the end of its last value.
    func crash(_ random: inout SimRandom, tearLast: Bool) {
        let kept = Int(random.below(UInt64(unsynced.count + 1)))
        if tearLast, kept > 0 { unsynced[kept - 1] = Self.torn(unsynced[kept - 1], &random) }
        flush(count: kept)
        unsynced = []
        visible = durable
    }

    private func flush(count: Int) {
        for batch in unsynced.prefix(count) { Self.apply(batch, to: &durable) }
        unsynced.removeFirst(count)
    }

    private static func torn(_ batch: WriteBatch, _ random: inout SimRandom) -> WriteBatch {
        var copy = WriteBatch()
        let operations = batch.operations
        for (index, operation) in operations.enumerated() {
            switch operation {
            case let .put(namespace, key, value) where index == operations.count - 1 && !value.isEmpty:
                copy.put(key, Array(value.prefix(Int(random.below(UInt64(value.count))))), in: namespace)
            case let .put(namespace, key, value): copy.put(key, value, in: namespace)
            case let .delete(namespace, key): copy.delete(key, in: namespace)
            }
        }
        return copy
    }

    private static func apply(_ batch: WriteBatch, to spaces: inout [Namespace: Space]) {
        for operation in batch.operations {
            switch operation {
            case let .put(namespace, key, value): spaces[namespace, default: [:]][key] = value
            case let .delete(namespace, key): spaces[namespace]?[key] = nil
            }
        }
    }

    static func scan(
        _ space: Space, from start: [UInt8], to end: [UInt8]?, limit: Int
    ) -> [(key: [UInt8], value: [UInt8])] {
        space.filter { key, _ in
            !key.lexicographicallyPrecedes(start) && (end.map { key.lexicographicallyPrecedes($0) } ?? true)
        }
        .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        .prefix(max(0, limit)).map { (key: $0.key, value: $0.value) }
    }

    struct Snapshot: KeyValueReader {
        let spaces: [Namespace: Space]

        func get(_ key: [UInt8], in namespace: Namespace) throws(StorageError) -> [UInt8]? { spaces[namespace]?[key] }

        func scan(
            _ namespace: Namespace, from start: [UInt8], to end: [UInt8]?, limit: Int
        ) throws(StorageError) -> [(key: [UInt8], value: [UInt8])] {
            SimulatedDisk.scan(spaces[namespace] ?? [:], from: start, to: end, limit: limit)
        }
    }
}
