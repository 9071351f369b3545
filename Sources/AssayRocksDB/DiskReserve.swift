#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The free space a data directory must keep. Writes stop while free space is below it, before RocksDB could
/// meet a full disk: Debian's librocksdb 7.8.3 answers ENOSPC in a background thread with an assertion failure
/// (the process aborts mid-write) rather than an error the node could stop on.
public struct DiskReserve: Sendable {
    public let minFreeBytes: UInt64
    private let freeBytes: @Sendable (String) -> UInt64?

    /// `freeBytes` reads the free space of a directory (nil when it cannot); tests inject one.
    public init(
        minFreeBytes: UInt64, freeBytes: @escaping @Sendable (String) -> UInt64? = DiskReserve.statvfsFreeBytes
    ) {
        self.minFreeBytes = minFreeBytes
        self.freeBytes = freeBytes
    }

    /// Why writes to `directory` must stop, or nil while it has room. Unreadable free space stops them too: a
    /// directory statvfs cannot read is not one to keep writing to.
    public func shortfall(in directory: String) -> String? {
        guard let free = freeBytes(directory) else {
            return "cannot read the free space of data directory \(directory): stopping"
        }
        return Self.shortfall(freeBytes: free, minFreeBytes: minFreeBytes, directory: directory)
    }

    /// The decision alone: free space below the reserve stops writes.
    public static func shortfall(freeBytes: UInt64, minFreeBytes: UInt64, directory: String) -> String? {
        guard freeBytes < minFreeBytes else { return nil }
        return "data directory \(directory) has \(freeBytes) bytes free, below min_free_bytes \(minFreeBytes): stopping"
    }

    /// Bytes an unprivileged process may still write on the file system holding `path` (statvfs `f_bavail`).
    @Sendable public static func statvfsFreeBytes(_ path: String) -> UInt64? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        return UInt64(stats.f_bavail).multipliedReportingOverflow(by: UInt64(stats.f_frsize)).partialValue
    }
}
