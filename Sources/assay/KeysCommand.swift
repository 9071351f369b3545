import ArgumentParser
import AssayCrypto
import Foundation

/// `assay keys new|show|list`: key files for accounts, validators and providers.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create and inspect key files.",
        discussion: """
            Encrypted key files need a passphrase: from --passphrase-file, else the environment variable \
            \(PassphraseSource.environmentVariable), else a prompt on the terminal.
            """,
        subcommands: [New.self, Show.self, List.self]
    )
}

/// A failure reported as one line on stderr with exit code 1 (ArgumentParser prints "Error: <description>").
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}

extension Keys {
    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Generate a key and write it to a new key file.")

        @Option(help: "The key file to create (an existing file is never overwritten).")
        var out: String

        @Flag(help: "Store the secret key unencrypted, readable by anyone who can read the file (devnets only).")
        var insecurePlaintext = false

        @Option(help: "Read the passphrase from this file (a trailing newline is ignored).")
        var passphraseFile: String?

        func validate() throws {
            if insecurePlaintext && passphraseFile != nil {
                throw ValidationError("--insecure-plaintext and --passphrase-file cannot be used together")
            }
        }

        func run() throws {
            let key = try SecretKey.generate()
            let file: KeyFile
            if insecurePlaintext {
                file = try KeyFile(key: key, protection: .insecurePlaintext)
            } else {
                var passphrase = try PassphraseSource.obtain(file: passphraseFile, confirm: true)
                defer { SecureMemory.wipe(&passphrase) }
                file = try KeyFile(key: key, protection: .passphrase(passphrase))
            }
            try file.write(to: out)
            printSummary(of: file, path: out)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a key file's address and x-only public key, after checking that the key unlocks.")

        @Argument(help: "The key file.")
        var file: String

        @Option(help: "Read the passphrase from this file (a trailing newline is ignored).")
        var passphraseFile: String?

        func run() throws {
            let (keyFile, _) = try unlockKeyFile(file, passphraseFile: passphraseFile)
            printSummary(of: keyFile, path: file)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the key files (*.json) in a directory: address and file name, sorted by name.")

        @Argument(help: "The directory to list.")
        var directory: String

        func run() throws {
            let listing = try Self.listing(of: directory)
            for line in listing.lines { print(line) }
            for note in listing.skipped { printError(note) }
        }

        /// One line per key file (address, file name, protection), sorted by file name, and a note for each
        /// `.json` file that is not a readable key file.
        static func listing(of directory: String) throws -> (lines: [String], skipped: [String]) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
                throw CommandFailure("directory '\(directory)' does not exist")
            }
            guard isDirectory.boolValue else { throw CommandFailure("'\(directory)' is not a directory") }
            let names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".json") }
                .sorted()
            var lines: [String] = []
            var skipped: [String] = []
            for name in names {
                do {
                    let keyFile = try KeyFile.read(from: directory + "/" + name)
                    lines.append("\(keyFile.address)  \(name)  \(keyFile.isEncrypted ? "encrypted" : "plaintext")")
                } catch {
                    skipped.append("skipping \(name): \(error)")
                }
            }
            return (lines, skipped)
        }
    }
}

/// Set to 1 to use a plaintext key file that other users can access (refused otherwise, as ssh does).
let allowExposedKeyVariable = "ASSAY_ALLOW_EXPOSED_KEY"

/// Reads a key file and decrypts its secret key, asking for the passphrase only when the file is encrypted.
/// A plaintext file that other users can access is refused unless `allowExposed` (by default, the environment
/// variable `ASSAY_ALLOW_EXPOSED_KEY=1`); an encrypted one is used with a warning.
func unlockKeyFile(
    _ path: String, passphraseFile: String?,
    allowExposed: Bool = ProcessInfo.processInfo.environment[allowExposedKeyVariable] == "1"
) throws -> (file: KeyFile, key: SecretKey) {
    let keyFile = try readKeyFile(path)
    var passphrase: [UInt8]?
    if keyFile.isEncrypted { passphrase = try PassphraseSource.obtain(file: passphraseFile, confirm: false) }
    defer { if passphrase != nil { SecureMemory.wipe(&passphrase!) } }
    let key: SecretKey
    do {
        key = try keyFile.secretKey(passphrase: passphrase, allowExposedPlaintext: allowExposed)
    } catch {
        let hint =
            if case .exposedPlaintext = error { " (or set \(allowExposedKeyVariable)=1 to use it anyway)" } else { "" }
        throw CommandFailure("\(path): \(error)\(hint)")
    }
    if keyFile.isExposed {
        let mode = String(keyFile.fileMode ?? 0, radix: 8)
        printError("warning: key file \(path) is accessible to other users (mode 0\(mode)): chmod 600 it")
    }
    return (keyFile, key)
}

private func readKeyFile(_ path: String) throws(CommandFailure) -> KeyFile {
    do {
        return try KeyFile.read(from: path)
    } catch {
        switch error {
        case .fileMissing, .isDirectory, .unreadable: throw CommandFailure("\(error)")
        default: throw CommandFailure("\(path): \(error)")
        }
    }
}

private func printSummary(of file: KeyFile, path: String) {
    print("address: \(file.address)")
    print("public_key: \(Hex.encode(file.publicKey.bytes))")
    print("file: \(path) (\(file.isEncrypted ? "encrypted: scrypt + aes-256-gcm" : "PLAINTEXT, devnet only"))")
}

private func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
