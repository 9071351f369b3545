import CSecp256k1
import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// Errors of key handling and signing.
public enum CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidSecretKey
    case invalidPublicKey
    case invalidSignatureLength(Int)
    case signingFailed
    case randomSourceFailed

    public var description: String {
        switch self {
        case .invalidSecretKey: "secret key is not a valid secp256k1 scalar (must be 32 bytes, 0 < k < n)"
        case .invalidPublicKey: "public key is not a valid x-only secp256k1 point (32 bytes)"
        case let .invalidSignatureLength(count): "signature is \(count) bytes, a BIP-340 signature is 64"
        case .signingFailed: "secp256k1 refused to sign"
        case .randomSourceFailed: "the random number generator failed"
        }
    }
}

/// The process-wide secp256k1 context. Signing and verification take it as `const`, so all threads share it.
enum Secp256k1 {
    nonisolated(unsafe) static let context: OpaquePointer = {
        guard let context = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else {
            fatalError("secp256k1_context_create failed")
        }
        // Blinding against side channels; the seed does not affect any result.
        var seed = [UInt8](repeating: 0, count: 32)
        seed.withUnsafeMutableBytes(OSRandom.fill)
        _ = secp256k1_context_randomize(context, &seed)
        return context
    }()
}

/// The operating system's random source: Swift's `SystemRandomNumberGenerator` reads getrandom(2) on Linux.
public enum OSRandom {
    /// Throwing is part of the contract so that a source which can fail fits behind it.
    public static func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }

    /// Fills `buffer` in place, so secrets need not pass through an intermediate array.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var generator = SystemRandomNumberGenerator()
        var offset = 0
        while offset < buffer.count {
            var word = generator.next() as UInt64
            let chunk = min(8, buffer.count - offset)
            withUnsafeBytes(of: &word) { buffer[offset..<offset + chunk].copyBytes(from: $0.prefix(chunk)) }
            OPENSSL_cleanse(&word, 8)
            offset += chunk
        }
    }
}

/// An x-only secp256k1 public key (BIP-340), 32 bytes.
public struct PublicKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Accepts exactly the 32-byte x coordinate of a point on the curve.
    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == 32 else { throw .invalidPublicKey }
        var parsed = secp256k1_xonly_pubkey()
        guard secp256k1_xonly_pubkey_parse(Secp256k1.context, &parsed, bytes) == 1 else { throw .invalidPublicKey }
        self.bytes = bytes
    }

    init(trusted bytes: [UInt8]) { self.bytes = bytes }

    public static func < (lhs: PublicKey, rhs: PublicKey) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    public var description: String { Hex.encode(bytes) }
}

/// A BIP-340 Schnorr signature, 64 bytes.
public struct Signature: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == 64 else { throw .invalidSignatureLength(bytes.count) }
        self.bytes = bytes
    }

    public var description: String { Hex.encode(bytes) }
}

/// A secp256k1 secret key with its precomputed key pair. Both live in memory this object owns and
/// are overwritten with zeros when it is released.
public final class SecretKey: @unchecked Sendable {
    private let keypair: UnsafeMutablePointer<secp256k1_keypair>
    private let secret: UnsafeMutableRawBufferPointer
    public let publicKey: PublicKey

    public convenience init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == 32 else { throw .invalidSecretKey }
        try self.init(fillingSecret: { $0.copyBytes(from: bytes) })
    }

    /// Copies the scalar straight out of `source`, for callers that keep it in memory they wipe.
    public convenience init(secret source: UnsafeRawBufferPointer) throws(CryptoError) {
        guard source.count == 32 else { throw .invalidSecretKey }
        try self.init(fillingSecret: { $0.copyMemory(from: source) })
    }

    /// Lets `fill` write the 32-byte scalar into memory this object owns, then derives the key pair.
    private init(fillingSecret fill: (UnsafeMutableRawBufferPointer) -> Void) throws(CryptoError) {
        keypair = .allocate(capacity: 1)
        secret = .allocate(byteCount: 32, alignment: 1)
        fill(secret)
        guard secp256k1_keypair_create(Secp256k1.context, keypair, secret.baseAddress!) == 1 else {
            Self.wipe(keypair, secret)
            throw .invalidSecretKey
        }
        var xonly = secp256k1_xonly_pubkey()
        _ = secp256k1_keypair_xonly_pub(Secp256k1.context, &xonly, nil, keypair)
        var serialized = [UInt8](repeating: 0, count: 32)
        _ = secp256k1_xonly_pubkey_serialize(Secp256k1.context, &serialized, &xonly)
        publicKey = PublicKey(trusted: serialized)
    }

    /// A fresh key from the operating system's random source.
    public static func generate() throws(CryptoError) -> SecretKey {
        while true {
            // Out-of-range scalars (probability about 2^-128) are simply drawn again.
            if let key = try? SecretKey(fillingSecret: OSRandom.fill) { return key }
        }
    }

    deinit { Self.wipe(keypair, secret) }

    /// The secret scalar, for writing a key file. Callers should wipe any copy they make.
    public func withSecretBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(secret))
    }

    /// BIP-340 signature over `message` (any length) with fresh auxiliary randomness from OpenSSL's
    /// generator, which the OS seeds (a system call per signature would cost more than it protects).
    public func sign(_ message: some ContiguousBytes) throws(CryptoError) -> Signature {
        var aux: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return try withUnsafeMutableBytes(of: &aux) { aux throws(CryptoError) in
            guard RAND_bytes(aux.baseAddress!.assumingMemoryBound(to: UInt8.self), 32) == 1 else {
                throw .randomSourceFailed
            }
            return try sign(message, aux: UnsafeRawBufferPointer(aux))
        }
    }

    /// BIP-340 signature with caller-chosen auxiliary randomness (32 bytes), as in the BIP's test vectors.
    public func sign(
        _ message: some ContiguousBytes, auxiliaryRandomness aux: [UInt8]
    ) throws(CryptoError) -> Signature {
        precondition(aux.count == 32, "auxiliary randomness is 32 bytes")
        let result = aux.withUnsafeBytes { aux in Result { () throws(CryptoError) in try sign(message, aux: aux) } }
        return try result.get()
    }

    private func sign(_ message: some ContiguousBytes, aux: UnsafeRawBufferPointer) throws(CryptoError) -> Signature {
        var params = secp256k1_schnorrsig_extraparams(
            magic: (0xda, 0x6f, 0xb3, 0x8c), noncefp: nil, ndata: UnsafeMutableRawPointer(mutating: aux.baseAddress))
        let signature = [UInt8](unsafeUninitializedCapacity: 64) { buffer, initialized in
            let status = message.withUnsafeBytes { msg in
                secp256k1_schnorrsig_sign_custom(
                    Secp256k1.context, buffer.baseAddress!, msg.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    msg.count, keypair, &params)
            }
            initialized = status == 1 ? 64 : 0
        }
        guard signature.count == 64 else { throw .signingFailed }
        return try Signature(bytes: signature)
    }

    private static func wipe(
        _ keypair: UnsafeMutablePointer<secp256k1_keypair>, _ secret: UnsafeMutableRawBufferPointer
    ) {
        OPENSSL_cleanse(keypair, MemoryLayout<secp256k1_keypair>.size)
        OPENSSL_cleanse(secret.baseAddress, secret.count)
        keypair.deallocate()
        secret.deallocate()
    }
}

extension PublicKey {
    /// True when `signature` is a valid BIP-340 signature of `message` by this key.
    public func verify(_ signature: Signature, for message: some ContiguousBytes) -> Bool {
        var parsed = secp256k1_xonly_pubkey()
        guard secp256k1_xonly_pubkey_parse(Secp256k1.context, &parsed, bytes) == 1 else { return false }
        return message.withUnsafeBytes { msg in
            secp256k1_schnorrsig_verify(
                Secp256k1.context, signature.bytes, msg.baseAddress?.assumingMemoryBound(to: UInt8.self),
                msg.count, &parsed) == 1
        }
    }
}
