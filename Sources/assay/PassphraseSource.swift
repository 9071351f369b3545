import AssayCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where the CLI gets a key file passphrase: a file, else the environment, else the terminal without echo.
enum PassphraseSource {
    static let environmentVariable = "ASSAY_PASSPHRASE"

    /// With `confirm`, a passphrase typed on the terminal is asked for twice (for a new key file).
    static func obtain(file: String?, confirm: Bool) throws -> [UInt8] {
        if let file { return try fromFile(file) }
        if let value = ProcessInfo.processInfo.environment[environmentVariable] {
            guard !value.isEmpty else { throw CommandFailure("\(environmentVariable) is set but empty") }
            return Array(value.utf8)
        }
        guard isatty(STDIN_FILENO) == 1 else {
            throw CommandFailure(
                "a passphrase is needed: use --passphrase-file FILE or set \(environmentVariable) "
                    + "(standard input is not a terminal to prompt on)")
        }
        var first = try prompt("Passphrase: ")
        guard confirm else { return first }
        var second = try prompt("Repeat passphrase: ")
        defer { SecureMemory.wipe(&second) }
        guard first == second else {
            SecureMemory.wipe(&first)
            throw CommandFailure("the passphrases do not match")
        }
        return first
    }

    private static func fromFile(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure("cannot read passphrase file '\(path)'")
        }
        var bytes = Array(data)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else { throw CommandFailure("passphrase file '\(path)' is empty") }
        return bytes
    }

    /// Reads one line from the terminal with echo turned off, restoring the terminal afterwards.
    private static func prompt(_ text: String) throws -> [UInt8] {
        FileHandle.standardError.write(Data(text.utf8))
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { throw CommandFailure("cannot configure the terminal") }
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        let line = readLine(strippingNewline: true)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
        FileHandle.standardError.write(Data("\n".utf8))
        guard let line, !line.isEmpty else { throw CommandFailure("no passphrase entered") }
        return Array(line.utf8)
    }
}
