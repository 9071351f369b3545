#if canImport(Glibc)
import Glibc
#endif

/// The few POSIX file operations the store needs, each turning errno into a `BlobError` (ENOSPC and EDQUOT
/// become `diskFull`, so a full disk reads as such rather than as an anonymous I/O error).
enum FileIO {
    static func failure(_ operation: String, _ path: String) -> BlobError {
        let code = errno
        return code == ENOSPC || code == EDQUOT ? .diskFull(path: path) : .io(operation: operation, path: path, errno: code)
    }

    /// Writes a file so that after a crash of the machine it is either absent or complete: `writeAtomically`
    /// with an fsync before the rename, then an fsync of the directory so the rename itself is durable.
    static func writeDurably(
        _ path: String, directory: String, temporary: String, _ fill: (Descriptor) throws(BlobError) -> Void
    ) throws(BlobError) {
        try writeAtomically(path, temporary: temporary) { (file) throws(BlobError) in
            try fill(file)
            try file.sync()
        }
        try syncDirectory(directory)
    }

    /// Writes a file under a temporary name and renames it: after a crash of the process (the page cache
    /// survives) it is absent or complete, but after a power loss it may be torn, so callers must be able to
    /// detect that. On failure nothing is left behind.
    /// Writes all of `bytes` to `fd` at `offset`, resuming after short writes and interruptions.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, path: String)
        throws(BlobError)
    {
        var done = 0
        while done < bytes.count {
            let written = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("write", path)
            }
            done += written
        }
    }

    static func writeAtomically(
        _ path: String, temporary: String, _ fill: (Descriptor) throws(BlobError) -> Void
    ) throws(BlobError) {
        do throws(BlobError) {
            try fill(try Descriptor(creating: temporary))
            try rename(temporary, to: path)
        } catch {
            unlink(temporary)
            throw error
        }
    }

    static func rename(_ from: String, to: String) throws(BlobError) {
        guard Glibc.rename(from, to) == 0 else { throw failure("rename", to) }
    }

    static func syncDirectory(_ path: String) throws(BlobError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure("fsync", path) }
    }

    /// Creates a directory (and makes its entry durable); an existing one is fine.
    static func makeDirectory(_ path: String, parent: String) throws(BlobError) {
        guard mkdir(path, 0o755) == 0 else {
            if errno == EEXIST { return }
            throw failure("mkdir", path)
        }
        try syncDirectory(parent)
    }

    /// The names in a directory other than `.` and `..`, sorted (so start-up does not depend on readdir order).
    static func list(_ path: String) throws(BlobError) -> [String] {
        guard let dir = opendir(path) else { throw failure("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The size of a regular file, or nil if there is none at `path`.
    static func fileSize(_ path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return UInt64(info.st_size)
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    /// Removes a file if present (a missing one is not an error: removal is idempotent).
    static func remove(_ path: String) throws(BlobError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw failure("unlink", path) }
    }

    /// Removes a directory of plain files.
    static func removeTree(_ path: String) throws(BlobError) {
        guard isDirectory(path) else { return }
        for name in try list(path) { try remove(path + "/" + name) }
        guard rmdir(path) == 0 || errno == ENOENT else { throw failure("rmdir", path) }
    }
}

/// An open file descriptor, closed when the value is released. Positioned reads and writes only, so threads may
/// share one.
final class Descriptor: Sendable {
    let fd: Int32
    let path: String

    init(reading path: String) throws(BlobError) {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        self.path = path
        guard fd >= 0 else { throw FileIO.failure("open", path) }
    }

    init(creating path: String) throws(BlobError) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        self.path = path
        guard fd >= 0 else { throw FileIO.failure("create", path) }
    }

    /// Opens a file for reading and writing, creating it if needed, and sets its size to `size` (a sparse extension
    /// reserves no space).
    init(updating path: String, size: UInt64) throws(BlobError) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        self.path = path
        guard fd >= 0 else { throw FileIO.failure("open", path) }
        guard ftruncate(fd, off_t(size)) == 0 else { throw FileIO.failure("truncate", path) }
    }

    deinit { close(fd) }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: [UInt8], at offset: UInt64 = 0) throws(BlobError) {
        let failure = bytes.withUnsafeBytes { bytes -> BlobError? in
            do throws(BlobError) { try FileIO.writeAll(fd, bytes, at: offset, path: path) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// Reads exactly `count` bytes at `offset`; a file that ends early is an I/O error (it was cut short).
    func read(count: Int, at offset: UInt64) throws(BlobError) -> [UInt8] {
        var failure: BlobError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let got = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if got < 0 && errno == EINTR { continue }
                if got <= 0 {
                    failure = got == 0 ? .io(operation: "read (file ends early)", path: path, errno: EIO) : FileIO.failure("read", path)
                    break
                }
                done += got
            }
            initialized = done
        }
        if let failure { throw failure }
        return bytes
    }

    func sync() throws(BlobError) {
        guard fsync(fd) == 0 else { throw FileIO.failure("fsync", path) }
    }
}

/// Writes of whole aligned chunks that bypass the page cache (O_DIRECT): the device reads the bytes from an aligned
/// buffer of ours. A blob arriving at hundreds of MB/s otherwise spends most of its time having the kernel find
/// fresh page-cache pages for it (on virtual machines whose free memory goes back to the host, each one faults in
/// from the host), for data that is read later, if at all, and in ranges. Reads stay buffered (the kernel keeps the
/// two coherent).
final class DirectWriter: Sendable {
    /// Offsets and lengths must be multiples of the device's logical block; 4 KiB covers every common one.
    static let alignment = 4096
    /// `O_DIRECT` from `<fcntl.h>`, which Swift's Glibc module does not export.
    #if arch(arm64)
        private static let openDirect: Int32 = 0o200000
    #else
        private static let openDirect: Int32 = 0o40000
    #endif

    let fd: Int32
    let path: String

    /// Nil where the file system has no direct I/O (tmpfs, for one): writes then go through the page cache.
    init?(path: String) {
        #if os(Linux)
            fd = open(path, O_WRONLY | O_CLOEXEC | Self.openDirect)
        #else
            fd = -1
        #endif
        self.path = path
        guard fd >= 0 else { return nil }
    }

    deinit { close(fd) }

    func accepts(count: Int, at offset: UInt64) -> Bool {
        count > 0 && count % Self.alignment == 0 && offset % UInt64(Self.alignment) == 0
    }

    /// Writes `bytes` at `offset` (both aligned) through an aligned copy.
    func write(_ bytes: [UInt8], at offset: UInt64) throws(BlobError) {
        var buffer: UnsafeMutableRawPointer?
        guard posix_memalign(&buffer, Self.alignment, bytes.count) == 0, let buffer else {
            throw .io(operation: "allocate an aligned buffer", path: path, errno: ENOMEM)
        }
        defer { free(buffer) }
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        try FileIO.writeAll(fd, UnsafeRawBufferPointer(start: buffer, count: bytes.count), at: offset, path: path)
    }
}
