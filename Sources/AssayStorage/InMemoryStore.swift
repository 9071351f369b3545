import Synchronization

/// A `KeyValueStore` held in memory: for tests, the simulation, and pure modules' own checks.
/// Snapshots are copy-on-write copies of the maps, so taking one costs nothing until the next write.
public final class InMemoryStore: KeyValueStore {
    private let spaces = Mutex<[Namespace: [[UInt8]: [UInt8]]]>([:])

    public init() {}

    public func get(_ key: [UInt8], in namespace: Namespace) throws(StorageError) -> [UInt8]? {
        spaces.withLock { $0[namespace]?[key] }
    }

    public func scan(
        _ namespace: Namespace, from start: [UInt8], to end: [UInt8]?, limit: Int
    ) throws(StorageError) -> [(key: [UInt8], value: [UInt8])] {
        let space = spaces.withLock { $0[namespace] ?? [:] }
        return Snapshot.scan(space, from: start, to: end, limit: limit)
    }

    public func write(_ batch: WriteBatch, durability: Durability) throws(StorageError) {
        spaces.withLock { spaces in
            for operation in batch.operations {
                switch operation {
                case let .put(namespace, key, value): spaces[namespace, default: [:]][key] = value
                case let .delete(namespace, key): spaces[namespace]?[key] = nil
                }
            }
        }
    }

    public func snapshot() throws(StorageError) -> Snapshot {
        Snapshot(spaces: spaces.withLock { $0 })
    }

    /// A frozen copy of every namespace.
    public struct Snapshot: KeyValueReader {
        let spaces: [Namespace: [[UInt8]: [UInt8]]]

        public func get(_ key: [UInt8], in namespace: Namespace) throws(StorageError) -> [UInt8]? {
            spaces[namespace]?[key]
        }

        public func scan(
            _ namespace: Namespace, from start: [UInt8], to end: [UInt8]?, limit: Int
        ) throws(StorageError) -> [(key: [UInt8], value: [UInt8])] {
            Self.scan(spaces[namespace] ?? [:], from: start, to: end, limit: limit)
        }

        /// Sorting here keeps hash-map order from ever leaking out: results are in byte order.
        static func scan(
            _ space: [[UInt8]: [UInt8]], from start: [UInt8], to end: [UInt8]?, limit: Int
        ) -> [(key: [UInt8], value: [UInt8])] {
            let inRange = space.filter { key, _ in
                !key.lexicographicallyPrecedes(start) && (end.map { key.lexicographicallyPrecedes($0) } ?? true)
            }
            return inRange.sorted { $0.key.lexicographicallyPrecedes($1.key) }
                .prefix(max(0, limit)).map { (key: $0.key, value: $0.value) }
        }
    }
}
