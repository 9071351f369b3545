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

/// A store key used as a dictionary key. Hashed as one block of bytes: `[UInt8]`'s own `Hashable` feeds the
/// hasher one byte at a time, which dominated the cost of the per-block maps.
struct StoreKey: Hashable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }

    static func == (lhs: StoreKey, rhs: StoreKey) -> Bool {
        lhs.bytes.count == rhs.bytes.count
            && lhs.bytes.withUnsafeBytes { a in rhs.bytes.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
    }
}
