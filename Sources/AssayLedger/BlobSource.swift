import AssayBlobs
import AssayTypes
import Synchronization

/// Read-only access to the blobs that block execution needs: a model's bytes to validate it at registration, a
/// job's input and model to price it, and for a challenge the byte ranges of the input, trace and output blobs
/// that one tile check reads.
///
/// Blobs are content-addressed and, by the availability rule (docs/consensus.md), held by every validator that
/// executes a block referencing them, so reading one is deterministic. A blob that is not held is a local fault:
/// the block cannot be executed here (`LedgerError.blobUnavailable`), never a different state.
public protocol BlobSource: Sendable {
    /// The bytes of the complete blob `ref`; throws when it is not held under exactly this id and length.
    func read(_ ref: BlobRef) throws -> [UInt8]

    /// Bytes `range` of the complete blob `ref`, without reading the rest; throws as `read(_:)` does, and when the
    /// range does not lie within the blob.
    func read(_ ref: BlobRef, range: Range<UInt64>) throws -> [UInt8]
}

/// A source that holds nothing: for contexts that execute no blob-referencing transaction.
public struct NoBlobs: BlobSource {
    public init() {}

    public func read(_ ref: BlobRef) throws -> [UInt8] { throw BlobError.notFound(ref.id) }

    public func read(_ ref: BlobRef, range: Range<UInt64>) throws -> [UInt8] { throw BlobError.notFound(ref.id) }
}

/// Blobs held in memory, read whole or by range: for executing blocks outside a node (tests, benchmarks), where
/// there is no `BlobStore`.
public final class MemoryBlobs: BlobSource {
    private let held = Mutex<[BlobID: [UInt8]]>([:])

    public init() {}

    /// Holds `bytes` and returns their reference.
    @discardableResult
    public func add(_ bytes: [UInt8]) -> BlobRef {
        let ref = BlobRef(of: bytes)
        held.withLock { $0[ref.id] = bytes }
        return ref
    }

    public func remove(_ id: BlobID) { _ = held.withLock { $0.removeValue(forKey: id) } }

    public func read(_ ref: BlobRef) throws -> [UInt8] {
        guard let bytes = held.withLock({ $0[ref.id] }), UInt64(bytes.count) == ref.length else {
            throw BlobError.notFound(ref.id)
        }
        return bytes
    }

    public func read(_ ref: BlobRef, range: Range<UInt64>) throws -> [UInt8] {
        let bytes = try read(ref)
        guard range.upperBound <= ref.length else {
            throw BlobError.rangeOutOfBounds(lower: range.lowerBound, upper: range.upperBound, length: ref.length)
        }
        return Array(bytes[Int(range.lowerBound)..<Int(range.upperBound)])
    }
}

extension BlockExecutor {
    /// The bytes of a blob this block needs; a blob that is not held makes the whole block unexecutable here.
    func blobBytes(_ ref: BlobRef) throws(LedgerError) -> [UInt8] {
        do { return try context.blobs.read(ref) } catch { throw .blobUnavailable(ref) }
    }

    /// Bytes `range` of a blob this block needs; the caller checks that the range lies within `ref.length`.
    func blobBytes(_ ref: BlobRef, range: Range<UInt64>) throws(LedgerError) -> [UInt8] {
        precondition(range.upperBound <= ref.length, "a ledger read stays within the blob")
        do { return try context.blobs.read(ref, range: range) } catch { throw .blobUnavailable(ref) }
    }

    /// `blob_byte_fee` times the length of every blob the transaction carries; nil on overflow (then it cannot
    /// be paid).
    func blobFee(_ body: TransactionBody) -> Amount? {
        var total: Amount = 0
        for blob in body.carriedBlobs {
            let (fee, overflow) = params.blobByteFee.multipliedReportingOverflow(by: blob.length)
            guard !overflow, let sum = try? total.adding(fee) else { return nil }
            total = sum
        }
        return total
    }
}
