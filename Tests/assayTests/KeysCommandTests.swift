import AssayCrypto
import Foundation
import Testing
@testable import assay

/// The `assay keys` commands run in-process, as `main` would run them after parsing.
@Suite("assay keys")
final class KeysCommandTests {
    let directory = NSTemporaryDirectory() + "assay-keys-" + UUID().uuidString

    init() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    private func run(_ arguments: [String]) throws {
        var command = try Assay.parseAsRoot(arguments)
        try command.run()
    }

    /// The message the command would print after "Error: " (ArgumentParser prints the error's description).
    private func failure(_ arguments: [String]) throws -> String {
        let error = try #require(throws: (any Error).self) { try run(arguments) }
        return String(describing: error)
    }

    private func passphraseFile(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func plaintextKeyIsCreatedAndShown() throws {
        let path = directory + "/k.json"
        try run(["keys", "new", "--out", path, "--insecure-plaintext"])
        let file = try KeyFile.read(from: path)
        #expect(!file.isEncrypted)
        #expect(file.address.description.hasPrefix("assay1"))
        try run(["keys", "show", path])
        #expect(try failure(["keys", "new", "--out", path, "--insecure-plaintext"]).contains("already exists"))
    }

    @Test func encryptedKeyNeedsTheRightPassphrase() throws {
        let path = directory + "/e.json"
        let right = try passphraseFile("right", "open sesame\n")
        let wrong = try passphraseFile("wrong", "open says me\n")
        try run(["keys", "new", "--out", path, "--passphrase-file", right])
        #expect(try KeyFile.read(from: path).isEncrypted)
        try run(["keys", "show", path, "--passphrase-file", right])
        #expect(try failure(["keys", "show", path, "--passphrase-file", wrong]).contains("wrong passphrase"))
    }

    @Test func aPlaintextKeyOthersCanReadIsRefusedUnlessAllowed() throws {
        let path = directory + "/open.json"
        try run(["keys", "new", "--out", path, "--insecure-plaintext"])
        try run(["keys", "show", path])
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let message = try failure(["keys", "show", path])
        #expect(message.contains("other users can access (mode 0644)") && message.contains("ASSAY_ALLOW_EXPOSED_KEY=1"))
        let (_, key) = try unlockKeyFile(path, passphraseFile: nil, allowExposed: true)
        #expect(key.publicKey == (try KeyFile.read(from: path)).publicKey)
    }

    @Test func unreadableKeyFilesAreNamedClearly() throws {
        let truncated = directory + "/t.json"
        let json = try KeyFile(key: try SecretKey.generate(), protection: .insecurePlaintext).json
        try Data(json.prefix(60)).write(to: URL(fileURLWithPath: truncated))
        #expect(try failure(["keys", "show", truncated]).contains("truncated"))
        #expect(try failure(["keys", "show", directory]).contains("is a directory"))
        #expect(try failure(["keys", "show", directory + "/none.json"]).contains("does not exist"))
    }

    @Test func plaintextAndPassphraseFileExcludeEachOther() {
        #expect(throws: (any Error).self) {
            try Assay.parseAsRoot(["keys", "new", "--out", "x", "--insecure-plaintext", "--passphrase-file", "p"])
        }
    }

    @Test func listShowsKeyFilesSortedByName() throws {
        for name in ["b.json", "a.json"] {
            try run(["keys", "new", "--out", directory + "/" + name, "--insecure-plaintext"])
        }
        try Data("{}".utf8).write(to: URL(fileURLWithPath: directory + "/c.json"))
        try Data("notes".utf8).write(to: URL(fileURLWithPath: directory + "/readme.txt"))
        let listing = try Keys.List.listing(of: directory)
        #expect(listing.lines.count == 2)
        #expect(listing.lines[0].hasSuffix("a.json  plaintext"))
        #expect(listing.lines[1].hasSuffix("b.json  plaintext"))
        #expect(listing.lines.allSatisfy { $0.hasPrefix("assay1") })
        #expect(listing.skipped == ["skipping c.json: not a valid key file: missing field 'version'"])
    }
}
