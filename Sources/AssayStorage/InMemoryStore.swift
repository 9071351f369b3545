import Synchronization

/// A `KeyValueStore` held in memory: for tests, the simulation, and pure modules' own checks.
/// Snapshots are copy-on-write copies of the maps, so taking one costs nothing until the next write.
public final class InMemoryStore: KeyValueStore {
    private let spaces = Mutex<[Namespace: [[UInt8]: [UInt8]]]>([:])
    private let declared: DeclaredNamespaces

    /// A store that accepts any namespace.
    public init() { declared = DeclaredNamespaces(names: nil) }

    /// A store that, like RocksDB with its column families, refuses namespaces it was not opened with
    /// (the default namespace is always open), so tests catch an undeclared namespace before the node does.
    public init(namespaces: [Namespace]) { declared = DeclaredNamespaces(names: Set(namespaces + [.default])) }

    public func get(_ key: [UInt8], in namespace: Namespace) throws(StorageError) -> [UInt8]? {
        try declared.check(namespace)
        return spaces.withLock { $0[namespace]?[key] }
    }

    public func scan(
        _ namespace: Namespace, from start: [UInt8], to end: [UInt8]?, limit: Int
    ) throws(StorageError) -> [(key: [UInt8], value: [UInt8])] {
        try declared.check(namespace)
        let space = spaces.withLock { $0[namespace] ?? [:] }
        return Snapshot.scan(space, from: start, to: end, limit: limit)
    }

    /// All or nothing: every namespace is checked before the first operation is applied.
    public func write(_ batch: WriteBatch, durability: Durability) throws(StorageError) {
        for operation in batch.operations { try declared.check(operation.namespace) }
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
        Snapshot(spaces: spaces.withLock { $0 }, declared: declared)
    }

    /// A frozen copy of every namespace.
    public struct Snapshot: KeyValueReader {
        let spaces: [Namespace: [[UInt8]: [UInt8]]]
        let declared: DeclaredNamespaces

        public func get(_ key: [UInt8], in namespace: Namespace) throws(StorageError) -> [UInt8]? {
            try declared.check(namespace)
            return spaces[namespace]?[key]
        }

        public func scan(
            _ namespace: Namespace, from start: [UInt8], to end: [UInt8]?, limit: Int
        ) throws(StorageError) -> [(key: [UInt8], value: [UInt8])] {
            try declared.check(namespace)
            return Self.scan(spaces[namespace] ?? [:], from: start, to: end, limit: limit)
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

/// The namespaces an `InMemoryStore` accepts; nil accepts all.
struct DeclaredNamespaces: Sendable {
    let names: Set<Namespace>?

    func check(_ namespace: Namespace) throws(StorageError) {
        guard let names, !names.contains(namespace) else { return }
        let known = names.map(\.name).sorted().joined(separator: ", ")
        throw StorageError(.unknownColumnFamily, "namespace '\(namespace)' was not opened in this in-memory store (opened: \(known))")
    }
}
