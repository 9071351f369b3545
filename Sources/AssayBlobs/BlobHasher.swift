import AssayCrypto

/// Computes a blob's tree from its bytes fed in pieces of any size, holding at most one chunk of data (plus 32
/// bytes per chunk for the leaf hashes). Used to hash a file before upload and to check a download as it arrives.
public struct BlobHasher: Sendable {
    private var pending: [UInt8] = []
    private var leaves: [Digest32] = []
    private var length: UInt64 = 0

    public init() { pending.reserveCapacity(blobChunkBytes) }

    /// The bytes fed so far.
    public var byteCount: UInt64 { length }

    public mutating func update(_ bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { raw in
            var rest = raw[...]
            while !rest.isEmpty {
                let take = min(rest.count, blobChunkBytes - pending.count)
                pending.append(contentsOf: rest.prefix(take))
                rest = rest.dropFirst(take)
                if pending.count == blobChunkBytes { flushChunk() }
            }
            length += UInt64(raw.count)
        }
    }

    /// The tree of everything fed. A blob whose length is a non-zero multiple of the chunk size ends on a full
    /// chunk; otherwise the pending bytes (possibly none, for the empty blob) are the last chunk.
    public consuming func finish() -> BlobTree {
        if !pending.isEmpty || leaves.isEmpty { flushChunk() }
        do { return try BlobTree(leaves: leaves, length: length) } catch {
            preconditionFailure("the hasher made \(leaves.count) leaves for \(length) bytes")
        }
    }

    private mutating func flushChunk() {
        leaves.append(blobLeafHash(pending))
        pending.removeAll(keepingCapacity: true)
    }
}

extension BlobRef {
    /// The reference of bytes held in memory (a small tensor a kernel produced, or a test's data).
    public init(of bytes: [UInt8]) {
        var hasher = BlobHasher()
        hasher.update(bytes)
        self = hasher.finish().ref
    }
}
