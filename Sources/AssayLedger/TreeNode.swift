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
/// Held compactly, since a node is copied, hashed and encoded for every change below it and most nodes use
/// two or three slots: `entries` holds, for each occupied slot in slot order, its hash, followed for a leaf by
/// the leaf's key and value hashes; `leafMask` and `nodeMask` say which slots hold a leaf or a subtree.
///
/// A subtree of at most `embeddedLeavesMax` leaves is kept inside its parent (`embedded`, in slot order,
/// its slots marked in `embeddedMask`) rather than stored under its own path: most nodes near the bottom
/// hold two or three leaves, and storing them apart cost a cache entry, a store write and a store key each.
/// Whether a subtree is embedded depends only on its leaves, so the stored layout, like the root, depends
/// only on the state. The root node is always stored.
struct TreeNode: Hashable, Sendable {
    static let arity = 16
    static let embeddedLeavesMax = 8
    private var entries: [Hash] = []
    private var leafMask: UInt16 = 0
    private var nodeMask: UInt16 = 0
    private var embedded: [TreeNode] = []
    private var embeddedMask: UInt16 = 0
    /// Leaves here and in the embedded subtrees, and the length of `encoded`: kept up to date by `set`, so
    /// that neither needs a walk over the embedded subtrees.
    private var leafCount = 0
    private var encodedSize = 2

    init() {}

    subscript(index: Int) -> TreeSlot {
        let bit: UInt16 = 1 << UInt16(index)
        let at = position(index)
        if nodeMask & bit != 0 { return .node(entries[at]) }
        guard leafMask & bit != 0 else { return .empty }
        return .leaf(key: entries[at + 1], value: entries[at + 2], hash: entries[at])
    }

    /// The subtree under slot `index` when it is kept inside this node.
    func embeddedChild(_ index: Int) -> TreeNode? {
        let bit: UInt16 = 1 << UInt16(index)
        guard embeddedMask & bit != 0 else { return nil }
        return embedded[(embeddedMask & (bit &- 1)).nonzeroBitCount]
    }

    /// Sets slot `index`; `child` is the subtree's content when it is to be kept inside this node (only
    /// for a `.node` slot).
    mutating func set(_ index: Int, _ slot: TreeSlot, embedding child: TreeNode? = nil) {
        let bit: UInt16 = 1 << UInt16(index)
        let at = position(index)
        let width = leafMask & bit != 0 ? 3 : nodeMask & bit != 0 ? 1 : 0
        let rank = (embeddedMask & (bit &- 1)).nonzeroBitCount
        if width == 3 {
            leafCount -= 1
            encodedSize -= 65
        } else if embeddedMask & bit != 0 {
            leafCount -= embedded[rank].leafCount
            encodedSize -= 1 + embedded[rank].encodedSize
        } else if width == 1 {
            encodedSize -= 33
        }
        leafMask &= ~bit
        nodeMask &= ~bit
        switch slot {
        case .empty:
            entries.removeSubrange(at..<(at + width))
        case let .node(hash):
            nodeMask |= bit
            if width == 1 { entries[at] = hash } else { entries.replaceSubrange(at..<(at + width), with: CollectionOfOne(hash)) }
        case let .leaf(key, value, hash):
            leafMask |= bit
            // A leaf's value changing is the common case: overwrite in place.
            if width != 3 { entries.replaceSubrange(at..<(at + width), with: repeatElement(Hash.zero, count: 3)) }
            entries[at] = hash
            entries[at + 1] = key
            entries[at + 2] = value
        }
        precondition(child == nil || nodeMask & bit != 0, "only a subtree slot embeds a node")
        if case .leaf = slot {
            leafCount += 1
            encodedSize += 65
        } else if let child {
            leafCount += child.leafCount
            encodedSize += 1 + child.encodedSize
        } else if case .node = slot {
            encodedSize += 33
        }
        switch (embeddedMask & bit != 0, child) {
        case let (true, child?): embedded[rank] = child
        case (true, nil): embedded.remove(at: rank)
        case let (false, child?): embedded.insert(child, at: rank)
        case (false, nil): break
        }
        embeddedMask = child == nil ? embeddedMask & ~bit : embeddedMask | bit
    }

    /// Where slot `index`'s entries start (or would start) in `entries`.
    private func position(_ index: Int) -> Int {
        let below: UInt16 = (1 << UInt16(index)) &- 1
        return (nodeMask & below).nonzeroBitCount + 3 * (leafMask & below).nonzeroBitCount
    }

    /// The sixteen slot hashes, zero for an empty slot.
    var slotHashes: [Hash] { (0..<Self.arity).map { self[$0].hash } }

    /// SHA-256 of 0x01 followed by the sixteen slot hashes (zero for an empty slot).
    var hash: Hash {
        var at = 0
        return SparseMerkleTree.nodeHash { index in
            let bit: UInt16 = 1 << UInt16(index)
            guard (leafMask | nodeMask) & bit != 0 else { return .zero }
            defer { at += leafMask & bit != 0 ? 3 : 1 }
            return entries[at]
        }
    }

    /// The slot left when the node holds a single leaf or nothing, which then takes the node's place;
    /// nil when the node must stay (a subtree below it, or two or more slots used).
    var collapsed: TreeSlot? {
        guard nodeMask == 0, leafMask.nonzeroBitCount <= 1 else { return nil }
        return leafMask == 0 ? .empty : self[leafMask.trailingZeroBitCount]
    }

    /// Whether the whole subtree has at most `embeddedLeavesMax` leaves, so that it lives in its parent.
    /// A subtree stored on its own below means more leaves than that.
    var fitsInParent: Bool { nodeMask & ~embeddedMask == 0 && leafCount <= Self.embeddedLeavesMax }
}

extension TreeNode: CanonicalCodable {
    /// A 16-bit occupancy bitmap, then each occupied slot in order: 1 and the leaf's key and value hashes,
    /// 2 and a stored subtree's hash, or 3 and an embedded subtree's own encoding.
    /// Written straight into one allocation (a node is written for every change below it).
    var encoded: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: encodedSize) { buffer, count in
            count = 0
            write(to: UnsafeMutableRawPointer(buffer.baseAddress!), at: &count)
            assert(count == encodedSize, "encodedSize out of step with the slots")
        }
    }

    private func write(to base: UnsafeMutableRawPointer, at count: inout Int) {
        let bitmap = leafMask | nodeMask
        base.storeBytes(of: UInt8(truncatingIfNeeded: bitmap), toByteOffset: count, as: UInt8.self)
        base.storeBytes(of: UInt8(truncatingIfNeeded: bitmap >> 8), toByteOffset: count + 1, as: UInt8.self)
        count += 2
        func append(_ hash: Hash) {
            hash.withUnsafeBytes { (base + count).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            count += 32
        }
        func tag(_ value: UInt8) {
            base.storeBytes(of: value, toByteOffset: count, as: UInt8.self)
            count += 1
        }
        var at = 0
        var child = 0
        for index in 0..<Self.arity {
            let bit: UInt16 = 1 << UInt16(index)
            if leafMask & bit != 0 {
                tag(1)
                append(entries[at + 1])
                append(entries[at + 2])
                at += 3
            } else if embeddedMask & bit != 0 {
                tag(3)
                embedded[child].write(to: base, at: &count)
                child += 1
                at += 1
            } else if nodeMask & bit != 0 {
                tag(2)
                append(entries[at])
                at += 1
            }
        }
    }

    func encode(to writer: inout CanonicalWriter) { writer.writeFixed(encoded) }

    init(from reader: inout CanonicalReader) throws(CodecError) {
        try self.init(from: &reader, nesting: 0)
    }

    /// `nesting` counts the embedding levels above, bounded like the tree's depth.
    private init(from reader: inout CanonicalReader, nesting: Int) throws(CodecError) {
        guard nesting < SparseMerkleTree.depthMax else { throw .invalidValue("tree node nested too deep") }
        let bitmap = try reader.readUInt16()
        self.init()
        for index in 0..<Self.arity where bitmap & (1 << UInt16(index)) != 0 {
            switch try reader.readTag() {
            case 1: set(index, .leaf(key: try reader.read(), value: try reader.read()))
            case 2: set(index, .node(try reader.read()))
            case 3:
                let child = try TreeNode(from: &reader, nesting: nesting + 1)
                guard child.fitsInParent, child.collapsed == nil else { throw .invalidValue("embedded tree node too large or too small") }
                set(index, .node(child.hash), embedding: child)
            case let tag: throw .unknownTag(tag, type: "TreeSlot")
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
}
