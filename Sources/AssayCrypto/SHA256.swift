import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// A 32-byte SHA-256 digest.
public struct Digest32: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let byteCount = 32
    public let bytes: [UInt8]

    /// Wraps exactly 32 bytes; anything else is a programming error.
    public init(_ bytes: [UInt8]) {
        precondition(bytes.count == Self.byteCount, "a digest is 32 bytes")
        self.bytes = bytes
    }

    public static let zero = Digest32([UInt8](repeating: 0, count: byteCount))

    public static func < (lhs: Digest32, rhs: Digest32) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    public var description: String { Hex.encode(bytes) }
}

/// SHA-256 through OpenSSL's EVP interface.
///
/// The `EVP_MD` is fetched once per process (a lookup per call halves throughput at small sizes);
/// each thread reuses its own `EVP_MD_CTX`, since contexts must not be shared across threads.
public enum SHA256 {
    public static func hash(_ data: some ContiguousBytes) -> Digest32 {
        data.withUnsafeBytes { raw in Digest32(ThreadContext.current.digest(raw)) }
    }

    /// Hashes the concatenation of several parts without joining them first.
    public static func hash(parts: [[UInt8]]) -> Digest32 {
        Digest32(ThreadContext.current.digest(parts: parts))
    }

    nonisolated(unsafe) static let algorithm: OpaquePointer = {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else { fatalError("OpenSSL has no SHA256") }
        return md
    }()

    /// One reusable digest context per thread, freed when the thread exits.
    final class ThreadContext {
        private let context: OpaquePointer

        private init() {
            guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
            self.context = context
        }

        deinit { EVP_MD_CTX_free(context) }

        private static let key: pthread_key_t = {
            var key = pthread_key_t()
            let status = pthread_key_create(&key) { pointer in
                if let pointer { Unmanaged<ThreadContext>.fromOpaque(pointer).release() }
            }
            precondition(status == 0, "pthread_key_create failed")
            return key
        }()

        static var current: ThreadContext {
            if let existing = pthread_getspecific(key) {
                return Unmanaged<ThreadContext>.fromOpaque(existing).takeUnretainedValue()
            }
            let created = ThreadContext()
            pthread_setspecific(key, Unmanaged.passRetained(created).toOpaque())
            return created
        }

        func digest(_ data: UnsafeRawBufferPointer) -> [UInt8] {
            begin()
            update(data)
            return finish()
        }

        func digest(parts: [[UInt8]]) -> [UInt8] {
            begin()
            for part in parts { part.withUnsafeBytes { update($0) } }
            return finish()
        }

        private func begin() {
            precondition(EVP_DigestInit_ex2(context, SHA256.algorithm, nil) == 1, "EVP_DigestInit_ex2 failed")
        }

        private func update(_ data: UnsafeRawBufferPointer) {
            guard data.count > 0 else { return }
            precondition(EVP_DigestUpdate(context, data.baseAddress, data.count) == 1, "EVP_DigestUpdate failed")
        }

        private func finish() -> [UInt8] {
            [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
                var length: UInt32 = 0
                precondition(EVP_DigestFinal_ex(context, buffer.baseAddress, &length) == 1 && length == 32)
                count = 32
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
