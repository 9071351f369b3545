import AssayCrypto
#if canImport(Glibc)
import Glibc
#endif

/// Byte-wise order of keys, as the store orders them (memcmp, then length): the order of every batch the
/// ledger returns, so that no hash-map order leaks out.
enum ByteOrder {
    static func precedes(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        let common = min(lhs.count, rhs.count)
        let order = lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress!, common) } }
        return order != 0 ? order < 0 : lhs.count < rhs.count
    }
}

/// A state key used as a dictionary key, held inline: building, hashing and comparing one allocates nothing
/// and follows no pointer, which mattered because every account read and write goes through two or three
/// maps of the size of the state. State keys are at most `capacity` bytes (the longest, a timeout entry with a
/// 32-byte id, is 42); `StateKey` builds every one of them.
struct StoreKey: Hashable, ContiguousBytes {
    static let capacity = 48
    private var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
    let count: Int

    init(_ bytes: [UInt8]) {
        precondition(bytes.count <= Self.capacity, "state keys are at most 48 bytes")
        count = bytes.count
        Swift.withUnsafeMutableBytes(of: &words) { $0.copyBytes(from: bytes) }
    }

    /// `prefix` followed by `id`, without building the joined array.
    init(prefix: UInt8, _ id: [UInt8]) {
        precondition(id.count < Self.capacity, "state keys are at most 48 bytes")
        count = 1 + id.count
        Swift.withUnsafeMutableBytes(of: &words) { words in
            words[0] = prefix
            UnsafeMutableRawBufferPointer(rebasing: words[1...]).copyBytes(from: id)
        }
    }

    var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: words) { try body(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
    }

    func starts(with prefix: [UInt8]) -> Bool { withUnsafeBytes { $0.starts(with: prefix) } }

    func hash(into hasher: inout Hasher) {
        // The unused tail is zero, so whole words hash and compare like the bytes.
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
        hasher.combine(words.4)
        hasher.combine(words.5)
        hasher.combine(count)
    }

    static func == (lhs: StoreKey, rhs: StoreKey) -> Bool {
        lhs.count == rhs.count && lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1
            && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3 && lhs.words.4 == rhs.words.4
            && lhs.words.5 == rhs.words.5
    }
}
