import COpenSSL

/// scrypt costs. The default (N = 2^15, r = 8, p = 1) takes 32 MiB and about 0.1 s; tests pass a small N.
public struct ScryptParameters: Equatable, Sendable {
    public let n: UInt64
    public let r: UInt64
    public let p: UInt64

    public static let standard = try! ScryptParameters(n: 1 << 15, r: 8, p: 1)

    /// Bounds keep a hostile key file from asking for unbounded memory or time.
    public static let maximumN: UInt64 = 1 << 20
    public static let maximumR: UInt64 = 16
    public static let maximumP: UInt64 = 16
    public static let maximumMemoryBytes: UInt64 = 256 << 20

    public init(n: UInt64, r: UInt64, p: UInt64) throws(KeyFileError) {
        guard n >= 2, n <= Self.maximumN, n & (n - 1) == 0 else {
            throw .unsupportedEncryption("scrypt n=\(n) must be a power of two in 2...\(Self.maximumN)")
        }
        guard (1...Self.maximumR).contains(r), (1...Self.maximumP).contains(p) else {
            throw .unsupportedEncryption(
                "scrypt r=\(r) p=\(p) must be in 1...\(Self.maximumR) and 1...\(Self.maximumP)")
        }
        // scrypt itself requires n < 2^(16 r); only r = 1 can reach that bound here.
        guard r >= 2 || n < 1 << 16 else {
            throw .unsupportedEncryption("scrypt n=\(n) must be below 65536 when r=1")
        }
        guard 128 * r * n <= Self.maximumMemoryBytes else {
            throw .unsupportedEncryption("scrypt n=\(n) r=\(r) needs more than \(Self.maximumMemoryBytes >> 20) MiB")
        }
        (self.n, self.r, self.p) = (n, r, p)
    }

    /// OpenSSL refuses to run above this; it covers the V and B arrays with room to spare.
    var memoryLimit: UInt64 { 128 * r * (n + p + 2) + (1 << 20) }
}

/// The encrypted form of a 32-byte secret: scrypt(passphrase, salt) is the AES-256-GCM key.
struct SealedSecret: Equatable, Sendable {
    static let secretLength = 32
    static let keyLength = 32
    static let saltLength = 16
    static let nonceLength = 12
    static let tagLength = 16

    let parameters: ScryptParameters
    let salt: [UInt8]
    let nonce: [UInt8]
    let ciphertext: [UInt8]
    let tag: [UInt8]

    /// Encrypts `secret` with a fresh salt and nonce; `associatedData` is bound to it by the tag.
    static func seal(
        _ secret: UnsafeRawBufferPointer, passphrase: [UInt8], associatedData: [UInt8], parameters: ScryptParameters
    ) throws(KeyFileError) -> SealedSecret {
        precondition(secret.count == secretLength)
        let salt = try randomBytes(saltLength)
        let nonce = try randomBytes(nonceLength)
        var ciphertext = [UInt8](repeating: 0, count: secretLength)
        var tag = [UInt8](repeating: 0, count: tagLength)
        try SecureMemory.withScratch(keyLength) { (key) throws(KeyFileError) in
            try deriveKey(passphrase: passphrase, salt: salt, parameters: parameters, into: key)
            let cipher = try CipherContext()
            try cipher.check(EVP_EncryptInit_ex(cipher.context, EVP_aes_256_gcm(), nil, key.bytes, nonce), "init")
            var length: Int32 = 0
            try cipher.check(
                EVP_EncryptUpdate(cipher.context, nil, &length, associatedData, Int32(associatedData.count)), "aad")
            try cipher.check(
                EVP_EncryptUpdate(cipher.context, &ciphertext, &length, secret.bytes, Int32(secretLength)), "encrypt")
            let written = Int(length)
            let final = ciphertext.withUnsafeMutableBufferPointer { out in
                EVP_EncryptFinal_ex(cipher.context, out.baseAddress! + written, &length)
            }
            try cipher.check(final, "final")
            try cipher.check(
                EVP_CIPHER_CTX_ctrl(cipher.context, EVP_CTRL_AEAD_GET_TAG, Int32(tagLength), &tag), "tag")
        }
        return SealedSecret(parameters: parameters, salt: salt, nonce: nonce, ciphertext: ciphertext, tag: tag)
    }

    /// Decrypts into wiped scratch memory and builds the key from there; a tag failure is a wrong passphrase.
    func open(passphrase: [UInt8], associatedData: [UInt8]) throws(KeyFileError) -> SecretKey {
        try SecureMemory.withScratch(Self.keyLength + Self.secretLength) { (scratch) throws(KeyFileError) in
            let key = UnsafeMutableRawBufferPointer(rebasing: scratch[..<Self.keyLength])
            let plain = UnsafeMutableRawBufferPointer(rebasing: scratch[Self.keyLength...])
            try Self.deriveKey(passphrase: passphrase, salt: salt, parameters: parameters, into: key)
            let cipher = try CipherContext()
            try cipher.check(EVP_DecryptInit_ex(cipher.context, EVP_aes_256_gcm(), nil, key.bytes, nonce), "init")
            var length: Int32 = 0
            try cipher.check(
                EVP_DecryptUpdate(cipher.context, nil, &length, associatedData, Int32(associatedData.count)), "aad")
            try cipher.check(
                EVP_DecryptUpdate(cipher.context, plain.bytes, &length, ciphertext, Int32(ciphertext.count)), "decrypt")
            var expectedTag = tag
            try cipher.check(
                EVP_CIPHER_CTX_ctrl(cipher.context, EVP_CTRL_AEAD_SET_TAG, Int32(tag.count), &expectedTag), "tag")
            guard EVP_DecryptFinal_ex(cipher.context, plain.bytes + Int(length), &length) == 1 else {
                throw .wrongPassphrase
            }
            do {
                return try SecretKey(secret: UnsafeRawBufferPointer(plain))
            } catch {
                throw .keyMismatch("the decrypted secret key is not a valid secp256k1 scalar")
            }
        }
    }

    private static func deriveKey(
        passphrase: [UInt8], salt: [UInt8], parameters: ScryptParameters, into key: UnsafeMutableRawBufferPointer
    ) throws(KeyFileError) {
        let status = passphrase.withUnsafeBytes { pass in
            EVP_PBE_scrypt(
                pass.baseAddress?.assumingMemoryBound(to: CChar.self), pass.count, salt, salt.count,
                parameters.n, parameters.r, parameters.p, parameters.memoryLimit, key.bytes, key.count)
        }
        guard status == 1 else { throw .cryptoFailure("scrypt key derivation (\(OpenSSLError.last()))") }
    }

    private static func randomBytes(_ count: Int) throws(KeyFileError) -> [UInt8] {
        do { return try OSRandom.bytes(count) } catch { throw .cryptoFailure("\(error)") }
    }
}

/// An `EVP_CIPHER_CTX`, freed (which also wipes its key schedule) when released.
private final class CipherContext {
    let context: OpaquePointer

    init() throws(KeyFileError) {
        guard let context = EVP_CIPHER_CTX_new() else { throw .cryptoFailure("EVP_CIPHER_CTX_new: out of memory") }
        self.context = context
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    func check(_ status: Int32, _ step: String) throws(KeyFileError) {
        guard status == 1 else { throw .cryptoFailure("AES-256-GCM \(step) (\(OpenSSLError.last()))") }
    }
}

/// OpenSSL's per-thread error queue, read for messages.
enum OpenSSLError {
    static func last() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "no detail" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        ERR_clear_error()
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

private extension UnsafeMutableRawBufferPointer {
    var bytes: UnsafeMutablePointer<UInt8> { baseAddress!.assumingMemoryBound(to: UInt8.self) }
}

private extension UnsafeRawBufferPointer {
    var bytes: UnsafePointer<UInt8> { baseAddress!.assumingMemoryBound(to: UInt8.self) }
}
