import AssayCodec
import AssayCrypto
import AssayStorage
import AssayTypes

/// One of a tree node's sixteen children: nothing, a single leaf, or a subtree with at least two leaves.
///
/// A leaf sits in the shallowest slot that no other key shares, so the tree's shape (and root) depends only
/// on the set of keys and values, never on the order they were written in.
enum TreeSlot: Hashable, Sendable {
    case empty
    /// `key` and `value` are SHA-256 of the state key and state value; `hash` is the leaf hash, kept to
    /// avoid rehashing every leaf whenever its parent node is rehashed.
    case leaf(key: Hash, value: Hash, hash: Hash)
    case node(Hash)

    static func leaf(key: Hash, value: Hash) -> TreeSlot {
        .leaf(key: key, value: value, hash: SparseMerkleTree.leafHash(key: key, value: value))
    }

    var hash: Hash {
        switch self {
        case .empty: .zero
        case let .leaf(_, _, hash): hash
        case let .node(hash): hash
        }
    }

    var isEmpty: Bool {
        if case .empty = self { return true }
        return false
    }
}

extension TreeSlot: CanonicalCodable {
    func encode(to writer: inout CanonicalWriter) {
        switch self {
        case .empty: writer.writeULEB128(0)
        case let .leaf(key, value, _):
            writer.writeULEB128(1)
            writer.write(key)
            writer.write(value)
        case let .node(hash):
            writer.writeULEB128(2)
            writer.write(hash)
        }
    }

    init(from reader: inout CanonicalReader) throws(CodecError) {
        switch try reader.readTag() {
        case 0: self = .empty
        case 1: self = .leaf(key: try reader.read(), value: try reader.read())
        case 2: self = .node(try reader.read())
        case let tag: throw .unknownTag(tag, type: "TreeSlot")
        }
    }
}

/// An inner node: sixteen slots, one per value of the key nibble at its depth.
///
/// Held compactly, since a node is copied, hashed and encoded for every change below it: `hashes` holds the
/// sixteen slot hashes (zero for an empty slot), then the key and value hash of each leaf slot, in slot order;
/// `leafMask` and `nodeMask` say which slots hold a leaf or a subtree.
struct TreeNode: Hashable, Sendable {
    static let arity = 16
    private var hashes: [Hash]
    private var leafMask: UInt16 = 0
    private var nodeMask: UInt16 = 0

    init() { hashes = Array(repeating: .zero, count: Self.arity) }

    subscript(index: Int) -> TreeSlot {
        get {
            let bit: UInt16 = 1 << index
            if nodeMask & bit != 0 { return .node(hashes[index]) }
            guard leafMask & bit != 0 else { return .empty }
            let at = leafPosition(index)
            return .leaf(key: hashes[at], value: hashes[at + 1], hash: hashes[index])
        }
        set {
            let bit: UInt16 = 1 << index
            let at = leafPosition(index)
            let wasLeaf = leafMask & bit != 0
            hashes[index] = newValue.hash
            switch newValue {
            case let .leaf(key, value, _):
                if !wasLeaf {
                    hashes.insert(value, at: at)
                    hashes.insert(key, at: at)
                }
                hashes[at] = key
                hashes[at + 1] = value
                leafMask |= bit
                nodeMask &= ~bit
            case .node, .empty:
                if wasLeaf { hashes.removeSubrange(at..<(at + 2)) }
                leafMask &= ~bit
                if case .node = newValue { nodeMask |= bit } else { nodeMask &= ~bit }
            }
        }
    }

    /// Where slot `index`'s leaf key and value sit (or would sit) in `hashes`.
    private func leafPosition(_ index: Int) -> Int {
        Self.arity + 2 * (leafMask & ((1 << UInt16(index)) &- 1)).nonzeroBitCount
    }

    var slotHashes: ArraySlice<Hash> { hashes[0..<Self.arity] }

    /// SHA-256 of 0x01 followed by the sixteen slot hashes (zero for an empty slot).
    var hash: Hash { hashes.withUnsafeBytes { SparseMerkleTree.nodeHash(slotHashes: UnsafeRawBufferPointer(rebasing: $0.prefix(32 * Self.arity))) } }

    /// The slot left when the node holds a single leaf or nothing, which then takes the node's place;
    /// nil when the node must stay (a subtree below it, or two or more slots used).
    var collapsed: TreeSlot? {
        guard nodeMask == 0, leafMask.nonzeroBitCount <= 1 else { return nil }
        return leafMask == 0 ? .empty : self[leafMask.trailingZeroBitCount]
    }
}

extension TreeNode: CanonicalCodable {
    /// The same bytes as `encode(to:)`, written straight into one allocation (a node is written for every
    /// change below it).
    var encoded: [UInt8] {
        let size = 2 + 65 * leafMask.nonzeroBitCount + 33 * nodeMask.nonzeroBitCount
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            let bitmap = leafMask | nodeMask
            buffer[0] = UInt8(truncatingIfNeeded: bitmap)
            buffer[1] = UInt8(truncatingIfNeeded: bitmap >> 8)
            count = 2
            let base = UnsafeMutableRawPointer(buffer.baseAddress!)
            func append(_ hash: Hash) {
                hash.withUnsafeBytes { (base + count).copyMemory(from: $0.baseAddress!, byteCount: 32) }
                count += 32
            }
            var leaf = Self.arity
            for index in 0..<Self.arity {
                let bit: UInt16 = 1 << index
                if leafMask & bit != 0 {
                    buffer[count] = 1
                    count += 1
                    append(hashes[leaf])
                    append(hashes[leaf + 1])
                    leaf += 2
                } else if nodeMask & bit != 0 {
                    buffer[count] = 2
                    count += 1
                    append(hashes[index])
                }
            }
        }
    }

    /// The node stored at `path`, if any.
    static func load(at path: NodePath, from store: any KeyValueReader) throws(LedgerError) -> TreeNode? {
        let key = path.storageKey
        guard let bytes = try StateCache.read(key, in: LedgerNamespace.smt, from: store) else { return nil }
        do { return try TreeNode(canonicalBytes: bytes) } catch {
            throw .corruptState(key: Hex.encode(key), reason: "\(error)")
        }
    }

    /// A 16-bit occupancy bitmap, then each occupied slot in order.
    func encode(to writer: inout CanonicalWriter) {
        writer.write(leafMask | nodeMask)
        for index in 0..<Self.arity where (leafMask | nodeMask) & (1 << UInt16(index)) != 0 { writer.write(self[index]) }
    }

    init(from reader: inout CanonicalReader) throws(CodecError) {
        let bitmap = try reader.readUInt16()
        self.init()
        for index in 0..<Self.arity where bitmap & (1 << UInt16(index)) != 0 {
            let slot: TreeSlot = try reader.read()
            guard !slot.isEmpty else { throw .invalidValue("occupied tree slot encoded as empty") }
            self[index] = slot
        }
    }
}
