import AssayCodec
import AssayCrypto
import AssayStorage
import AssayTypes

/// Decoded state values and tree nodes of one committed state, kept in memory between blocks so that a block
/// reads only what earlier blocks have not touched.
///
/// It is valid for exactly one state root. `execute` never commits, so each execution leaves its changes here
/// as a pending delta keyed by the root it produced; the next execution names its parent root, and if that is
/// one of the pending roots (the block was committed) the delta is applied, otherwise the cache starts over.
/// What the cache holds never changes a result, only how many reads reach the store.
final class StateCache {
    struct Delta {
        var values: [StoreKey: [UInt8]?]
        var nodes: [(path: NodePath, node: TreeNode?)]
        var root: TreeSlot
    }

    private let entriesMax: Int
    private static let pendingMax = 8

    private(set) var root: Hash?
    private var rootSlot: TreeSlot?
    private var values: [StoreKey: [UInt8]?] = [:]
    private var nodes: [NodePath: TreeNode?] = [:]
    private var pending: [Hash: Delta] = [:]

    init(entriesMax: Int) { self.entriesMax = entriesMax }

    /// Makes the cache describe `parentRoot`: reuse, advance by a pending delta, or start empty.
    func prepare(parentRoot: Hash) {
        defer { pending.removeAll() }
        if root == parentRoot { return }
        if let delta = pending.removeValue(forKey: parentRoot) {
            if values.isEmpty {
                // After genesis the delta is the whole state: take its map as it is, not entry by entry.
                values = delta.values
            } else {
                values.reserveCapacity(values.count + delta.values.count)
                for (key, value) in delta.values { values[key] = .some(value) }
            }
            nodes.reserveCapacity(nodes.count + delta.nodes.count)
            for (path, node) in delta.nodes { nodes[path] = .some(node) }
            rootSlot = delta.root
            root = parentRoot
        } else {
            values.removeAll()
            nodes.removeAll()
            rootSlot = nil
            root = parentRoot
        }
        if values.count + nodes.count > entriesMax {
            values.removeAll()
            nodes.removeAll()
        }
    }

    func remember(_ delta: Delta, producing newRoot: Hash) {
        if pending.count >= Self.pendingMax { pending.removeAll() }
        pending[newRoot] = delta
    }

    func value(_ key: StoreKey, from store: any KeyValueReader) throws(LedgerError) -> [UInt8]? {
        if let cached = values[key] { return cached }
        let loaded = try Self.read(key.bytes, in: LedgerNamespace.state, from: store)
        values[key] = .some(loaded)
        return loaded
    }

    func node(_ path: NodePath, from store: any KeyValueReader) throws(LedgerError) -> TreeNode? {
        if let cached = nodes[path] { return cached }
        let loaded = try TreeNode.load(at: path, from: store)
        nodes[path] = .some(loaded)
        return loaded
    }

    func rootSlot(from store: any KeyValueReader) throws(LedgerError) -> TreeSlot {
        if let rootSlot { return rootSlot }
        let loaded = try Self.storedRoot(in: store)
        rootSlot = loaded
        return loaded
    }

    static func storedRoot(in store: any KeyValueReader) throws(LedgerError) -> TreeSlot {
        guard let bytes = try read(SparseMerkleTree.rootKey, in: LedgerNamespace.smt, from: store) else { return .empty }
        do { return try TreeSlot(canonicalBytes: bytes) } catch {
            throw .corruptState(key: "smt root", reason: "\(error)")
        }
    }

    static func read(_ key: [UInt8], in namespace: Namespace, from store: any KeyValueReader) throws(LedgerError)
        -> [UInt8]?
    {
        do { return try store.get(key, in: namespace) } catch { throw .storage(error) }
    }
}

/// Tree nodes as the cache and store hold them for one execution.
struct CachedNodes: TreeNodeSource {
    let cache: StateCache
    let store: any KeyValueReader

    func node(at path: NodePath) throws(LedgerError) -> TreeNode? { try cache.node(path, from: store) }
}
