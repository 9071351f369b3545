import AssayCodec
import AssayCrypto
import AssayStorage
import AssayTypes

/// Why a state snapshot, or a piece of one, was refused. Nothing is written for a refused piece.
public enum SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    /// The manifest's subtree slots do not hash up to its state root, or its root is not the trusted one.
    case manifestMismatch(String)
    /// The chunk's leaves do not rebuild the manifest's subtree slot at its index.
    case chunkMismatch(index: Int, reason: String)
    case storeNotEmpty
    /// After every chunk was written, the store's root is not the manifest's (a store that held other state).
    case restoredRootMismatch(expected: Hash, restored: Hash)
    case ledger(LedgerError)

    public var description: String {
        switch self {
        case let .malformed(what): "malformed snapshot: \(what)"
        case let .manifestMismatch(why): "snapshot manifest rejected: \(why)"
        case let .chunkMismatch(index, reason): "snapshot chunk \(index) rejected: \(reason)"
        case .storeNotEmpty: "state sync needs an empty state store"
        case let .restoredRootMismatch(expected, restored):
            "restored state root \(restored) is not the snapshot's \(expected): delete the data directory and sync again"
        case let .ledger(error): "\(error)"
        }
    }
}

/// One state entry as a snapshot carries it: the state key and its value (the tree key is SHA-256 of the key).
public struct StateEntry: Hashable, Sendable, CanonicalCodable {
    /// State keys are a prefix byte and an id of at most 64 bytes (timeouts: height, kind, id).
    public static let keyBytesMax = 128
    public static let valueBytesMax = 1 << 20

    public var key: [UInt8]
    public var value: [UInt8]

    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.writeBytes(key)
        writer.writeBytes(value)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        key = try reader.readBytes(bound: Self.keyBytesMax)
        value = try reader.readBytes(bound: Self.valueBytesMax)
    }
}

/// The ledger state at one height, cut for state sync: the tree is split at depth `chunkDepth` (two nibbles, so
/// 256 subtrees, one per first byte of the tree key). The manifest lists the 256 subtree slots, which hash up to
/// the state root; chunk i holds every entry of subtree i, in tree-key order, and is checked on arrival by
/// rebuilding its slot from its entries. The shape of the tree depends only on its leaves, so every node's
/// snapshot of one state is byte-identical.
public struct SnapshotManifest: Hashable, Sendable, CanonicalCodable {
    public static let chunkCount = 256
    static let chunkDepth = 2

    public let height: Height
    public let stateRoot: Hash
    /// The slot at depth 2 of each first byte of the tree key, as the full tree's node at depth 1 holds it when
    /// that node exists: empty, one leaf, or the hash of a subtree of two or more leaves.
    let slots: [TreeSlot]
    /// Entries in each chunk, so that a fetcher can bound what it accepts and report progress.
    public let entryCounts: [UInt32]

    init(height: Height, slots: [TreeSlot], entryCounts: [UInt32]) {
        precondition(slots.count == Self.chunkCount && entryCounts.count == Self.chunkCount)
        self.height = height
        self.slots = slots
        self.entryCounts = entryCounts
        stateRoot = Self.root(of: slots).hash
    }

    /// The manifest of a state whose chunks are summed up by `summaries` (all of them, in index order).
    public init(height: Height, summaries: [StateChunk.Summary]) {
        self.init(height: height, slots: summaries.map(\.slot), entryCounts: summaries.map(\.entryCount))
    }

    /// The manifest of a state whose chunks are `chunks` (all of them, in index order).
    public init(height: Height, chunks: [StateChunk]) {
        precondition(chunks.map(\.index) == Array(0..<UInt32(Self.chunkCount)), "one chunk per index, in order")
        self.init(height: height, summaries: chunks.map(\.summary))
    }

    /// The identity of the snapshot: SHA-256 of the manifest's canonical bytes.
    public var hash: Hash { SHA256.hash(canonicalBytes) }

    /// Refuses a manifest whose slots do not hash up to `trustedStateRoot` (from a verified header).
    public func verify(trustedStateRoot: Hash) throws(SnapshotError) {
        guard stateRoot == trustedStateRoot else {
            throw .manifestMismatch("state root \(stateRoot) is not the trusted \(trustedStateRoot)")
        }
        let folded = Self.root(of: slots).hash
        guard folded == stateRoot else {
            throw .manifestMismatch("subtree slots hash to \(folded), not the state root \(stateRoot)")
        }
    }

    /// The tree's root slot from the 256 depth-2 slots: each node of sixteen slots is folded as the tree stores
    /// it (a node holding no subtree and at most one leaf gives way to that leaf).
    static func root(of slots: [TreeSlot]) -> TreeSlot {
        var level = slots
        while level.count > 1 {
            level = stride(from: 0, to: level.count, by: TreeNode.arity).map { start in
                var node = TreeNode()
                for index in 0..<TreeNode.arity { node.set(index, level[start + index]) }
                return node.collapsed ?? .node(node.hash)
            }
        }
        return level[0]
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(height)
        writer.write(stateRoot)
        for slot in slots { writer.write(slot) }
        for count in entryCounts { writer.write(count) }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        height = try reader.readUInt64()
        stateRoot = try reader.read()
        var slots: [TreeSlot] = []
        for _ in 0..<Self.chunkCount { slots.append(try reader.read()) }
        var counts: [UInt32] = []
        for _ in 0..<Self.chunkCount { counts.append(try reader.readUInt32()) }
        self.slots = slots
        entryCounts = counts
    }
}

/// Every state entry under one depth-2 subtree (tree keys whose first byte is `index`), in tree-key order.
public struct StateChunk: Hashable, Sendable, CanonicalCodable {
    /// Entries one chunk may hold: the decoder's bound (a 10^7-entry state averages about 40,000 per chunk).
    public static let entriesMax = 1 << 20

    public let index: UInt32
    public let entries: [StateEntry]

    /// The chunk of `index` holding `entries` (any order; each must belong to the subtree).
    public init(index: Int, entries: [StateEntry]) {
        precondition(entries.allSatisfy { Self.index(ofKey: $0.key) == index }, "entry outside the chunk's subtree")
        self.index = UInt32(index)
        self.entries = entries.map { (tree: SHA256.hash($0.key), entry: $0) }.sorted { $0.tree < $1.tree }.map(\.entry)
    }

    /// What the manifest records of a chunk, so that a snapshot's taker need not hold every chunk at once.
    public struct Summary: Sendable {
        let slot: TreeSlot
        let entryCount: UInt32
    }

    public var summary: Summary { Summary(slot: slot, entryCount: UInt32(entries.count)) }

    /// Which chunk a state key belongs to: the first byte of its tree key.
    public static func index(ofKey key: [UInt8]) -> Int { Int(SHA256.hash(key).withUnsafeBytes { $0[0] }) }

    /// The subtree's slot, rebuilt from the entries (which must be in strictly ascending tree-key order).
    var slot: TreeSlot { Self.subtree(leaves[...], depth: SnapshotManifest.chunkDepth) }

    var leaves: [(key: Hash, value: Hash)] { entries.map { (SHA256.hash($0.key), SHA256.hash($0.value)) } }

    /// Refuses a chunk that is not exactly the entries of subtree `index` of `manifest`.
    public func verify(against manifest: SnapshotManifest) throws(SnapshotError) {
        let at = Int(index)
        guard at < SnapshotManifest.chunkCount else { throw .chunkMismatch(index: at, reason: "index out of range") }
        guard entries.count == manifest.entryCounts[at] else {
            throw .chunkMismatch(index: at, reason: "\(entries.count) entries, the manifest says \(manifest.entryCounts[at])")
        }
        let leaves = leaves
        guard leaves.allSatisfy({ leaf in leaf.key.withUnsafeBytes { Int($0[0]) } == at }) else {
            throw .chunkMismatch(index: at, reason: "an entry belongs to another subtree")
        }
        guard zip(leaves, leaves.dropFirst()).allSatisfy({ $0.key < $1.key }) else {
            throw .chunkMismatch(index: at, reason: "entries are not in strictly ascending tree-key order")
        }
        guard Self.subtree(leaves[...], depth: SnapshotManifest.chunkDepth) == manifest.slots[at] else {
            throw .chunkMismatch(index: at, reason: "entries do not hash to the manifest's subtree")
        }
    }

    /// The slot of a subtree holding exactly `leaves` (sorted, distinct) at `depth`, as the tree would store it.
    private static func subtree(_ leaves: ArraySlice<(key: Hash, value: Hash)>, depth: Int) -> TreeSlot {
        switch leaves.count {
        case 0: return .empty
        case 1: return .leaf(key: leaves[leaves.startIndex].key, value: leaves[leaves.startIndex].value)
        default:
            var hashes = [Hash](repeating: .zero, count: TreeNode.arity)
            var start = leaves.startIndex
            while start < leaves.endIndex {
                let nibble = SparseMerkleTree.nibble(leaves[start].key, at: depth)
                var end = start + 1
                while end < leaves.endIndex && SparseMerkleTree.nibble(leaves[end].key, at: depth) == nibble { end += 1 }
                hashes[nibble] = subtree(leaves[start..<end], depth: depth + 1).hash
                start = end
            }
            return .node(SparseMerkleTree.nodeHash(hashes))
        }
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(index)
        writer.write(entries)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        index = try reader.readUInt32()
        entries = try reader.readArray(bound: Self.entriesMax)
    }
}

/// Writes verified chunks into a store: the entries into `state` and the tree they make into `smt`, one batch
/// per chunk. Chunks may come in any order; writing one twice changes nothing.
public enum StateRestore {
    /// Refuses a store holding anything before the first chunk.
    public static func requireEmpty(_ store: some KeyValueReader) throws(SnapshotError) {
        let anyState: [(key: [UInt8], value: [UInt8])], anyRoot: [UInt8]?
        do {
            anyState = try store.scan(LedgerNamespace.state, from: [], to: nil, limit: 1)
            anyRoot = try store.get(SparseMerkleTree.rootKey, in: LedgerNamespace.smt)
        } catch { throw .ledger(.storage(error)) }
        guard anyState.isEmpty, anyRoot == nil else { throw .storeNotEmpty }
    }

    /// Calls `body` with every state entry of `reader` (one consistent view), in key order, reading
    /// `pageEntries` at a time so that a large state is never held whole.
    public static func forEachEntry(
        in reader: some KeyValueReader, pageEntries: Int = 4096, _ body: (StateEntry) throws -> Void
    ) throws {
        var start: [UInt8] = []
        while true {
            let page = try reader.scan(LedgerNamespace.state, from: start, to: nil, limit: pageEntries)
            for (key, value) in page { try body(StateEntry(key: key, value: value)) }
            guard page.count == pageEntries, let last = page.last else { return }
            start = last.key + [0]
        }
    }

    /// The batch that adds `chunk` (already verified against its manifest) to the state held in `store`.
    public static func writes(for chunk: StateChunk, store: some KeyValueReader) throws(SnapshotError) -> WriteBatch {
        var batch = WriteBatch()
        batch.reserveCapacity(2 * chunk.entries.count + 1)
        var changes: [TreeChange] = []
        changes.reserveCapacity(chunk.entries.count)
        for (entry, leaf) in zip(chunk.entries, chunk.leaves) {
            batch.put(entry.key, entry.value, in: LedgerNamespace.state)
            changes.append(TreeChange(key: leaf.key, value: leaf.value))
        }
        do {
            var updater = TreeUpdater(source: StoredNodes(store: store))
            let root = try updater.apply(changes, to: try StateCache.storedRoot(in: store))
            for (path, node) in updater.writes {
                if let node {
                    batch.put(path.storageKey, node.encoded, in: LedgerNamespace.smt)
                } else {
                    batch.delete(path.storageKey, in: LedgerNamespace.smt)
                }
            }
            batch.put(SparseMerkleTree.rootKey, root.canonicalBytes, in: LedgerNamespace.smt)
        } catch { throw .ledger(error) }
        return batch
    }

    /// Checks, after every chunk was written, that the store holds exactly the manifest's state.
    public static func finish(_ manifest: SnapshotManifest, store: some KeyValueReader) throws(SnapshotError) {
        let restored: Hash
        do { restored = try Ledger.stateRoot(of: store) } catch { throw .ledger(error) }
        guard restored == manifest.stateRoot else {
            throw .restoredRootMismatch(expected: manifest.stateRoot, restored: restored)
        }
    }
}

/// Tree nodes read straight from the store (a restore touches each node a few times, not worth a cache).
struct StoredNodes: TreeNodeSource {
    let store: any KeyValueReader

    func node(at path: NodePath) throws(LedgerError) -> TreeNode? { try TreeNode.load(at: path, from: store) }
}
