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

    public var description: String {
        switch self {
        case .invalidSecretKey: "secret key is not a valid secp256k1 scalar (must be 32 bytes, 0 < k < n)"
        case .invalidPublicKey: "public key is not a valid x-only secp256k1 point (32 bytes)"
        case let .invalidSignatureLength(count): "signature is \(count) bytes, a BIP-340 signature is 64"
        case .signingFailed: "secp256k1 refused to sign"
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
        var seed = (try? OSRandom.bytes(32)) ?? [UInt8](repeating: 0, count: 32)
        _ = secp256k1_context_randomize(context, &seed)
        return context
    }()
}

/// The operating system's random source: Swift's `SystemRandomNumberGenerator` reads getrandom(2) on Linux.
public enum OSRandom {
    public static func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var out: [UInt8] = []
        out.reserveCapacity(count + 8)
        while out.count < count {
            withUnsafeBytes(of: generator.next() as UInt64) { out.append(contentsOf: $0) }
        }
        return Array(out.prefix(count))
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

    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == 32 else { throw .invalidSecretKey }
        keypair = .allocate(capacity: 1)
        secret = .allocate(byteCount: 32, alignment: 1)
        secret.copyBytes(from: bytes)
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
            var candidate = try OSRandom.bytes(32)
            defer { OPENSSL_cleanse(&candidate, candidate.count) }
            // Out-of-range scalars (probability about 2^-128) are simply drawn again.
            if let key = try? SecretKey(bytes: candidate) { return key }
        }
    }

    deinit { Self.wipe(keypair, secret) }

    /// The secret scalar, for writing a key file. Callers should wipe the copy when done.
    public func withSecretBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(secret))
    }

    /// BIP-340 signature over `message` (any length) with fresh auxiliary randomness from the OS.
    public func sign(_ message: some ContiguousBytes) throws(CryptoError) -> Signature {
        try sign(message, auxiliaryRandomness: try OSRandom.bytes(32))
    }

    /// BIP-340 signature with caller-chosen auxiliary randomness (32 bytes), as in the BIP's test vectors.
    public func sign(_ message: some ContiguousBytes, auxiliaryRandomness aux: [UInt8]) throws(CryptoError) -> Signature {
        precondition(aux.count == 32, "auxiliary randomness is 32 bytes")
        var signature = [UInt8](repeating: 0, count: 64)
        var aux = aux
        let ok = aux.withUnsafeMutableBytes { auxPointer in
            message.withUnsafeBytes { msg in
                var params = secp256k1_schnorrsig_extraparams(
                    magic: (0xda, 0x6f, 0xb3, 0x8c), noncefp: nil, ndata: auxPointer.baseAddress)
                return secp256k1_schnorrsig_sign_custom(
                    Secp256k1.context, &signature, msg.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    msg.count, keypair, &params)
            }
        }
        guard ok == 1 else { throw .signingFailed }
        return try Signature(bytes: signature)
    }

    private static func wipe(_ keypair: UnsafeMutablePointer<secp256k1_keypair>, _ secret: UnsafeMutableRawBufferPointer) {
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
