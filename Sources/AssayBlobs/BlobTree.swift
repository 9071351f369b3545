import AssayCodec
import AssayCrypto

/// The leaf hash of a chunk: SHA-256(0x00 || chunk).
public func blobLeafHash(_ chunk: some ContiguousBytes) -> Digest32 { SHA256.hash(tag: 0x00, chunk) }

/// An inner node: SHA-256(0x01 || left || right).
func blobNodeHash(_ left: Digest32, _ right: Digest32) -> Digest32 { SHA256.hash(tag: 0x01, left, right) }

/// The root of the blob tree's shape and node hash over any non-empty list of leaf hashes (a blob's chunk leaves,
/// or the tile hashes of a kernel trace).
public func merkleRoot(_ leaves: [Digest32]) -> Digest32 {
    precondition(!leaves.isEmpty, "a Merkle tree needs at least one leaf")
    return BlobTree.levels(leaves).last![0]
}

/// The Merkle tree of one blob: its leaf hashes (32 bytes per chunk, 128 KiB for 4 GiB) and every level above
/// them, built once, so that the id and the proof of any chunk cost no hashing. RFC 6962 shape: the left subtree
/// of `n` leaves holds the largest power of two strictly below `n`; built bottom-up, that is pairing neighbours
/// on each level and carrying a last unpaired node up as it is.
public struct BlobTree: Sendable, Equatable {
    public let length: UInt64
    /// The leaves first, the root alone last.
    private let levels: [[Digest32]]

    /// Fails unless there is exactly one leaf per chunk of a blob of `length` bytes.
    public init(leaves: [Digest32], length: UInt64) throws(BlobError) {
        let expected = chunkCount(length: length)
        guard leaves.count == expected else { throw .wrongLeafCount(expected: expected, actual: leaves.count) }
        self.length = length
        levels = Self.levels(leaves)
    }

    /// Reads the leaf file format: the leaf hashes concatenated (`chunkCount * 32` bytes).
    public init(leafBytes: [UInt8], length: UInt64) throws(BlobError) {
        guard leafBytes.count % Digest32.byteCount == 0 else {
            throw .wrongLeafCount(expected: chunkCount(length: length), actual: leafBytes.count / Digest32.byteCount)
        }
        let leaves = stride(from: 0, to: leafBytes.count, by: Digest32.byteCount).map {
            Digest32(Array(leafBytes[$0..<$0 + Digest32.byteCount]))
        }
        try self.init(leaves: leaves, length: length)
    }

    public var leaves: [Digest32] { levels[0] }

    /// The leaf hashes concatenated, as kept beside a complete blob.
    public var leafBytes: [UInt8] { leaves.flatMap(\.bytes) }

    public var id: BlobID { BlobID(levels[levels.count - 1][0]) }
    public var ref: BlobRef { BlobRef(id: id, length: length) }

    /// The audit path of chunk `index`: sibling hashes from the leaf up to the root (RFC 6962 PATH), one per
    /// level where the node on the path has a sibling.
    public func proof(chunk index: Int) -> ChunkProof {
        precondition(index >= 0 && index < leaves.count, "chunk index out of range")
        var siblings: [Digest32] = []
        var position = index
        for level in levels.dropLast() {
            if position ^ 1 < level.count { siblings.append(level[position ^ 1]) }
            position >>= 1
        }
        return ChunkProof(siblings: siblings)
    }

    /// Every level over `leaves` (at least one), bottom-up.
    static func levels(_ leaves: [Digest32]) -> [[Digest32]] {
        var levels = [leaves]
        while let below = levels.last, below.count > 1 {
            levels.append(stride(from: 0, to: below.count, by: 2).map {
                $0 + 1 < below.count ? blobNodeHash(below[$0], below[$0 + 1]) : below[$0]
            })
        }
        return levels
    }
}

/// The audit path of one chunk: the sibling hashes from its leaf up to the root, bottom-up. The chunk index and
/// the blob's `BlobRef` travel beside it, so they are not part of it.
///
/// Encoding: `list<bytes[32]>` (at most 64 entries).
public struct ChunkProof: Hashable, Sendable, CanonicalCodable {
    /// A tree of 2^64 chunks would be 64 levels deep; no real proof is longer (a 4 GiB blob needs 12).
    public static let maxSiblings = 64

    public let siblings: [Digest32]

    public init(siblings: [Digest32]) { self.siblings = siblings }

    public func encode(to writer: inout CanonicalWriter) {
        writer.writeULEB128(UInt64(siblings.count))
        for sibling in siblings { writer.writeFixed(sibling.bytes) }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let count = try reader.readLength(bound: Self.maxSiblings)
        var siblings: [Digest32] = []
        for _ in 0..<count { siblings.append(Digest32(try reader.readFixed(count: Digest32.byteCount))) }
        self.siblings = siblings
    }

    /// Whether `leaf`, as leaf `index` of a tree of `leafCount` leaves, hashes up this path to `root`
    /// (RFC 9162 section 2.1.3.2). A path of the wrong length for that position fails.
    public func leads(from leaf: Digest32, index: Int, leafCount: Int, to root: Digest32) -> Bool {
        guard index >= 0, index < leafCount else { return false }
        var position = index
        var last = leafCount - 1
        var hash = leaf
        for sibling in siblings {
            if last == 0 { return false }
            if position & 1 == 1 || position == last {
                hash = blobNodeHash(sibling, hash)
                while position & 1 == 0 && position != 0 {
                    position >>= 1
                    last >>= 1
                }
            } else {
                hash = blobNodeHash(hash, sibling)
            }
            position >>= 1
            last >>= 1
        }
        return last == 0 && hash == root
    }
}

/// Checks that `chunk` is chunk `index` of the blob `ref`: the index is in range, the chunk has the length its
/// position implies, and its leaf hashes up `proof` to `ref.id`.
///
/// One proof does not prove `ref.length`: a length with another chunk count whose tree has the same shape along
/// this chunk's path passes too. The root binds the chunk count, so the length is proven when the whole blob is
/// (`BlobStore` checks the root over all leaves before a blob counts as complete).
public func verify(chunk: some ContiguousBytes, index: Int, proof: ChunkProof, ref: BlobRef) throws(BlobError) {
    _ = try verifiedLeaf(chunk: chunk, index: index, proof: proof, ref: ref)
}

/// `verify`, returning the chunk's leaf hash (so a store records it without hashing the chunk again).
func verifiedLeaf(chunk: some ContiguousBytes, index: Int, proof: ChunkProof, ref: BlobRef) throws(BlobError) -> Digest32 {
    try checkShape(chunk: chunk, index: index, ref: ref)
    let leaf = blobLeafHash(chunk)
    guard proof.leads(from: leaf, index: index, leafCount: ref.chunkCount, to: ref.id.digest) else {
        throw .chunkMismatch(id: ref.id, index: index)
    }
    return leaf
}

/// The checks that need no proof: the index is in range and the chunk has the length its position implies.
func checkShape(chunk: some ContiguousBytes, index: Int, ref: BlobRef) throws(BlobError) {
    guard index >= 0, index < ref.chunkCount else {
        throw .chunkIndexOutOfRange(index: index, chunkCount: ref.chunkCount)
    }
    let expected = chunkLength(index: index, length: ref.length)
    let actual = chunk.withUnsafeBytes { $0.count }
    guard actual == expected else { throw .wrongChunkLength(index: index, expected: expected, actual: actual) }
}
