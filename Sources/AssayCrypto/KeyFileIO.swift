#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// POSIX file access for key files: bounded reads with a precise error per failure, and atomic writes
/// (a 0600 temporary file in the same directory, synced, then moved into place).
enum KeyFileIO {
    /// A key file is well under 1 KiB; anything larger is not one.
    static let maximumBytes = 64 * 1024

    /// The file's bytes and its permission bits (`st_mode & 0o7777`).
    static func contents(of path: String) throws(KeyFileError) -> (bytes: [UInt8], mode: UInt32) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .fileMissing(path: path) }
            throw .unreadable(path: path, reason: describe(code))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(path: path, reason: describe(errno)) }
        if info.st_mode & S_IFMT == S_IFDIR { throw .isDirectory(path: path) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .unreadable(path: path, reason: "not a regular file") }
        guard info.st_size <= maximumBytes else { throw .malformed("the file is larger than 64 KiB") }
        return (try readAll(fd, path: path), UInt32(info.st_mode) & 0o7777)
    }

    private static func readAll(_ fd: Int32, path: String) throws(KeyFileError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, reason: describe(errno))
            }
            bytes += chunk[..<count]
            guard bytes.count <= maximumBytes else { throw .malformed("the file is larger than 64 KiB") }
        }
    }

    static func writeAtomically(_ bytes: [UInt8], to path: String, replacing: Bool) throws(KeyFileError) {
        if isDirectory(path) { throw .isDirectory(path: path) }
        let temporary = path + ".tmp-" + Hex.encode((try? OSRandom.bytes(6)) ?? [])
        do {
            try writeSynced(bytes, to: temporary, for: path)
            try moveIntoPlace(temporary, path, replacing: replacing)
        } catch {
            unlink(temporary)
            throw error
        }
        syncDirectory(of: path)
    }

    /// Errors name `path`, the file the operator asked for, rather than the temporary name.
    private static func writeSynced(_ bytes: [UInt8], to temporary: String, for path: String) throws(KeyFileError) {
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .writeFailed(path: path, reason: describe(errno)) }
        defer { close(fd) }
        // The umask can only clear bits, but be explicit: a key file is readable by its owner alone.
        guard fchmod(fd, 0o600) == 0 else { throw .writeFailed(path: path, reason: describe(errno)) }
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(path: path, reason: describe(errno))
            }
            offset += count
        }
        guard fsync(fd) == 0 else { throw .writeFailed(path: path, reason: describe(errno)) }
    }

    /// `link` fails if the target exists, which makes "never overwrite a key" atomic; `rename` replaces.
    private static func moveIntoPlace(_ temporary: String, _ path: String, replacing: Bool) throws(KeyFileError) {
        if replacing {
            guard rename(temporary, path) == 0 else { throw .writeFailed(path: path, reason: describe(errno)) }
            return
        }
        guard link(temporary, path) == 0 else {
            let code = errno
            if code == EEXIST { throw .alreadyExists(path: path) }
            throw .writeFailed(path: path, reason: describe(code))
        }
        unlink(temporary)
    }

    /// Makes the new directory entry durable; failure here leaves a complete file, so it is not an error.
    private static func syncDirectory(of path: String) {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    private static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
