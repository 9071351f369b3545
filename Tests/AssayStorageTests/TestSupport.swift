import AssayRocksDB
import AssayStorage
import Foundation
import Testing

/// A fresh directory under the system temporary directory, removed with everything in it on release.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/assay-storage-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw StorageError(.io, "mkdtemp failed: errno \(errno)") }
        path = String(cString: created)
    }

    /// A path inside this directory that does not exist yet.
    func child(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The stores every contract test runs against.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case inMemory, rocksDB

    var testDescription: String { rawValue }

    static let namespaces = [Namespace.default, Namespace("a"), Namespace("b")]

    /// Calls `body` with a new empty store; a RocksDB store lives in a temporary directory removed afterwards.
    func withStore(_ body: (any KeyValueStore) async throws -> Void) async throws {
        switch self {
        case .inMemory:
            try await body(InMemoryStore(namespaces: Self.namespaces))
        case .rocksDB:
            let directory = try TemporaryDirectory()
            defer { withExtendedLifetime(directory) {} }
            try await body(try RocksDBStore(path: directory.child("db"), namespaces: Self.namespaces, createIfMissing: true))
        }
    }
}

/// Deterministic pseudo-random bytes (SplitMix64), so failures reproduce.
struct SeededBytes {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    mutating func bytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}
