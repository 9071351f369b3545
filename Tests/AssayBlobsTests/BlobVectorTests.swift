import AssayBlobs
import AssayCodec
import AssayCrypto
import Foundation
import Testing

/// Checks docs/vectors/blobs.json against the code, and that docs/encoding.md shows the same ids.
/// `ASSAY_RECORD_VECTORS=1 swift test --filter BlobVectorTests` rewrites the file from the code (review the diff).
@Suite struct BlobVectorTests {
    struct Vector: Codable, Equatable {
        var length: UInt64
        var leaves: [String]
        var id: String
        var ref: String
        var proofs: [String]
    }

    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs")
        .standardized

    static let lengths = [0, blobChunkBytes, blobChunkBytes + 1, 5 * blobChunkBytes + 123]

    static func vector(length: Int) -> Vector {
        let blob = tree(of: patternBytes(0..<length))
        return Vector(
            length: UInt64(length), leaves: blob.leaves.map(\.description), id: blob.id.hex,
            ref: Hex.encode(blob.ref.canonicalBytes),
            proofs: (0..<blob.leaves.count).map { Hex.encode(blob.proof(chunk: $0).canonicalBytes) })
    }

    @Test func vectorsMatchTheCode() throws {
        let path = Self.docs.appendingPathComponent("vectors/blobs.json")
        let recomputed = Self.lengths.map(Self.vector)
        if ProcessInfo.processInfo.environment["ASSAY_RECORD_VECTORS"] == "1" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(recomputed).write(to: path)
        }
        let file = try JSONDecoder().decode([Vector].self, from: Data(contentsOf: path))
        #expect(file == recomputed)
    }

    @Test func encodingDocShowsTheIds() throws {
        let text = try String(contentsOf: Self.docs.appendingPathComponent("encoding.md"), encoding: .utf8)
        for length in Self.lengths {
            let vector = Self.vector(length: length)
            #expect(text.contains(vector.id), "docs/encoding.md lacks the id of the \(length)-byte vector")
        }
        let last = Self.vector(length: Self.lengths.last!)
        let proof = try ChunkProof(canonicalBytes: Hex.decode(last.proofs[5])!)
        #expect(text.contains("```\n02 "), "docs/encoding.md shows the proof's sibling count")
        for sibling in proof.siblings {
            #expect(text.contains(sibling.description), "docs/encoding.md lacks a sibling of chunk 5's proof")
        }
    }
}
