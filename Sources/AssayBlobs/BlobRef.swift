import AssayCodec
import AssayCrypto

/// Blobs are cut into chunks of this many bytes (1 MiB); only the last chunk may be shorter.
///
/// 1 MiB keeps the leaf list small (32 bytes per MiB: 128 KiB for a 4 GiB blob), a chunk cheap to hold and to
/// re-send, and SHA-256 at its full speed (about 1.4 GB/s on one core at this size).
public let blobChunkBytes = 1 << 20

/// The number of chunks of a blob of `length` bytes. The empty blob is one empty chunk, so this is never 0.
public func chunkCount(length: UInt64) -> Int {
    length == 0 ? 1 : Int((length - 1) / UInt64(blobChunkBytes)) + 1
}

/// The byte length of chunk `index` of a blob of `length` bytes (`index` must be below `chunkCount(length:)`).
public func chunkLength(index: Int, length: UInt64) -> Int {
    precondition(index >= 0 && index < chunkCount(length: length), "chunk index out of range")
    let start = UInt64(index) * UInt64(blobChunkBytes)
    return Int(min(UInt64(blobChunkBytes), length - start))
}

/// The identity of a blob: the root of the binary SHA-256 Merkle tree over its chunks (docs/encoding.md, Blobs).
///
/// Leaves and inner nodes are hashed with different prefixes, so the root fixes the chunk count, every chunk's
/// bytes and therefore the length.
public struct BlobID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let digest: Digest32

    public init(_ digest: Digest32) { self.digest = digest }

    /// Parses the text form: exactly 64 lower-case hex characters; nil for anything else.
    public init?(hex text: String) {
        let utf8 = text.utf8
        guard utf8.count == 2 * Digest32.byteCount,
            utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
            let bytes = Hex.decode(text)
        else { return nil }
        digest = Digest32(bytes)
    }

    /// The text form: 64 lower-case hex characters (also the blob's file name in the store).
    public var hex: String { digest.description }
    public var description: String { hex }

    public static func < (lhs: BlobID, rhs: BlobID) -> Bool { lhs.digest < rhs.digest }
}

/// How a transaction names a blob: its id and its length, so that a receiver knows the chunk count and every
/// chunk's length before it holds any data.
///
/// Encoding: `id: bytes[32]`, then `length: u64` (little-endian).
public struct BlobRef: Hashable, Sendable, CanonicalCodable, CustomStringConvertible {
    public let id: BlobID
    public let length: UInt64

    public init(id: BlobID, length: UInt64) {
        self.id = id
        self.length = length
    }

    public var chunkCount: Int { AssayBlobs.chunkCount(length: length) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.writeFixed(id.digest.bytes)
        writer.write(length)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        id = BlobID(Digest32(try reader.readFixed(count: Digest32.byteCount)))
        length = try reader.readUInt64()
    }

    public var description: String { "\(id.hex) (\(length) bytes)" }
}
