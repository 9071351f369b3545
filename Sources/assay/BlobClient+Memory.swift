import AssayBlobs
import Foundation

/// Blobs the command line holds in memory (an encoded input tensor, model or output, bounded by the chain's
/// `max_*_bytes`), moved with the same requests as `assay blob put/get`.
extension BlobClient {
    init(_ rpc: RPCClient) { base = rpc.url }

    /// Uploads `bytes` unless the node already holds them, at most `requestChunks` chunks per request; returns
    /// their reference.
    func upload(_ bytes: [UInt8]) async throws -> BlobRef {
        let ref = BlobRef(of: bytes)
        if try await status(ref.id, length: ref.length)?.complete == true { return ref }
        var first = 0
        while first < ref.chunkCount {
            let end = min(first + Self.requestChunks, ref.chunkCount)
            let piece = bytes[(first * blobChunkBytes)..<min(end * blobChunkBytes, bytes.count)]
            let status = try await put(ref, first: first, bytes: Data(piece))
            if end == ref.chunkCount && !status.complete {
                throw CommandFailure("the node did not complete blob \(ref) after the last chunk")
            }
            first = end
        }
        return ref
    }

    /// Downloads the complete blob `ref` into memory and checks that its bytes hash to its id.
    func download(_ ref: BlobRef) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(ref.length))
        try await download(ref) { bytes += $0 }
        return bytes
    }
}
