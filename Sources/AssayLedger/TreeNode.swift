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
struct TreeNode: Hashable, Sendable {
    static let arity = 16
    var slots: [TreeSlot]

    init(slots: [TreeSlot] = Array(repeating: .empty, count: TreeNode.arity)) {
        precondition(slots.count == Self.arity)
        self.slots = slots
    }

    /// SHA-256 of 0x01 followed by the sixteen slot hashes (zero for an empty slot).
    var hash: Hash { SparseMerkleTree.nodeHash { slots[$0].hash } }

    var occupied: Int { slots.reduce(0) { $0 + ($1.isEmpty ? 0 : 1) } }
}

extension TreeNode: CanonicalCodable {
    /// The same bytes as `encode(to:)`, written straight into one allocation (a node is written for every
    /// change below it).
    var encoded: [UInt8] {
        var size = 2
        for slot in slots {
            switch slot {
            case .empty: break
            case .leaf: size += 65
            case .node: size += 33
            }
        }
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var bitmap: UInt16 = 0
            for (index, slot) in slots.enumerated() where !slot.isEmpty { bitmap |= 1 << UInt16(index) }
            buffer[0] = UInt8(truncatingIfNeeded: bitmap)
            buffer[1] = UInt8(truncatingIfNeeded: bitmap >> 8)
            count = 2
            func append(_ hash: Hash) {
                hash.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).baseAddress!.advanced(by: count).copyMemory(from: $0.baseAddress!, byteCount: 32) }
                count += 32
            }
            for slot in slots {
                switch slot {
                case .empty: break
                case let .leaf(key, value, _):
                    buffer[count] = 1
                    count += 1
                    append(key)
                    append(value)
                case let .node(hash):
                    buffer[count] = 2
                    count += 1
                    append(hash)
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
        var bitmap: UInt16 = 0
        for (index, slot) in slots.enumerated() where !slot.isEmpty { bitmap |= 1 << UInt16(index) }
        writer.write(bitmap)
        for slot in slots where !slot.isEmpty { writer.write(slot) }
    }

    init(from reader: inout CanonicalReader) throws(CodecError) {
        let bitmap = try reader.readUInt16()
        var slots = [TreeSlot](repeating: .empty, count: Self.arity)
        for index in 0..<Self.arity where bitmap & (1 << UInt16(index)) != 0 {
            let slot: TreeSlot = try reader.read()
            guard !slot.isEmpty else { throw .invalidValue("occupied tree slot encoded as empty") }
            slots[index] = slot
        }
        self.init(slots: slots)
    }
}
