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
/// Held compactly, since a node is copied, hashed and encoded for every change below it and most nodes use
/// two or three slots: `entries` holds, for each occupied slot in slot order, its hash, followed for a leaf by
/// the leaf's key and value hashes; `leafMask` and `nodeMask` say which slots hold a leaf or a subtree.
struct TreeNode: Hashable, Sendable {
    static let arity = 16
    private var entries: [Hash] = []
    private var leafMask: UInt16 = 0
    private var nodeMask: UInt16 = 0

    init() {}

    subscript(index: Int) -> TreeSlot {
        get {
            let bit: UInt16 = 1 << UInt16(index)
            let at = position(index)
            if nodeMask & bit != 0 { return .node(entries[at]) }
            guard leafMask & bit != 0 else { return .empty }
            return .leaf(key: entries[at + 1], value: entries[at + 2], hash: entries[at])
        }
        set {
            let bit: UInt16 = 1 << UInt16(index)
            let at = position(index)
            let width = leafMask & bit != 0 ? 3 : nodeMask & bit != 0 ? 1 : 0
            leafMask &= ~bit
            nodeMask &= ~bit
            switch newValue {
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
        }
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
            var at = 0
            for index in 0..<Self.arity {
                let bit: UInt16 = 1 << index
                if leafMask & bit != 0 {
                    buffer[count] = 1
                    count += 1
                    append(entries[at + 1])
                    append(entries[at + 2])
                    at += 3
                } else if nodeMask & bit != 0 {
                    buffer[count] = 2
                    count += 1
                    append(entries[at])
                    at += 1
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
