#if canImport(Glibc)
import Glibc
#endif

/// Why a blob operation was refused. Every case leaves the store as it was before the call.
public enum BlobError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No complete blob with this id is held.
    case notFound(BlobID)
    /// The chunk index is not below the blob's chunk count.
    case chunkIndexOutOfRange(index: Int, chunkCount: Int)
    /// The chunk's length is not the one its position in a blob of the stated length implies.
    case wrongChunkLength(index: Int, expected: Int, actual: Int)
    /// The chunk does not hash up its proof to the blob id.
    case chunkMismatch(id: BlobID, index: Int)
    /// All chunks arrived (without proofs) but they do not hash to the blob id; the partial blob was discarded.
    case rootMismatch(expected: BlobID, actual: BlobID)
    /// A leaf list whose size does not match the blob's chunk count.
    case wrongLeafCount(expected: Int, actual: Int)
    /// The stated length differs from the one an earlier write of this blob recorded.
    case lengthMismatch(id: BlobID, recorded: UInt64, stated: UInt64)
    /// The blob is larger than the chain's `max_blob_bytes`.
    case tooLarge(length: UInt64, max: UInt64)
    /// A byte range that does not lie within the blob.
    case rangeOutOfBounds(lower: UInt64, upper: UInt64, length: UInt64)
    /// The file system is full (ENOSPC or EDQUOT); nothing was kept of the write.
    case diskFull(path: String)
    /// Any other file-system failure.
    case io(operation: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case let .notFound(id): "blob \(id) is not held"
        case let .chunkIndexOutOfRange(index, count): "chunk \(index) is out of range: the blob has \(count) chunks"
        case let .wrongChunkLength(index, expected, actual):
            "chunk \(index) is \(actual) bytes, but a blob of this length has \(expected) bytes there"
        case let .chunkMismatch(id, index): "chunk \(index) does not match its proof for blob \(id)"
        case let .rootMismatch(expected, actual):
            "the uploaded chunks hash to \(actual), not to \(expected); the partial blob was discarded"
        case let .wrongLeafCount(expected, actual): "\(actual) leaf hashes, but the blob has \(expected) chunks"
        case let .lengthMismatch(id, recorded, stated):
            "blob \(id) was started with length \(recorded), not \(stated)"
        case let .tooLarge(length, max): "the blob is \(length) bytes, over max_blob_bytes \(max)"
        case let .rangeOutOfBounds(lower, upper, length):
            "range \(lower)..<\(upper) is outside the blob of \(length) bytes"
        case let .diskFull(path): "the disk is full (writing \(path)); the store is unchanged"
        case let .io(operation, path, errno): "\(operation) \(path) failed: \(String(cString: strerror(errno)))"
        }
    }
}
