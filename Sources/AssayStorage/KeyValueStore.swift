/// Why a store operation failed. Every storage error names what it was doing and where.
public struct StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case alreadyOpen, missing, corrupt, io, unknownColumnFamily, closed
        /// The data directory's free space is below the node's reserve (`min_free_bytes`).
        case noSpace
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Named key spaces. Each maps to one RocksDB column family.
public struct Namespace: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }
    public var description: String { name }

    public static let `default` = Namespace("default")
}

/// One atomic group of puts and deletes. Applied in order: a later operation on a key wins.
public struct WriteBatch: Sendable {
    public enum Operation: Sendable, Equatable {
        case put(Namespace, key: [UInt8], value: [UInt8])
        case delete(Namespace, key: [UInt8])
    }

    public private(set) var operations: [Operation] = []

    public init() {}

    /// Room for `count` operations, when the caller knows about how many it will add.
    public mutating func reserveCapacity(_ count: Int) { operations.reserveCapacity(count) }

    public mutating func put(_ key: [UInt8], _ value: [UInt8], in namespace: Namespace = .default) {
        operations.append(.put(namespace, key: key, value: value))
    }

    public mutating func delete(_ key: [UInt8], in namespace: Namespace = .default) {
        operations.append(.delete(namespace, key: key))
    }

    public var isEmpty: Bool { operations.isEmpty }
}

extension WriteBatch.Operation {
    public var namespace: Namespace {
        switch self {
        case let .put(namespace, _, _), let .delete(namespace, _): namespace
        }
    }
}

/// Whether a write must reach stable storage before it returns (consensus votes, committed blocks)
/// or may be buffered by the operating system (bulk loads, caches).
public enum Durability: Sendable {
    case synced
    case buffered
}

/// Reads against one fixed point in time.
public protocol KeyValueReader: Sendable {
    func get(_ key: [UInt8], in namespace: Namespace) throws(StorageError) -> [UInt8]?

    /// Pairs with `start <= key < end` (nil `end`: no upper bound), in ascending byte order, at most `limit`.
    func scan(
        _ namespace: Namespace, from start: [UInt8], to end: [UInt8]?, limit: Int
    ) throws(StorageError) -> [(key: [UInt8], value: [UInt8])]
}

/// An ordered key-value store with atomic batches and snapshots. Pure modules depend on this
/// protocol only; the node supplies RocksDB, tests and the simulation the in-memory store.
public protocol KeyValueStore: KeyValueReader {
    associatedtype Snapshot: KeyValueReader

    func write(_ batch: WriteBatch, durability: Durability) throws(StorageError)

    /// A consistent view: later writes are not visible through it.
    func snapshot() throws(StorageError) -> Snapshot
}

extension KeyValueReader {
    public func get(_ key: [UInt8]) throws(StorageError) -> [UInt8]? { try get(key, in: .default) }

    /// All pairs whose key starts with `prefix`, ascending, at most `limit`.
    public func scan(
        _ namespace: Namespace, prefix: [UInt8], limit: Int = .max
    ) throws(StorageError) -> [(key: [UInt8], value: [UInt8])] {
        try scan(namespace, from: prefix, to: Self.prefixEnd(prefix), limit: limit)
    }

    /// The smallest key greater than every key with this prefix, or nil when none exists (all 0xff).
    public static func prefixEnd(_ prefix: [UInt8]) -> [UInt8]? {
        var end = prefix
        while let last = end.last {
            if last < 0xff {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return nil
    }
}
