import AssayCodec
import AssayCrypto

/// What the block store needs to know of a block: where it goes in the chain and how it is looked up.
public protocol StoredBlock: CanonicalCodable, Sendable {
    var height: UInt64 { get }
    var hash: Digest32 { get }
}

public enum BlockStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case storage(StorageError)
    /// Stored bytes that no longer decode: the store is damaged.
    case corruptRecord(String, CodecError)
    /// The hash index points at a height whose block has another hash (or none).
    case hashIndexMismatch(hash: Digest32, height: UInt64)
    /// Blocks are stored one height after another; this one does not follow the latest.
    case heightGap(latest: UInt64, got: UInt64)

    public var description: String {
        switch self {
        case let .storage(error): error.description
        case let .corruptRecord(what, error): "block store record \(what) does not decode: \(error)"
        case let .hashIndexMismatch(hash, height): "block hash index: \(hash) points at height \(height), whose block differs"
        case let .heightGap(latest, got): "block at height \(got) does not follow the latest stored height \(latest)"
        }
    }
}

/// Committed blocks by height and by hash, each with the commit certificate that finalised it.
/// Written through a `WriteBatch` so the node commits a block with its state and metadata atomically.
///
/// Keys in `namespace` (heights big-endian so that scans run in height order):
/// `0x00` -> latest height; `0x01 ‖ height` -> block; `0x02 ‖ height` -> commit; `0x03 ‖ hash` -> height.
public struct BlockStore<Block: StoredBlock, Commit: CanonicalCodable, Reader: KeyValueReader>: Sendable {
    public let reader: Reader
    public let namespace: Namespace

    public init(_ reader: Reader, namespace: Namespace = .blocks) {
        self.reader = reader
        self.namespace = namespace
    }

    /// Adds the block and its commit to `batch`. The block must follow the latest stored height
    /// (any height when the store is empty); nothing is added to the batch otherwise.
    public func put(_ block: Block, commit: Commit, into batch: inout WriteBatch) throws(BlockStoreError) {
        if let latest = try latestHeight, latest == .max || block.height != latest + 1 {
            throw .heightGap(latest: latest, got: block.height)
        }
        let height = HeightKey.bytes(block.height)
        batch.put(Key.latest, height, in: namespace)
        batch.put(Key.block + height, block.canonicalBytes, in: namespace)
        batch.put(Key.commit + height, commit.canonicalBytes, in: namespace)
        batch.put(Key.hash + block.hash.bytes, height, in: namespace)
    }

    /// The height of the newest stored block, nil when none is stored.
    public var latestHeight: UInt64? {
        get throws(BlockStoreError) {
            try read(Key.latest, as: "latest height") { bytes throws(CodecError) in try HeightKey.height(bytes) }
        }
    }

    public func block(at height: UInt64) throws(BlockStoreError) -> Block? {
        try read(Key.block + HeightKey.bytes(height), as: "block \(height)") { bytes throws(CodecError) in
            try Block(canonicalBytes: bytes)
        }
    }

    public func commit(at height: UInt64) throws(BlockStoreError) -> Commit? {
        try read(Key.commit + HeightKey.bytes(height), as: "commit \(height)") { bytes throws(CodecError) in
            try Commit(canonicalBytes: bytes)
        }
    }

    public func block(hash: Digest32) throws(BlockStoreError) -> Block? {
        let indexed = try read(Key.hash + hash.bytes, as: "hash index \(hash)") { bytes throws(CodecError) in
            try HeightKey.height(bytes)
        }
        guard let height = indexed else { return nil }
        guard let block = try block(at: height), block.hash == hash else {
            throw .hashIndexMismatch(hash: hash, height: height)
        }
        return block
    }

    /// Adds the deletion of the block at `height`, its commit and its hash index entry to `batch` (pruning);
    /// returns the block, or nil when none is stored there (nothing is added then).
    public func deletion(at height: UInt64, into batch: inout WriteBatch) throws(BlockStoreError) -> Block? {
        guard let block = try block(at: height) else { return nil }
        let key = HeightKey.bytes(height)
        batch.delete(Key.block + key, in: namespace)
        batch.delete(Key.commit + key, in: namespace)
        batch.delete(Key.hash + block.hash.bytes, in: namespace)
        return block
    }

    private func read<Value>(
        _ key: [UInt8], as what: String, decode: ([UInt8]) throws(CodecError) -> Value
    ) throws(BlockStoreError) -> Value? {
        let bytes: [UInt8]?
        do { bytes = try reader.get(key, in: namespace) } catch { throw .storage(error) }
        guard let bytes else { return nil }
        do { return try decode(bytes) } catch { throw .corruptRecord(what, error) }
    }
}

/// Key layout of `BlockStore`, outside the generic type because generic types cannot hold static constants.
private enum Key {
    static let latest: [UInt8] = [0x00]
    static let block: [UInt8] = [0x01]
    static let commit: [UInt8] = [0x02]
    static let hash: [UInt8] = [0x03]
}

/// Heights are stored big-endian so that byte order is height order.
enum HeightKey {
    static func bytes(_ height: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: height >> (56 - 8 * $0)) }
    }

    static func height(_ bytes: [UInt8]) throws(CodecError) -> UInt64 {
        guard bytes.count == 8 else { throw .invalidValue("a height is 8 bytes, found \(bytes.count)") }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}

extension Namespace {
    /// Where `BlockStore` keeps blocks, commits and the hash index unless told otherwise.
    public static let blocks = Namespace("blocks")
}
