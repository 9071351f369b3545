import AssayCodec
import AssayCrypto
import AssayTypes

/// The authenticated state: a sparse Merkle tree over 256-bit keys (SHA-256 of each state key) with
/// sixteen-way SHA-256 nodes, empty subtrees hashing to zero, and each leaf lifted to the shallowest slot
/// no other key shares. Nodes are stored under their path (depth byte, then the path's nibbles packed into
/// bytes), except that a subtree of at most `TreeNode.embeddedLeavesMax` leaves lives inside its parent's
/// record; the root slot is stored under `rootKey`.
///
/// Updating k keys in a tree of n leaves visits O(k log16 n) nodes, each once: the changes are sorted by
/// key and split by nibble on the way down, so keys that share a path share the node reads and writes.
public enum SparseMerkleTree {
    static let rootKey: [UInt8] = [0xff]
    static let leafTag: UInt8 = 0x00
    static let nodeTag: UInt8 = 0x01
    /// Keys are 64 nibbles; a node is never deeper than that.
    static let depthMax = 64

    static func leafHash(key: Hash, value: Hash) -> Hash {
        withUnsafeTemporaryAllocation(byteCount: 65, alignment: 8) { buffer in
            buffer[0] = leafTag
            key.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[1..<33]).copyMemory(from: $0) }
            value.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[33..<65]).copyMemory(from: $0) }
            return SHA256.hash(UnsafeRawBufferPointer(buffer))
        }
    }

    /// SHA-256 of the node tag and sixteen slot hashes (`slotHash` is called for each slot in order),
    /// assembled on the stack: a node is hashed for every change below it.
    static func nodeHash(_ slotHash: (Int) -> Hash) -> Hash {
        withUnsafeTemporaryAllocation(byteCount: 1 + 32 * TreeNode.arity, alignment: 8) { buffer in
            buffer[0] = nodeTag
            for index in 0..<TreeNode.arity {
                slotHash(index).withUnsafeBytes {
                    (buffer.baseAddress! + 1 + 32 * index).copyMemory(from: $0.baseAddress!, byteCount: 32)
                }
            }
            return SHA256.hash(UnsafeRawBufferPointer(buffer))
        }
    }

    static func nodeHash(_ slotHashes: [Hash]) -> Hash { nodeHash { slotHashes[$0] } }

    static func nibble(_ key: Hash, at depth: Int) -> Int {
        let byte = key.withUnsafeBytes { $0[depth / 2] }
        return Int(depth % 2 == 0 ? byte >> 4 : byte & 0x0f)
    }
}

/// Where a node sits: its depth and the key nibbles above it, the rest zeroed. Held inline, so that the maps
/// of nodes neither allocate nor follow pointers; `storageKey` is its key in the store.
struct NodePath: Hashable {
    let depth: Int
    private var prefix: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// The path of the node at `depth` on `key`'s path.
    init(_ key: Hash, depth: Int) {
        self.depth = depth
        withUnsafeMutableBytes(of: &prefix) { prefix in
            key.withUnsafeBytes { prefix.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix((depth + 1) / 2))) }
            if depth % 2 == 1 { prefix[depth / 2] &= 0xf0 }
        }
    }

    /// The depth byte, then the path's nibbles packed into bytes.
    var storageKey: [UInt8] {
        let count = (depth + 1) / 2
        return [UInt8](unsafeUninitializedCapacity: 1 + count) { key, initialized in
            key[0] = UInt8(depth)
            withUnsafeBytes(of: prefix) { UnsafeMutableRawPointer(key.baseAddress! + 1).copyMemory(from: $0.baseAddress!, byteCount: count) }
            initialized = 1 + count
        }
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(depth)
        hasher.combine(prefix.0)
        hasher.combine(prefix.1)
        hasher.combine(prefix.2)
        hasher.combine(prefix.3)
    }

    static func == (lhs: NodePath, rhs: NodePath) -> Bool {
        lhs.depth == rhs.depth && lhs.prefix.0 == rhs.prefix.0 && lhs.prefix.1 == rhs.prefix.1
            && lhs.prefix.2 == rhs.prefix.2 && lhs.prefix.3 == rhs.prefix.3
    }
}

/// A change to one tree key: a new value hash, or nil to remove the key.
struct TreeChange {
    var key: Hash
    var value: Hash?
}

/// Where the updater reads nodes from (the per-block cache over the store).
protocol TreeNodeSource {
    func node(at path: NodePath) throws(LedgerError) -> TreeNode?
}

extension TreeNodeSource {
    /// The node under a `.node` slot: `embedded` when its parent holds it, otherwise the one stored at `path`.
    func node(at path: NodePath, embedded: TreeNode?) throws(LedgerError) -> TreeNode {
        if let embedded { return embedded }
        guard let node = try node(at: path) else {
            throw .corruptState(key: Hex.encode(path.storageKey), reason: "tree node missing")
        }
        return node
    }
}

/// Applies one batch of sorted changes to a tree, recording every stored node written or removed.
struct TreeUpdater<Source: TreeNodeSource> {
    /// A slot after an update, with the subtree's content when it is small enough to live in its parent.
    typealias Outcome = (slot: TreeSlot, embedded: TreeNode?)

    let source: Source
    /// Node key and new node (nil: removed), each node once, in the walk's post-order (deterministic).
    private(set) var writes: [(path: NodePath, node: TreeNode?)] = []

    init(source: Source) { self.source = source }

    /// The new root slot after `changes` (sorted by key, unique) are applied under `root`.
    mutating func apply(_ changes: [TreeChange], to root: TreeSlot) throws(LedgerError) -> TreeSlot {
        assert(zip(changes, changes.dropFirst()).allSatisfy { $0.key < $1.key }, "tree changes must be sorted")
        return try update(root, embedded: nil, depth: 0, changes[...]).slot
    }

    /// `embedded` is the slot's subtree when its parent holds it (nil: stored under its own path, if a node).
    private mutating func update(_ slot: TreeSlot, embedded: TreeNode?, depth: Int, _ changes: ArraySlice<TreeChange>)
        throws(LedgerError) -> Outcome
    {
        guard let first = changes.first else { return (slot, embedded) }
        switch slot {
        case .node:
            let path = NodePath(first.key, depth: depth)
            var node = try source.node(at: path, embedded: embedded)
            // The changes are sorted, so each nibble's changes are one contiguous run.
            var start = changes.startIndex
            while start < changes.endIndex {
                let nibble = SparseMerkleTree.nibble(changes[start].key, at: depth)
                var end = start + 1
                while end < changes.endIndex && SparseMerkleTree.nibble(changes[end].key, at: depth) == nibble { end += 1 }
                let child = try update(
                    node[nibble], embedded: node.embeddedChild(nibble), depth: depth + 1, changes[start..<end])
                node.set(nibble, child.slot, embedding: child.embedded)
                start = end
            }
            return finish(node, path: path, wasStored: embedded == nil)
        case .empty:
            if changes.count == 1 { return (first.value.map { .leaf(key: first.key, value: $0) } ?? .empty, nil) }
            return build(Self.leaves(existing: nil, changes)[...], depth: depth)
        case let .leaf(key, value, _):
            // The common case: one key's value changes or goes.
            if changes.count == 1 && first.key == key {
                return (first.value.map { .leaf(key: key, value: $0) } ?? .empty, nil)
            }
            return build(Self.leaves(existing: (key, value), changes)[...], depth: depth)
        }
    }

    /// The leaves left in a slot that held at most one leaf, after the changes: sorted by key.
    private static func leaves(existing: (key: Hash, value: Hash)?, _ changes: ArraySlice<TreeChange>)
        -> [(key: Hash, value: Hash)]
    {
        var result: [(key: Hash, value: Hash)] = []
        var pending = existing
        for change in changes {
            if let leaf = pending, leaf.key < change.key {
                result.append(leaf)
                pending = nil
            }
            if let leaf = pending, leaf.key == change.key { pending = nil }
            if let value = change.value { result.append((change.key, value)) }
        }
        if let leaf = pending { result.append(leaf) }
        return result
    }

    /// A subtree holding exactly `leaves` (sorted), built from nothing at `depth`.
    private mutating func build(_ leaves: ArraySlice<(key: Hash, value: Hash)>, depth: Int) -> Outcome {
        switch leaves.count {
        case 0: return (.empty, nil)
        case 1: return (.leaf(key: leaves[leaves.startIndex].key, value: leaves[leaves.startIndex].value), nil)
        default:
            precondition(depth < SparseMerkleTree.depthMax, "two distinct 256-bit keys share every nibble")
            var node = TreeNode()
            var start = leaves.startIndex
            while start < leaves.endIndex {
                let nibble = SparseMerkleTree.nibble(leaves[start].key, at: depth)
                var end = start + 1
                while end < leaves.endIndex && SparseMerkleTree.nibble(leaves[end].key, at: depth) == nibble { end += 1 }
                let child = build(leaves[start..<end], depth: depth + 1)
                node.set(nibble, child.slot, embedding: child.embedded)
                start = end
            }
            return finish(node, path: NodePath(leaves[leaves.startIndex].key, depth: depth), wasStored: false)
        }
    }

    /// Where a changed node goes: away when it no longer holds two leaves (its lone leaf moves up), into its
    /// parent when its subtree is small (never the root), otherwise stored under its path. A node that was
    /// stored and no longer is gets removed.
    private mutating func finish(_ node: TreeNode, path: NodePath, wasStored: Bool) -> Outcome {
        if let lone = node.collapsed {
            if wasStored { writes.append((path, nil)) }
            return (lone, nil)
        }
        if path.depth > 0 && node.fitsInParent {
            if wasStored { writes.append((path, nil)) }
            return (.node(node.hash), node)
        }
        writes.append((path, node))
        return (.node(node.hash), nil)
    }
}
