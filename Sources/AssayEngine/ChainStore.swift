import AssayCodec
import AssayCrypto
import AssayConsensus
import AssayStorage
import AssayTypes

/// The last committed block as consensus needs it: what the next block links to, the validators that signed it,
/// and the proposer rotations of the next two heights. Validator changes committed at height H take effect at H + 2
/// (as in CometBFT), so when block H + 1 is proposed both its own set and the set after it are known.
public struct ChainTip: Hashable, Sendable, CanonicalCodable {
    public var height: Height
    public var blockHash: Hash
    public var timeMs: UInt64
    /// The set of `height`, whose precommits the next block carries as its last commit.
    public var lastValidators: ValidatorSet
    /// The rotation (and set) of `height + 1`.
    public var nextRotation: ProposerRotation
    /// The rotation (and set) of `height + 2`.
    public var followingRotation: ProposerRotation

    public init(
        height: Height, blockHash: Hash, timeMs: UInt64, lastValidators: ValidatorSet, nextRotation: ProposerRotation,
        followingRotation: ProposerRotation
    ) {
        self.height = height
        self.blockHash = blockHash
        self.timeMs = timeMs
        self.lastValidators = lastValidators
        self.nextRotation = nextRotation
        self.followingRotation = followingRotation
    }

    /// Before block 1: the genesis set signs heights 1 and 2.
    public init(genesisValidators: ValidatorSet, genesisTimeMs: UInt64) {
        let first = ProposerRotation(validators: genesisValidators)
        self.init(
            height: 0, blockHash: .zero, timeMs: genesisTimeMs, lastValidators: genesisValidators,
            nextRotation: first, followingRotation: first.advanced())
    }

    /// The tip after committing `block`, whose validator `changes` take effect at `block.height + 2`.
    public func committing(_ block: Block, changes: [Validator]) throws(ValidatorSet.Problem) -> ChainTip {
        ChainTip(
            height: block.height, blockHash: block.hash, timeMs: block.header.timeMs,
            lastValidators: nextRotation.validators, nextRotation: followingRotation,
            followingRotation: try followingRotation.advanced(applying: changes))
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(height)
        writer.write(blockHash)
        writer.write(timeMs)
        writer.write(lastValidators)
        writer.write(nextRotation)
        writer.write(followingRotation)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        height = try reader.readUInt64()
        blockHash = try reader.read()
        timeMs = try reader.readUInt64()
        lastValidators = try reader.read()
        nextRotation = try reader.read()
        followingRotation = try reader.read()
    }
}

extension Block: StoredBlock {}

/// Committed blocks with their commit certificates (a `BlockStore` in the `blocks` namespace) and the
/// tip (`chain` namespace), read and written through the engine's store.
public struct ChainStore {
    public static let blocksNamespace = Namespace.blocks
    public static let chainNamespace = Namespace("chain")
    static let tipKey = Array("tip".utf8)
    /// `valset` + big-endian height: the validator set from that height on, written when a commit changes it.
    static let validatorSetPrefix = Array("valset".utf8)
    /// The lowest height whose block and validator set the store holds (big-endian); absent: 1. A node that
    /// joined by state sync starts at its snapshot's height; pruning (`pruneWrites`) moves it up.
    static let baseKey = Array("base".utf8)

    let store: any KeyValueStore
    private let blocks: BlockStore<Block, Commit, StoreReader>

    public init(store: any KeyValueStore) {
        self.store = store
        blocks = BlockStore(StoreReader(base: store), namespace: Self.blocksNamespace)
    }

    public func tip() throws(EngineError) -> ChainTip? { try Self.tip(in: store) }

    /// The tip as `reader` (the store, or a snapshot of it) holds it.
    public static func tip(in reader: any KeyValueReader) throws(EngineError) -> ChainTip? {
        let raw: [UInt8]?
        do { raw = try reader.get(Self.tipKey, in: Self.chainNamespace) } catch { throw .storage(error) }
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

    /// The validator set of `height` (at most the tip's height + 2): the genesis set until the first stored change
    /// at or below it. Nil for height 0, below the base (a state-synced node) or beyond what the tip knows.
    public func validators(at height: Height, genesis: ValidatorSet) throws(EngineError) -> ValidatorSet? {
        let tipHeight = try tip()?.height ?? 0
        guard height >= (try base()), height >= 1, height <= tipHeight + 2 else { return nil }
        let entries: [(key: [UInt8], value: [UInt8])]
        do {
            entries = try store.scan(
                Self.chainNamespace, from: Self.validatorSetPrefix, to: Self.validatorSetKey(height + 1), limit: .max)
        } catch { throw .storage(error) }
        guard let latest = entries.last(where: { $0.key.starts(with: Self.validatorSetPrefix) }) else { return genesis }
        do { return try ValidatorSet(canonicalBytes: latest.value) } catch {
            throw .corruptStore("validator set \(Hex.encode(latest.key)): \(error)")
        }
    }

    /// The lowest height held: 1, the snapshot height of a node that joined by state sync, or the first height
    /// pruning kept.
    public func base() throws(EngineError) -> Height {
        let raw: [UInt8]?
        do { raw = try store.get(Self.baseKey, in: Self.chainNamespace) } catch { throw .storage(error) }
        guard let raw else { return 1 }
        guard raw.count == 8 else { throw .corruptStore("base height is \(raw.count) bytes") }
        return raw.reduce(0) { $0 << 8 | Height($1) }
    }

    /// The writes that prune the blocks (with their commits) from the base up to `newBase`, at most `limit` of
    /// them, and move the base past them; returns the pruned blocks (the caller drops what it indexed by them).
    /// The validator set records stay: they are small, and `validators(at:)` needs the last change at or below
    /// any height it answers. The tip's block is never pruned.
    public func pruneWrites(below newBase: Height, limit: Int, into batch: inout WriteBatch) throws(EngineError)
        -> [Block]
    {
        let base = try base()
        let end = min(newBase, base + Height(limit), try tip()?.height ?? 0)
        guard end > base else { return [] }
        var pruned: [Block] = []
        for height in base..<end {
            do {
                if let block = try blocks.deletion(at: height, into: &batch) { pruned.append(block) }
            } catch { throw Self.engineError(error) }
        }
        Self.baseWrite(end, into: &batch)
        return pruned
    }

    static func validatorSetKey(_ height: Height) -> [UInt8] {
        validatorSetPrefix + withUnsafeBytes(of: height.bigEndian) { Array($0) }
    }

    func commitWrites(_ block: Block, _ commit: Commit, tip: ChainTip, into batch: inout WriteBatch)
        throws(EngineError)
    {
        do { try blocks.put(block, commit: commit, into: &batch) } catch { throw Self.engineError(error) }
        batch.put(Self.tipKey, tip.canonicalBytes, in: Self.chainNamespace)
    }

    /// The writes that start a state-synced store's chain at `tip`: its block with the commit, the tip, and the
    /// validator sets of its height and the two after it (no set is known below: nothing below is held).
    public func restoreWrites(_ block: Block, _ commit: Commit, tip: ChainTip, into batch: inout WriteBatch)
        throws(EngineError)
    {
        precondition(block.height == tip.height && block.hash == tip.blockHash, "the tip's own block")
        try commitWrites(block, commit, tip: tip, into: &batch)
        validatorSetWrites(tip.lastValidators, from: tip.height, into: &batch)
        validatorSetWrites(tip.nextRotation.validators, from: tip.height + 1, into: &batch)
        validatorSetWrites(tip.followingRotation.validators, from: tip.height + 2, into: &batch)
        Self.baseWrite(tip.height, into: &batch)
    }

    private static func baseWrite(_ height: Height, into batch: inout WriteBatch) {
        batch.put(baseKey, withUnsafeBytes(of: height.bigEndian) { Array($0) }, in: chainNamespace)
    }

    /// Records `validators` as the set from `height` on.
    func validatorSetWrites(_ validators: ValidatorSet, from height: Height, into batch: inout WriteBatch) {
        batch.put(Self.validatorSetKey(height), validators.canonicalBytes, in: Self.chainNamespace)
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
        case let .execution(error): "execution failed: \(error)"
        }
    }
}
