/// Why a key file could not be read, unlocked or written. Descriptions are written for the operator.
public enum KeyFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case fileMissing(path: String)
    case isDirectory(path: String)
    case unreadable(path: String, reason: String)
    case alreadyExists(path: String)
    case writeFailed(path: String, reason: String)
    /// The bytes are not a key file: bad JSON (for example a truncated file), a missing field, bad hex.
    case malformed(String)
    case unsupportedVersion(Int)
    /// A kdf or cipher this build does not know, or scrypt costs outside the accepted bounds.
    case unsupportedEncryption(String)
    case passphraseRequired
    case emptyPassphrase
    /// The AES-GCM tag did not verify: the passphrase is wrong or the encrypted fields were altered.
    case wrongPassphrase
    /// The address, public key and secret key in the file do not belong together.
    case keyMismatch(String)
    case cryptoFailure(String)
    /// A plaintext key file that its group or other users may access (permission bits `mode`).
    case exposedPlaintext(mode: UInt32)

    public var description: String {
        switch self {
        case let .fileMissing(path): "key file '\(path)' does not exist"
        case let .isDirectory(path): "'\(path)' is a directory, not a key file"
        case let .unreadable(path, reason): "cannot read key file '\(path)': \(reason)"
        case let .alreadyExists(path): "'\(path)' already exists; refusing to overwrite a key file"
        case let .writeFailed(path, reason): "cannot write key file '\(path)': \(reason)"
        case let .malformed(reason): "not a valid key file: \(reason)"
        case let .unsupportedVersion(version): "unsupported key file version \(version) (this build reads version 1)"
        case let .unsupportedEncryption(reason): "unsupported key file encryption: \(reason)"
        case .passphraseRequired: "the key file is encrypted and no passphrase was given"
        case .emptyPassphrase: "the passphrase is empty"
        case .wrongPassphrase: "wrong passphrase (or the encrypted key was altered)"
        case let .keyMismatch(reason): "key file is inconsistent: \(reason)"
        case let .cryptoFailure(reason): "OpenSSL failed: \(reason)"
        case let .exposedPlaintext(mode):
            "refusing a plaintext key file that other users can access (mode 0\(String(mode, radix: 8))): chmod 600 it"
        }
    }
}
