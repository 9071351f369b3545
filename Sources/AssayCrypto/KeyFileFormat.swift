#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The key file's JSON, field for field. This is a local file format only: it is never hashed or signed.
///
/// ```
/// { "version": 1, "address": "assay1...", "public_key": "<64 hex>",
///   "secret_key": "<64 hex>"                      -- only in plaintext files
///   "crypto": { "kdf": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": "<32 hex>",
///               "cipher": "aes-256-gcm", "nonce": "<24 hex>", "ciphertext": "<64 hex>", "tag": "<32 hex>" } }
/// ```
/// The GCM associated data is the UTF-8 of the address in its canonical lower-case form, so a key file
/// whose address was edited does not decrypt.
struct KeyFileFormat: Codable {
    var version: Int
    var address: String
    var publicKey: String
    var secretKey: String?
    var crypto: Crypto?

    struct Crypto: Codable {
        var kdf: String
        var n: UInt64
        var r: UInt64
        var p: UInt64
        var salt: String
        var cipher: String
        var nonce: String
        var ciphertext: String
        var tag: String
    }

    /// Read first, so that a future version with other fields is reported as a version, not as a missing field.
    struct VersionProbe: Decodable {
        var version: Int
    }

    enum CodingKeys: String, CodingKey {
        case version, address, publicKey = "public_key", secretKey = "secret_key", crypto
    }

    static func decode(_ json: [UInt8]) throws(KeyFileError) -> KeyFileFormat {
        guard !json.isEmpty else { throw .malformed("the file is empty") }
        let data = Data(json)
        let decoder = JSONDecoder()
        let probe: VersionProbe
        do { probe = try decoder.decode(VersionProbe.self, from: data) } catch { throw malformed(error) }
        guard probe.version == KeyFile.currentVersion else { throw .unsupportedVersion(probe.version) }
        do { return try decoder.decode(KeyFileFormat.self, from: data) } catch { throw malformed(error) }
    }

    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain strings and integers cannot fail.
        let data = try! encoder.encode(self)
        return Array(data) + [UInt8(ascii: "\n")]
    }

    /// Turns Foundation's decoding errors into one line an operator can act on.
    private static func malformed(_ error: any Error) -> KeyFileError {
        guard let error = error as? DecodingError else { return .malformed("\(error)") }
        switch error {
        case let .keyNotFound(key, context):
            return .malformed("missing field '\(path(context.codingPath + [key]))'")
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            return .malformed("field '\(path(context.codingPath))' has the wrong type")
        case let .dataCorrupted(context) where context.codingPath.isEmpty:
            return .malformed("not valid JSON (truncated or corrupted?)")
        case let .dataCorrupted(context):
            return .malformed("field '\(path(context.codingPath))' is invalid")
        @unknown default:
            return .malformed("\(error)")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map(\.stringValue).joined(separator: ".")
    }
}
