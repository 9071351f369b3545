import AssayCodec
import AssayCrypto
import AssayTypes

/// A Merkle proof that a state key has a given value, or has none, under a state root.
///
/// `levels[d]` holds the fifteen sibling slot hashes of the node at depth d on the key's path (every slot but
/// the one the path takes, in slot order). The walk ends at `terminal`: an empty slot, or a leaf that is
/// either the key's own (inclusion) or another key sharing the path so far (non-inclusion).
public struct StateProof: Hashable, Sendable {
    public enum Terminal: Hashable, Sendable {
        case empty
        case leaf(key: Hash, value: Hash)
    }

    public var levels: [[Hash]]
    public var terminal: Terminal

    public init(levels: [[Hash]], terminal: Terminal) {
        self.levels = levels
        self.terminal = terminal
    }

    /// Checks the proof against `root` for `key`: with a `value`, that the key holds exactly it; with nil,
    /// that the key is absent. A standalone function of its arguments: no store, no ledger.
    public static func verify(_ proof: StateProof, root: Hash, key: [UInt8], value: [UInt8]?) -> Bool {
        let keyHash = SHA256.hash(key)
        guard proof.levels.count <= SparseMerkleTree.depthMax,
            proof.levels.allSatisfy({ $0.count == TreeNode.arity - 1 })
        else { return false }
        var current: Hash
        switch (proof.terminal, value) {
        case let (.leaf(leafKey, leafValue), value?):
            guard leafKey == keyHash, leafValue == SHA256.hash(value) else { return false }
            current = SparseMerkleTree.leafHash(key: leafKey, value: leafValue)
        case let (.leaf(leafKey, leafValue), nil):
            // Another key's leaf on our path: it must share every nibble walked so far, and differ.
            guard leafKey != keyHash,
                (0..<proof.levels.count).allSatisfy({
                    SparseMerkleTree.nibble(leafKey, at: $0) == SparseMerkleTree.nibble(keyHash, at: $0)
                })
            else { return false }
            current = SparseMerkleTree.leafHash(key: leafKey, value: leafValue)
        case (.empty, nil):
            current = .zero
        case (.empty, .some):
            return false
        }
        for depth in stride(from: proof.levels.count - 1, through: 0, by: -1) {
            var hashes = proof.levels[depth]
            hashes.insert(current, at: SparseMerkleTree.nibble(keyHash, at: depth))
            current = SparseMerkleTree.nodeHash(hashes)
        }
        return current == root
    }
}

extension StateProof: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        writer.writeULEB128(UInt64(levels.count))
        for level in levels { for hash in level { writer.write(hash) } }
        switch terminal {
        case .empty: writer.writeULEB128(0)
        case let .leaf(key, value):
            writer.writeULEB128(1)
            writer.write(key)
            writer.write(value)
        }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let depth = try reader.readLength(bound: SparseMerkleTree.depthMax)
        var levels: [[Hash]] = []
        for _ in 0..<depth {
            var level: [Hash] = []
            for _ in 0..<(TreeNode.arity - 1) { level.append(try reader.read()) }
            levels.append(level)
        }
        self.levels = levels
        switch try reader.readTag() {
        case 0: terminal = .empty
        case 1: terminal = .leaf(key: try reader.read(), value: try reader.read())
        case let tag: throw .unknownTag(tag, type: "StateProof.Terminal")
        }
    }
}

extension SparseMerkleTree {
    /// Walks `key`'s path from `root` and collects the proof.
    static func prove(key: [UInt8], root: TreeSlot, source: some TreeNodeSource) throws(LedgerError) -> StateProof {
        let keyHash = SHA256.hash(key)
        var levels: [[Hash]] = []
        var slot = root
        // The subtree under `slot` when its parent holds it rather than the store.
        var embedded: TreeNode? = nil
        var depth = 0
        while true {
            switch slot {
            case .empty: return StateProof(levels: levels, terminal: .empty)
            case let .leaf(leafKey, leafValue, _): return StateProof(levels: levels, terminal: .leaf(key: leafKey, value: leafValue))
            case .node:
                let path = NodePath(keyHash, depth: depth)
                let node = try source.node(at: path, embedded: embedded)
                let nibble = nibble(keyHash, at: depth)
                var siblings = node.slotHashes
                siblings.remove(at: nibble)
                levels.append(siblings)
                slot = node[nibble]
                embedded = node.embeddedChild(nibble)
                depth += 1
            }
        }
    }
}
