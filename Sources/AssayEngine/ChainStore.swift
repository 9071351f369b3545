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

/// Committed blocks with their commit certificates (`blocks` namespace, big-endian height keys) and
/// the tip (`chain` namespace), read and written through the engine's store.
public struct ChainStore {
    public static let blocksNamespace = Namespace("blocks")
    public static let chainNamespace = Namespace("chain")
    static let tipKey = Array("tip".utf8)

    let store: any KeyValueStore

    public init(store: any KeyValueStore) { self.store = store }

    public func tip() throws(EngineError) -> ChainTip? {
        guard let raw = try read(Self.tipKey, in: Self.chainNamespace) else { return nil }
        do { return try ChainTip(canonicalBytes: raw) } catch { throw .corruptStore("chain tip: \(error)") }
    }

    public func block(at height: Height) throws(EngineError) -> (block: Block, commit: Commit)? {
        guard let raw = try read(Self.heightKey(height), in: Self.blocksNamespace) else { return nil }
        var reader = CanonicalReader(raw)
        do {
            let block: Block = try reader.read()
            let commit: Commit = try reader.read()
            try reader.finish()
            return (block, commit)
        } catch { throw .corruptStore("block \(height): \(error)") }
    }

    func commitWrites(_ block: Block, _ commit: Commit, tip: ChainTip, into batch: inout WriteBatch) {
        var writer = CanonicalWriter()
        writer.write(block)
        writer.write(commit)
        batch.put(Self.heightKey(block.height), writer.bytes, in: Self.blocksNamespace)
        batch.put(Self.tipKey, tip.canonicalBytes, in: Self.chainNamespace)
    }

    static func heightKey(_ height: Height) -> [UInt8] { withUnsafeBytes(of: height.bigEndian) { Array($0) } }

    private func read(_ key: [UInt8], in namespace: Namespace) throws(EngineError) -> [UInt8]? {
        do { return try store.get(key, in: namespace) } catch { throw .storage(error) }
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
