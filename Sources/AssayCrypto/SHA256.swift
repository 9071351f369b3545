import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// A 32-byte SHA-256 digest.
///
/// The bytes are held inline rather than in an array, so that hashing allocates nothing: at 200-byte inputs
/// an array per digest cost about a quarter of the hashing time. `bytes` makes an array when one is needed.
public struct Digest32: Hashable, Comparable, Sendable, CustomStringConvertible, ContiguousBytes {
    public static let byteCount = 32

    /// The digest bytes in order, in memory order (not as numbers). Visible to inlinable code so that
    /// comparing, hashing and reading digests compiles down to word operations in other modules (the
    /// state tree does all three for every node it touches).
    @usableFromInline var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// Wraps exactly 32 bytes; anything else is a programming error.
    public init(_ bytes: [UInt8]) {
        precondition(bytes.count == Self.byteCount, "a digest is 32 bytes")
        Swift.withUnsafeMutableBytes(of: &words) { $0.copyBytes(from: bytes) }
    }

    /// Lets `fill` write the 32 bytes in place.
    init(filling fill: (UnsafeMutablePointer<UInt8>) -> Void) {
        Swift.withUnsafeMutableBytes(of: &words) { fill($0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
    }

    @usableFromInline init(words: (UInt64, UInt64, UInt64, UInt64)) { self.words = words }

    /// Computed rather than stored: the empty tree slot reads it constantly, and a stored global costs a
    /// one-time-initialisation check on every access.
    @inlinable public static var zero: Digest32 { Digest32(words: (0, 0, 0, 0)) }

    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: words, body)
    }

    @inlinable
    public static func == (lhs: Digest32, rhs: Digest32) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
            && lhs.words.3 == rhs.words.3
    }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// Byte-wise lexicographic order: each word read big-endian compares like its 8 bytes in turn.
    @inlinable
    public static func < (lhs: Digest32, rhs: Digest32) -> Bool { lhs.orderKey < rhs.orderKey }

    @usableFromInline var orderKey: (UInt64, UInt64, UInt64, UInt64) {
        (UInt64(bigEndian: words.0), UInt64(bigEndian: words.1), UInt64(bigEndian: words.2), UInt64(bigEndian: words.3))
    }

    public var description: String { withUnsafeBytes { Hex.encode($0) } }
}

/// SHA-256 through OpenSSL's EVP interface.
///
/// The `EVP_MD` is fetched once per process (a lookup per call halves throughput at small sizes);
/// each thread reuses its own `EVP_MD_CTX`, since contexts must not be shared across threads.
public enum SHA256 {
    /// Inlinable so that callers get it specialised for their byte container (no generic dispatch per hash).
    @inlinable
    public static func hash(_ data: some ContiguousBytes) -> Digest32 {
        data.withUnsafeBytes { hash(raw: $0) }
    }

    @usableFromInline
    static func hash(raw: UnsafeRawBufferPointer) -> Digest32 {
        let context = ThreadContext.current
        ThreadContext.begin(context)
        ThreadContext.update(context, raw)
        return ThreadContext.finish(context)
    }

    /// Hashes the concatenation of several parts without joining them first.
    public static func hash(parts: [[UInt8]]) -> Digest32 {
        let context = ThreadContext.current
        ThreadContext.begin(context)
        for part in parts { part.withUnsafeBytes { ThreadContext.update(context, $0) } }
        return ThreadContext.finish(context)
    }

    /// SHA-256 of a one-byte domain tag followed by `data`, without copying `data` (Merkle leaves and nodes).
    public static func hash(tag: UInt8, _ data: some ContiguousBytes) -> Digest32 {
        let context = ThreadContext.current
        ThreadContext.begin(context)
        withUnsafeBytes(of: tag) { ThreadContext.update(context, $0) }
        data.withUnsafeBytes { ThreadContext.update(context, $0) }
        return ThreadContext.finish(context)
    }

    /// SHA-256 of a one-byte domain tag followed by two digests: an inner Merkle node, with no allocation.
    public static func hash(tag: UInt8, _ left: Digest32, _ right: Digest32) -> Digest32 {
        let context = ThreadContext.current
        ThreadContext.begin(context)
        withUnsafeBytes(of: tag) { ThreadContext.update(context, $0) }
        left.withUnsafeBytes { ThreadContext.update(context, $0) }
        right.withUnsafeBytes { ThreadContext.update(context, $0) }
        return ThreadContext.finish(context)
    }

    nonisolated(unsafe) static let algorithm: OpaquePointer = {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else { fatalError("OpenSSL has no SHA256") }
        return md
    }()

    /// One reusable digest context per thread, kept as the bare pointer in a pthread key (no reference
    /// counting on the hot path) and freed when the thread exits.
    enum ThreadContext {
        private static let key: pthread_key_t = {
            var key = pthread_key_t()
            let status = pthread_key_create(&key) { pointer in
                if let pointer { EVP_MD_CTX_free(OpaquePointer(pointer)) }
            }
            precondition(status == 0, "pthread_key_create failed")
            return key
        }()

        static var current: OpaquePointer {
            if let existing = pthread_getspecific(key) { return OpaquePointer(existing) }
            guard let created = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
            precondition(pthread_setspecific(key, UnsafeRawPointer(created)) == 0, "pthread_setspecific failed")
            return created
        }

        static func begin(_ context: OpaquePointer) {
            precondition(EVP_DigestInit_ex2(context, SHA256.algorithm, nil) == 1, "EVP_DigestInit_ex2 failed")
        }

        static func update(_ context: OpaquePointer, _ data: UnsafeRawBufferPointer) {
            guard data.count > 0 else { return }
            precondition(EVP_DigestUpdate(context, data.baseAddress, data.count) == 1, "EVP_DigestUpdate failed")
        }

        static func finish(_ context: OpaquePointer) -> Digest32 {
            Digest32 { out in
                var length: UInt32 = 0
                let status = EVP_DigestFinal_ex(context, out, &length)
                precondition(status == 1 && length == 32, "EVP_DigestFinal_ex failed")
            }
        }
    }
}

/// Raw byte views accepted by the hashing API.
public protocol ContiguousBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
extension UnsafeRawBufferPointer: ContiguousBytes {
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try body(self) }
}
