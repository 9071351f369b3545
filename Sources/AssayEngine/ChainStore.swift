import AssayCodec
import AssayConsensus
import AssayStorage
import AssayTypes

/// The last committed block as consensus needs it: what the next block links to, and the proposer
/// rotation of the next height.
public struct ChainTip: Hashable, Sendable, CanonicalCodable {
    public var height: Height
    public var blockHash: Hash
    public var timeMs: UInt64
    public var nextRotation: ProposerRotation

    public init(height: Height, blockHash: Hash, timeMs: UInt64, nextRotation: ProposerRotation) {
        self.height = height
        self.blockHash = blockHash
        self.timeMs = timeMs
        self.nextRotation = nextRotation
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(height)
        writer.write(blockHash)
        writer.write(timeMs)
        writer.write(nextRotation)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        height = try reader.readUInt64()
        blockHash = try reader.read()
        timeMs = try reader.readUInt64()
        nextRotation = try reader.read()
    }
}

extension Block: StoredBlock {}

/// Committed blocks with their commit certificates (a `BlockStore` in the `blocks` namespace) and the
/// tip (`chain` namespace), read and written through the engine's store.
public struct ChainStore {
    public static let blocksNamespace = Namespace.blocks
    public static let chainNamespace = Namespace("chain")
    static let tipKey = Array("tip".utf8)

    let store: any KeyValueStore
    private let blocks: BlockStore<Block, Commit, StoreReader>

    public init(store: any KeyValueStore) {
        self.store = store
        blocks = BlockStore(StoreReader(base: store), namespace: Self.blocksNamespace)
    }

    public func tip() throws(EngineError) -> ChainTip? {
        let raw: [UInt8]?
        do { raw = try store.get(Self.tipKey, in: Self.chainNamespace) } catch { throw .storage(error) }
        guard let raw else { return nil }
        do { return try ChainTip(canonicalBytes: raw) } catch { throw .corruptStore("chain tip: \(error)") }
    }

    public func block(at height: Height) throws(EngineError) -> (block: Block, commit: Commit)? {
        do {
            guard let block = try blocks.block(at: height) else { return nil }
            guard let commit = try blocks.commit(at: height) else {
                throw EngineError.corruptStore("block \(height) is stored without its commit")
            }
            return (block, commit)
        } catch let error as EngineError { throw error } catch { throw Self.engineError(error) }
    }

    public func block(hash: Hash) throws(EngineError) -> (block: Block, commit: Commit)? {
        let found: Block?
        do { found = try blocks.block(hash: hash) } catch { throw Self.engineError(error) }
        guard let found else { return nil }
        return try block(at: found.height)
    }

    func commitWrites(_ block: Block, _ commit: Commit, tip: ChainTip, into batch: inout WriteBatch)
        throws(EngineError)
    {
        do { try blocks.put(block, commit: commit, into: &batch) } catch { throw Self.engineError(error) }
        batch.put(Self.tipKey, tip.canonicalBytes, in: Self.chainNamespace)
    }

    private static func engineError(_ error: any Error) -> EngineError {
        if case let BlockStoreError.storage(storage)? = error as? BlockStoreError { return .storage(storage) }
        return .corruptStore("\(error)")
    }
}

/// Lets the generic `BlockStore` read through the engine's type-erased store.
struct StoreReader: KeyValueReader {
    let base: any KeyValueReader

    func get(_ key: [UInt8], in namespace: Namespace) throws(StorageError) -> [UInt8]? {
        try base.get(key, in: namespace)
    }

    func scan(
        _ namespace: Namespace, from start: [UInt8], to end: [UInt8]?, limit: Int
    ) throws(StorageError) -> [(key: [UInt8], value: [UInt8])] {
        try base.scan(namespace, from: start, to: end, limit: limit)
    }
}

/// Why the engine stopped. Storage failures and a corrupt WAL are fatal: the node must not guess.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    case storage(StorageError)
    case wal(WALError)
    case corruptStore(String)
    case execution(ExecutionError)

    public var description: String {
        switch self {
        case let .storage(error): "storage failed: \(error)"
        case let .wal(error): "\(error)"
        case let .corruptStore(what): "store is corrupt: \(what)"
        case let .execution(error): "committing a decided block failed: \(error)"
        }
    }
}
