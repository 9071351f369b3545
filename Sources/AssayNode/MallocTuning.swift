#if canImport(Glibc)
import Glibc
#endif

/// Blob traffic allocates and frees 1 MiB buffers at a high rate (P2P frames sealed and opened, chunks read,
/// verified and written). With glibc's defaults the freed memory goes back to the kernel and the next buffer
/// faults its pages in again: `Tools/bench blobs` spent about half its time in page faults, copies into fresh pages
/// and unmapping. A fixed mmap threshold of 4 MiB (so 1 MiB buffers come from the heap) and a trim threshold of
/// 32 MiB (so the heap keeps a few of them) doubled its throughput for a few MB of resident memory per node.
/// Each of glibc's arenas (up to 8 per core by default, one per thread that allocates) keeps its own 32 MiB, and the
/// threads that decrypt, verify and write chunks each took one: two arenas in all halved a fetching node's RSS growth
/// (up to 58 MB over its idle RSS during a 256 MiB fetch, 35 MB with two) and made the transfer about 10% faster.
public enum MallocTuning {
    /// `<malloc.h>` parameters (not in Swift's Glibc module).
    private static let trimThreshold: Int32 = -1
    private static let mmapThreshold: Int32 = -3
    private static let arenaMax: Int32 = -8

    public static func forBlobTraffic() {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        _ = mallopt(mmapThreshold, 4 << 20)
        _ = mallopt(trimThreshold, 32 << 20)
        _ = mallopt(arenaMax, 2)
        #endif
    }
}
