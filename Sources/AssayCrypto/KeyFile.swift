/// How a key file protects its secret.
public enum KeyProtection: Sendable {
    /// scrypt + AES-256-GCM under the passphrase (the normal case).
    case passphrase([UInt8], ScryptParameters = .standard)
    /// The secret in hex, readable by anyone who can read the file: only for devnets (`--insecure-plaintext`).
    case insecurePlaintext
}

/// A key file: the address and public key in the clear, the secret key encrypted or (for devnets) plain.
///
/// Reading a file does not need the passphrase; `secretKey(passphrase:)` does, and it checks that the secret,
/// public key and address belong together.
public struct KeyFile: Sendable {
    public static let currentVersion = 1

    public let address: Address
    public let publicKey: PublicKey
    private let secret: StoredSecret
    /// The file's permission bits when it was read from disk (nil when parsed from bytes).
    public private(set) var fileMode: UInt32?

    private enum StoredSecret: Sendable {
        case plaintextHex(String)
        case sealed(SealedSecret)
    }

    public var isEncrypted: Bool {
        if case .sealed = secret { true } else { false }
    }

    /// True when the file on disk grants its group or other users any access: as with an ssh private key, that
    /// is a mistake even if no one else has read it yet.
    public var isExposed: Bool { (fileMode ?? 0) & 0o077 != 0 }

    /// Builds the file for `key`; with a passphrase this runs scrypt, so it takes about 0.1 s at the standard cost.
    public init(key: SecretKey, protection: KeyProtection) throws(KeyFileError) {
        publicKey = key.publicKey
        address = Address(publicKey: key.publicKey)
        switch protection {
        case .insecurePlaintext:
            secret = .plaintextHex(key.withSecretBytes { Hex.encode($0) })
        case let .passphrase(passphrase, parameters):
            guard !passphrase.isEmpty else { throw .emptyPassphrase }
            let associatedData = Array(address.description.utf8)
            let sealed = try key.withSecretBytes { secret throws(KeyFileError) in
                try SealedSecret.seal(
                    secret, passphrase: passphrase, associatedData: associatedData, parameters: parameters)
            }
            secret = .sealed(sealed)
        }
    }

    /// Parses the file's bytes and checks that the address is the public key's.
    public init(json: [UInt8]) throws(KeyFileError) {
        let format = try KeyFileFormat.decode(json)
        do {
            address = try Address(format.address)
        } catch {
            throw .malformed("field 'address': \(error)")
        }
        publicKey = try Self.publicKey(hex: format.publicKey)
        guard Address(publicKey: publicKey) == address else {
            throw .keyMismatch("the address \(address) is not the address of public key \(publicKey)")
        }
        switch (format.secretKey, format.crypto) {
        case let (hex?, nil): secret = .plaintextHex(hex)
        case let (nil, crypto?): secret = .sealed(try Self.sealedSecret(crypto))
        case (.some, .some): throw .malformed("both 'secret_key' and 'crypto' are present")
        case (nil, nil): throw .malformed("missing field 'crypto' (or 'secret_key' in a plaintext file)")
        }
    }

    /// Reads and parses the file, recording its permission bits (see `isExposed`).
    public static func read(from path: String) throws(KeyFileError) -> KeyFile {
        let (bytes, mode) = try KeyFileIO.contents(of: path)
        var file = try KeyFile(json: bytes)
        file.fileMode = mode
        return file
    }

    /// Writes the file atomically with mode 0600; refuses to replace an existing file unless `replacing`.
    public func write(to path: String, replacing: Bool = false) throws(KeyFileError) {
        try KeyFileIO.writeAtomically(json, to: path, replacing: replacing)
    }

    public var json: [UInt8] {
        var format = KeyFileFormat(
            version: Self.currentVersion, address: address.description, publicKey: Hex.encode(publicKey.bytes))
        switch secret {
        case let .plaintextHex(hex): format.secretKey = hex
        case let .sealed(sealed): format.crypto = Self.crypto(sealed)
        }
        return format.encoded()
    }

    /// The secret key; `passphrase` is needed only for an encrypted file. A plaintext file that other users can
    /// access (`isExposed`) is refused unless `allowExposedPlaintext`, as ssh refuses such private keys: anyone
    /// who can read it holds the key.
    public func secretKey(passphrase: [UInt8]?, allowExposedPlaintext: Bool = false) throws(KeyFileError) -> SecretKey {
        let key: SecretKey
        switch secret {
        case let .plaintextHex(hex):
            if isExposed && !allowExposedPlaintext { throw .exposedPlaintext(mode: fileMode ?? 0) }
            key = try Self.plaintextKey(hex: hex)
        case let .sealed(sealed):
            guard let passphrase else { throw .passphraseRequired }
            key = try sealed.open(passphrase: passphrase, associatedData: Array(address.description.utf8))
        }
        guard key.publicKey == publicKey else {
            throw .keyMismatch("the secret key does not belong to public key \(publicKey)")
        }
        return key
    }

    private static func plaintextKey(hex: String) throws(KeyFileError) -> SecretKey {
        try SecureMemory.withScratch(32) { (scratch) throws(KeyFileError) in
            guard Hex.decode(hex, into: scratch) else { throw .malformed("field 'secret_key' is not 64 hex digits") }
            do {
                return try SecretKey(secret: UnsafeRawBufferPointer(scratch))
            } catch {
                throw .keyMismatch("field 'secret_key' is not a valid secp256k1 secret key")
            }
        }
    }

    private static func publicKey(hex: String) throws(KeyFileError) -> PublicKey {
        guard let bytes = Hex.decode(hex), bytes.count == 32 else {
            throw .malformed("field 'public_key' is not 64 hex digits")
        }
        do { return try PublicKey(bytes: bytes) } catch { throw .malformed("field 'public_key': \(error)") }
    }

    private static func sealedSecret(_ crypto: KeyFileFormat.Crypto) throws(KeyFileError) -> SealedSecret {
        guard crypto.kdf == "scrypt" else { throw .unsupportedEncryption("kdf '\(crypto.kdf)' (expected 'scrypt')") }
        guard crypto.cipher == "aes-256-gcm" else {
            throw .unsupportedEncryption("cipher '\(crypto.cipher)' (expected 'aes-256-gcm')")
        }
        return SealedSecret(
            parameters: try ScryptParameters(n: crypto.n, r: crypto.r, p: crypto.p),
            salt: try hexField("crypto.salt", crypto.salt, lengths: 16...64),
            nonce: try hexField("crypto.nonce", crypto.nonce, length: SealedSecret.nonceLength),
            ciphertext: try hexField("crypto.ciphertext", crypto.ciphertext, length: SealedSecret.secretLength),
            tag: try hexField("crypto.tag", crypto.tag, length: SealedSecret.tagLength))
    }

    private static func hexField(_ name: String, _ hex: String, length: Int) throws(KeyFileError) -> [UInt8] {
        try hexField(name, hex, lengths: length...length)
    }

    private static func hexField(
        _ name: String, _ hex: String, lengths: ClosedRange<Int>
    ) throws(KeyFileError) -> [UInt8] {
        guard let bytes = Hex.decode(hex), lengths.contains(bytes.count) else {
            let (low, high) = (lengths.lowerBound, lengths.upperBound)
            throw .malformed("field '\(name)' is not hex of \(low == high ? "\(low)" : "\(low) to \(high)") bytes")
        }
        return bytes
    }

    private static func crypto(_ sealed: SealedSecret) -> KeyFileFormat.Crypto {
        KeyFileFormat.Crypto(
            kdf: "scrypt", n: sealed.parameters.n, r: sealed.parameters.r, p: sealed.parameters.p,
            salt: Hex.encode(sealed.salt), cipher: "aes-256-gcm", nonce: Hex.encode(sealed.nonce),
            ciphertext: Hex.encode(sealed.ciphertext), tag: Hex.encode(sealed.tag))
    }
}
