import Foundation
import Testing
@testable import AssayCrypto

/// A fresh directory under the system temporary directory, removed when the test ends.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "assay-keyfile-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

@Suite("Key files")
struct KeyFileTests {
    /// Cheap scrypt costs so that the tests stay fast; the file records whatever costs were used.
    static let fast = try! ScryptParameters(n: 1 << 10, r: 8, p: 1)
    static let passphrase = Array("correct horse battery staple".utf8)

    @Test func plaintextRoundTrip() throws {
        let directory = try TemporaryDirectory()
        let key = try SecretKey.generate()
        try KeyFile(key: key, protection: .insecurePlaintext).write(to: directory.file("k.json"))

        let file = try KeyFile.read(from: directory.file("k.json"))
        #expect(!file.isEncrypted)
        #expect(file.publicKey == key.publicKey)
        #expect(file.address == Address(publicKey: key.publicKey))
        let loaded = try file.secretKey(passphrase: nil)
        #expect(loaded.withSecretBytes { Array($0) } == key.withSecretBytes { Array($0) })
    }

    @Test func encryptedRoundTrip() throws {
        let directory = try TemporaryDirectory()
        let key = try SecretKey.generate()
        let written = try KeyFile(key: key, protection: .passphrase(Self.passphrase, Self.fast))
        try written.write(to: directory.file("k.json"))

        let file = try KeyFile.read(from: directory.file("k.json"))
        #expect(file.isEncrypted)
        #expect(file.address == written.address)
        let loaded = try file.secretKey(passphrase: Self.passphrase)
        let message = Array("hello".utf8)
        #expect(key.publicKey.verify(try loaded.sign(message), for: message))
    }

    @Test func encryptedFileHasTheDocumentedFieldsAndNoSecret() throws {
        let key = try SecretKey.generate()
        let file = try KeyFile(key: key, protection: .passphrase(Self.passphrase, Self.fast))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(file.json)) as? [String: Any])
        #expect(Set(object.keys) == ["version", "address", "public_key", "crypto"])
        #expect(object["version"] as? Int == 1)
        #expect(object["public_key"] as? String == Hex.encode(key.publicKey.bytes))
        let crypto = try #require(object["crypto"] as? [String: Any])
        #expect(Set(crypto.keys) == ["kdf", "n", "r", "p", "salt", "cipher", "nonce", "ciphertext", "tag"])
        #expect(crypto["kdf"] as? String == "scrypt")
        #expect(crypto["cipher"] as? String == "aes-256-gcm")
        #expect(crypto["n"] as? Int == 1024)
        let secretHex = key.withSecretBytes { Hex.encode($0) }
        #expect(!String(decoding: file.json, as: UTF8.self).contains(secretHex))
    }

    @Test func theStandardCostIsScryptN15() throws {
        #expect(ScryptParameters.standard == (try ScryptParameters(n: 32768, r: 8, p: 1)))
    }

    @Test func wrongPassphraseIsReported() throws {
        let file = try KeyFile(key: try SecretKey.generate(), protection: .passphrase(Self.passphrase, Self.fast))
        #expect(throws: KeyFileError.wrongPassphrase) { try file.secretKey(passphrase: Array("guess".utf8)) }
        #expect(throws: KeyFileError.passphraseRequired) { try file.secretKey(passphrase: nil) }
    }

    @Test func emptyPassphraseIsRefusedWhenWriting() throws {
        #expect(throws: KeyFileError.emptyPassphrase) {
            try KeyFile(key: try SecretKey.generate(), protection: .passphrase([], Self.fast))
        }
    }

    @Test func writtenFileIsOwnerOnly() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("k.json")
        try KeyFile(key: try SecretKey.generate(), protection: .insecurePlaintext).write(to: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(leftovers == ["k.json"])
    }

    /// Issue 15: a world-readable plaintext key file loaded without a word. Like ssh, refuse it.
    @Test func aPlaintextFileOthersCanAccessIsRefusedUnlessAllowed() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("k.json")
        let key = try SecretKey.generate()
        try KeyFile(key: key, protection: .insecurePlaintext).write(to: path)
        #expect(try !KeyFile.read(from: path).isExposed)
        for mode in [0o644, 0o640, 0o604, 0o620, 0o601] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
            let file = try KeyFile.read(from: path)
            #expect(file.isExposed && file.fileMode == UInt32(mode))
            #expect(throws: KeyFileError.exposedPlaintext(mode: UInt32(mode))) { try file.secretKey(passphrase: nil) }
            #expect(try file.secretKey(passphrase: nil, allowExposedPlaintext: true).publicKey == key.publicKey)
        }
        #expect("\(KeyFileError.exposedPlaintext(mode: 0o644))".contains("(mode 0644): chmod 600 it"))
    }

    @Test func anEncryptedFileOthersCanAccessStillOpensWithItsPassphrase() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("k.json")
        let key = try SecretKey.generate()
        try KeyFile(key: key, protection: .passphrase(Self.passphrase, Self.fast)).write(to: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let file = try KeyFile.read(from: path)
        #expect(file.isExposed)
        #expect(try file.secretKey(passphrase: Self.passphrase).publicKey == key.publicKey)
    }

    @Test func anExistingFileIsNotOverwrittenUnlessAsked() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("k.json")
        let first = try KeyFile(key: try SecretKey.generate(), protection: .insecurePlaintext)
        let second = try KeyFile(key: try SecretKey.generate(), protection: .insecurePlaintext)
        try first.write(to: path)
        #expect(throws: KeyFileError.alreadyExists(path: path)) { try second.write(to: path) }
        #expect(try KeyFile.read(from: path).address == first.address)
        try second.write(to: path, replacing: true)
        #expect(try KeyFile.read(from: path).address == second.address)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["k.json"])
    }

    @Test func missingFileAndDirectoryAreNamed() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.file("nope.json")
        #expect(throws: KeyFileError.fileMissing(path: missing)) { try KeyFile.read(from: missing) }
        #expect(throws: KeyFileError.isDirectory(path: directory.path)) { try KeyFile.read(from: directory.path) }
        let key = try KeyFile(key: try SecretKey.generate(), protection: .insecurePlaintext)
        #expect(throws: KeyFileError.isDirectory(path: directory.path)) { try key.write(to: directory.path) }
    }

    @Test func truncatedFilesAreMalformedAtEveryLength() throws {
        let json = try KeyFile(key: try SecretKey.generate(), protection: .passphrase(Self.passphrase, Self.fast)).json
        // The last byte is a newline; every shorter prefix is broken JSON.
        for length in 0..<(json.count - 1) {
            #expect(throws: KeyFileError.self) { try KeyFile(json: Array(json[..<length])) }
        }
        #expect(throws: KeyFileError.malformed("the file is empty")) { try KeyFile(json: []) }
        #expect(throws: KeyFileError.malformed("not valid JSON (truncated or corrupted?)")) {
            try KeyFile(json: Array(json[..<(json.count / 2)]))
        }
    }

    @Test func truncatedFileOnDiskSaysSo() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("k.json")
        let json = try KeyFile(key: try SecretKey.generate(), protection: .insecurePlaintext).json
        #expect(FileManager.default.createFile(atPath: path, contents: Data(json[..<40])))
        let error = try #require(throws: KeyFileError.self) { try KeyFile.read(from: path) }
        #expect(error.description.contains("truncated"))
    }

    @Test func unsupportedVersionIsNamed() throws {
        let json = #"{"version": 2, "something": "new"}"#
        #expect(throws: KeyFileError.unsupportedVersion(2)) { try KeyFile(json: Array(json.utf8)) }
    }

    @Test func missingFieldsAreNamed() throws {
        let json = #"{"version": 1, "address": "x"}"#
        #expect(throws: KeyFileError.malformed("missing field 'public_key'")) { try KeyFile(json: Array(json.utf8)) }
    }

    @Test func addressOfAnotherKeyIsAMismatch() throws {
        let file = try KeyFile(key: try SecretKey.generate(), protection: .insecurePlaintext)
        let other = Address(publicKey: try SecretKey.generate().publicKey)
        let edited = try edit(file.json) { $0["address"] = other.description }
        #expect(throws: KeyFileError.self) { try KeyFile(json: edited) }
        let error = try #require(throws: KeyFileError.self) { try KeyFile(json: edited) }
        guard case .keyMismatch = error else { Issue.record("expected keyMismatch, got \(error)"); return }
    }

    @Test func secretOfAnotherKeyIsAMismatch() throws {
        let file = try KeyFile(key: try SecretKey.generate(), protection: .insecurePlaintext)
        let otherSecret = try SecretKey.generate().withSecretBytes { Hex.encode($0) }
        let edited = try KeyFile(json: try edit(file.json) { $0["secret_key"] = otherSecret })
        let error = try #require(throws: KeyFileError.self) { try edited.secretKey(passphrase: nil) }
        guard case .keyMismatch = error else { Issue.record("expected keyMismatch, got \(error)"); return }
    }

    @Test func alteredCiphertextFailsTheTag() throws {
        let file = try KeyFile(key: try SecretKey.generate(), protection: .passphrase(Self.passphrase, Self.fast))
        let edited = try KeyFile(json: try edit(file.json) { object in
            var crypto = object["crypto"] as! [String: Any]
            var ciphertext = Hex.decode(crypto["ciphertext"] as! String)!
            ciphertext[0] ^= 1
            crypto["ciphertext"] = Hex.encode(ciphertext)
            object["crypto"] = crypto
        })
        #expect(throws: KeyFileError.wrongPassphrase) { try edited.secretKey(passphrase: Self.passphrase) }
    }

    /// The address is the GCM associated data: moving the encrypted secret under another identity fails the tag.
    @Test func encryptedSecretUnderAnotherIdentityDoesNotDecrypt() throws {
        let file = try KeyFile(key: try SecretKey.generate(), protection: .passphrase(Self.passphrase, Self.fast))
        let other = try SecretKey.generate().publicKey
        let edited = try KeyFile(json: try edit(file.json) { object in
            object["address"] = Address(publicKey: other).description
            object["public_key"] = Hex.encode(other.bytes)
        })
        #expect(throws: KeyFileError.wrongPassphrase) { try edited.secretKey(passphrase: Self.passphrase) }
    }

    @Test func hostileScryptCostsAreRefusedBeforeRunning() throws {
        let file = try KeyFile(key: try SecretKey.generate(), protection: .passphrase(Self.passphrase, Self.fast))
        for (n, r) in [(1 << 30, 8), (1000, 8), (1 << 20, 16), (1 << 16, 1), (1 << 10, 0)] {
            let edited = try edit(file.json) { object in
                var crypto = object["crypto"] as! [String: Any]
                crypto["n"] = n
                crypto["r"] = r
                object["crypto"] = crypto
            }
            let error = try #require(throws: KeyFileError.self) { try KeyFile(json: edited) }
            guard case .unsupportedEncryption = error else { Issue.record("got \(error)"); continue }
        }
    }

    @Test func unknownCipherIsRefused() throws {
        let file = try KeyFile(key: try SecretKey.generate(), protection: .passphrase(Self.passphrase, Self.fast))
        let edited = try edit(file.json) { object in
            var crypto = object["crypto"] as! [String: Any]
            crypto["cipher"] = "rot13"
            object["crypto"] = crypto
        }
        #expect(throws: KeyFileError.unsupportedEncryption("cipher 'rot13' (expected 'aes-256-gcm')")) {
            try KeyFile(json: edited)
        }
    }

    private func edit(_ json: [UInt8], _ change: (inout [String: Any]) -> Void) throws -> [UInt8] {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        change(&object)
        return Array(try JSONSerialization.data(withJSONObject: object))
    }
}
