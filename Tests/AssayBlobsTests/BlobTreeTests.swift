import AssayBlobs
import AssayCodec
import AssayCrypto
import PropertyBased
import Testing

/// The documented deterministic pattern of docs/encoding.md: byte `i` of a test blob is `i mod 251`.
func patternBytes(_ range: Range<Int>) -> [UInt8] { range.map { UInt8($0 % 251) } }

func tree(of bytes: [UInt8]) -> BlobTree {
    var hasher = BlobHasher()
    hasher.update(bytes)
    return hasher.finish()
}

func chunk(_ bytes: [UInt8], _ index: Int) -> ArraySlice<UInt8> {
    let start = index * blobChunkBytes
    return bytes[start..<min(bytes.count, start + blobChunkBytes)]
}

/// The root by the definition, one chunk at a time, independent of `BlobHasher`'s buffering.
func definitionRoot(_ bytes: [UInt8]) -> BlobID {
    let count = chunkCount(length: UInt64(bytes.count))
    let leaves = (0..<count).map { blobLeafHash(chunk(bytes, $0)) }
    return try! BlobTree(leaves: leaves, length: UInt64(bytes.count)).id
}

@Suite struct BlobTreeTests {
    @Test func chunkCountsAndLengths() {
        #expect(chunkCount(length: 0) == 1)
        #expect(chunkCount(length: 1) == 1)
        #expect(chunkCount(length: UInt64(blobChunkBytes)) == 1)
        #expect(chunkCount(length: UInt64(blobChunkBytes) + 1) == 2)
        #expect(chunkCount(length: 4 << 30) == 4096)
        #expect(chunkLength(index: 0, length: 0) == 0)
        #expect(chunkLength(index: 1, length: UInt64(blobChunkBytes) + 1) == 1)
        #expect(chunkLength(index: 0, length: UInt64(blobChunkBytes) + 1) == blobChunkBytes)
    }

    @Test func emptyBlobIsOneEmptyLeaf() {
        let empty = tree(of: [])
        #expect(empty.leaves == [SHA256.hash([UInt8(0)])])
        #expect(empty.id.digest == SHA256.hash([UInt8(0)]))
        #expect(empty.length == 0)
    }

    @Test func twoChunksHashAsOneNode() {
        let bytes = patternBytes(0..<blobChunkBytes + 5)
        let left = SHA256.hash([0] + Array(chunk(bytes, 0)))
        let right = SHA256.hash([0] + Array(chunk(bytes, 1)))
        #expect(tree(of: bytes).id.digest == SHA256.hash([1] + left.bytes + right.bytes))
    }

    @Test func hasherMatchesDefinitionForAnySplit() async {
        // Small blobs through the real 1 MiB chunking would be one chunk each; lengths around chunk borders
        // and random cut points exercise the buffering.
        let lengths = [0, 1, blobChunkBytes - 1, blobChunkBytes, blobChunkBytes + 1, 3 * blobChunkBytes + 17]
        let blobs = lengths.map { patternBytes(0..<$0) }
        let roots = blobs.map(definitionRoot)
        await propertyCheck(count: 60, input: Gen.int(in: 0...5), Gen.int(in: 1...(1 << 21)).array(of: 1...6)) {
            which, cuts in
            let bytes = blobs[which]
            var hasher = BlobHasher()
            var offset = 0
            var cut = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + cuts[cut % cuts.count])
                hasher.update(bytes[offset..<end])
                offset = end
                cut += 1
            }
            let result = hasher.finish()
            #expect(result.id == roots[which])
            #expect(result.length == UInt64(bytes.count))
        }
    }

    /// The tree is built bottom-up, level by level; its root and proofs must be those of RFC 6962's recursive
    /// definition (split at the largest power of two below the count).
    @Test func levelsGiveTheRecursiveDefinitionsRootAndPaths() throws {
        func node(_ left: Digest32, _ right: Digest32) -> Digest32 { SHA256.hash([1] + left.bytes + right.bytes) }
        func split(_ count: Int) -> Int { var k = 1; while k * 2 < count { k *= 2 }; return k }
        func root(_ leaves: ArraySlice<Digest32>) -> Digest32 {
            guard leaves.count > 1 else { return leaves.first! }
            let middle = leaves.startIndex + split(leaves.count)
            return node(root(leaves[..<middle]), root(leaves[middle...]))
        }
        func path(_ index: Int, _ leaves: ArraySlice<Digest32>) -> [Digest32] {
            guard leaves.count > 1 else { return [] }
            let k = split(leaves.count)
            let middle = leaves.startIndex + k
            return index < k
                ? path(index, leaves[..<middle]) + [root(leaves[middle...])]
                : path(index - k, leaves[middle...]) + [root(leaves[..<middle])]
        }
        for count in 1...33 {
            let leaves = (0..<count).map { SHA256.hash([UInt8(2), UInt8($0)]) }
            let blob = try BlobTree(leaves: leaves, length: UInt64(count - 1) * UInt64(blobChunkBytes) + 1)
            #expect(blob.id.digest == root(leaves[...]) && merkleRoot(leaves) == root(leaves[...]), "\(count) leaves")
            for index in 0..<count { #expect(blob.proof(chunk: index).siblings == path(index, leaves[...])) }
        }
    }

    @Test func everyProofVerifiesAndTamperingFails() throws {
        // Leaf counts 1...33 cover every RFC 6962 shape up to a few levels, without hashing megabytes.
        for count in 1...33 {
            let leaves = (0..<count).map { SHA256.hash([UInt8(0), UInt8($0)]) }
            let length = UInt64(count - 1) * UInt64(blobChunkBytes) + 1
            let blob = try BlobTree(leaves: leaves, length: length)
            let root = blob.id.digest
            for index in 0..<count {
                let proof = blob.proof(chunk: index)
                #expect(proof.leads(from: leaves[index], index: index, leafCount: count, to: root))
                #expect(!proof.leads(from: leaves[(index + 1) % count], index: index, leafCount: count, to: root)
                    || count == 1)
                if count > 1 {
                    #expect(!proof.leads(from: leaves[index], index: (index + 1) % count, leafCount: count, to: root))
                    var flipped = proof.siblings
                    flipped[0] = SHA256.hash(flipped[0].bytes)
                    #expect(!ChunkProof(siblings: flipped).leads(from: leaves[index], index: index, leafCount: count, to: root))
                }
                let longer = ChunkProof(siblings: proof.siblings + [root])
                #expect(!longer.leads(from: leaves[index], index: index, leafCount: count, to: root))
                #expect(try ChunkProof(canonicalBytes: proof.canonicalBytes) == proof)
            }
        }
    }

    @Test func verifyChecksRealChunks() throws {
        let bytes = patternBytes(0..<2 * blobChunkBytes + 10)
        let blob = tree(of: bytes)
        let ref = blob.ref
        for index in 0..<3 {
            try verify(chunk: chunk(bytes, index), index: index, proof: blob.proof(chunk: index), ref: ref)
        }
        var flipped = Array(chunk(bytes, 2))
        flipped[3] ^= 0x10
        #expect(throws: BlobError.chunkMismatch(id: ref.id, index: 2)) {
            try verify(chunk: flipped, index: 2, proof: blob.proof(chunk: 2), ref: ref)
        }
        #expect(throws: BlobError.wrongChunkLength(index: 2, expected: 10, actual: 9)) {
            try verify(chunk: chunk(bytes, 2).dropLast(), index: 2, proof: blob.proof(chunk: 2), ref: ref)
        }
        #expect(throws: BlobError.chunkIndexOutOfRange(index: 3, chunkCount: 3)) {
            try verify(chunk: chunk(bytes, 2), index: 3, proof: blob.proof(chunk: 2), ref: ref)
        }
        let wrongLength = BlobRef(id: ref.id, length: ref.length + 1)
        #expect(throws: BlobError.wrongChunkLength(index: 2, expected: 11, actual: 10)) {
            try verify(chunk: chunk(bytes, 2), index: 2, proof: blob.proof(chunk: 2), ref: wrongLength)
        }
        // A length with another chunk count changes the tree shape, so no proof carries over.
        let shorter = BlobRef(id: ref.id, length: UInt64(blobChunkBytes) + 10)
        #expect(throws: BlobError.chunkMismatch(id: ref.id, index: 1)) {
            try verify(chunk: patternBytes(0..<10), index: 1, proof: blob.proof(chunk: 1), ref: shorter)
        }
    }

    @Test func decodersAreBoundedAndTotal() throws {
        #expect(throws: CodecError.overLengthBound(length: 65, bound: 64)) {
            try ChunkProof(canonicalBytes: [65])
        }
        #expect(throws: CodecError.truncated(needed: 32, remaining: 3)) {
            try ChunkProof(canonicalBytes: [1, 0, 0, 0])
        }
        #expect(throws: CodecError.truncated(needed: 8, remaining: 0)) {
            try BlobRef(canonicalBytes: [UInt8](repeating: 7, count: 32))
        }
        #expect(throws: CodecError.trailingBytes(count: 1)) {
            try BlobRef(canonicalBytes: [UInt8](repeating: 7, count: 41))
        }
        let ref = BlobRef(id: BlobID(SHA256.hash([UInt8]())), length: 0x0102)
        #expect(Array(ref.canonicalBytes.suffix(8)) == [2, 1, 0, 0, 0, 0, 0, 0])
        #expect(try BlobRef(canonicalBytes: ref.canonicalBytes) == ref)
    }

    @Test func idTextFormIsStrict() {
        let id = BlobID(SHA256.hash([UInt8]()))
        #expect(BlobID(hex: id.hex) == id)
        #expect(id.hex.count == 64)
        #expect(BlobID(hex: id.hex.uppercased()) == nil)
        #expect(BlobID(hex: "0x" + id.hex.dropFirst(2)) == nil)
        #expect(BlobID(hex: String(id.hex.dropLast())) == nil)
        #expect(BlobID(hex: String(id.hex.dropLast()) + "g") == nil)
    }

    @Test func leafFileRoundTrips() throws {
        let blob = tree(of: patternBytes(0..<blobChunkBytes + 1))
        #expect(try BlobTree(leafBytes: blob.leafBytes, length: blob.length) == blob)
        #expect(throws: BlobError.wrongLeafCount(expected: 2, actual: 1)) {
            try BlobTree(leafBytes: Array(blob.leafBytes.prefix(32)), length: blob.length)
        }
        #expect(throws: BlobError.self) {
            try BlobTree(leafBytes: Array(blob.leafBytes.dropLast()), length: blob.length)
        }
    }
}
