import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayP2P
import Foundation
import Logging
import Synchronization

/// Answers peers' blob chunk requests from the local store: each chunk with its proof, from complete blobs only.
/// Disk reads run on a queue of their own, so they never hold up the router and the consensus messages behind it;
/// beyond `pendingRequestsMax` waiting requests the answer is "not held" and the asker tries another peer.
///
/// The trees of the blobs served last are kept (`servedBlobsMax`), so a proof costs no hashing. The first time this
/// process serves a chunk it checks the chunk against its recorded leaf hash: a copy that rotted on this node's
/// disk is removed (to be fetched again when needed, as `StoreBlobSource` does) rather than sent to peers that would
/// drop this node as a liar. Later serves of that chunk are not hashed again.
public final class BlobServer: Sendable {
    static let pendingRequestsMax = 64
    static let servedBlobsMax = 8

    let store: BlobStore
    let p2p: P2PService
    let traffic: BlobTraffic
    let logger: Logger
    /// `[p2p] serve_blobs`: off, every request is answered "not held".
    let serving: Bool
    private let reads = DispatchQueue(label: "assay.blobs.serve")
    private let pending = Atomic<Int>(0)
    /// Touched only on `reads`; a mutex because the class is shared across threads.
    private let served = Mutex<[ServedBlob]>([])

    /// A blob being served: its tree, and which of its chunks were found intact by this process.
    private struct ServedBlob {
        let ref: BlobRef
        let tree: BlobTree
        var checked: [Bool]
    }

    public init(store: BlobStore, p2p: P2PService, traffic: BlobTraffic, logger: Logger, serving: Bool = true) {
        self.store = store
        self.serving = serving
        self.p2p = p2p
        self.traffic = traffic
        self.logger = logger
    }

    func answer(_ ref: BlobRef, indices: [UInt32], to peer: PublicKey) {
        guard serving, pending.add(1, ordering: .relaxed).newValue <= Self.pendingRequestsMax else {
            if serving { pending.subtract(1, ordering: .relaxed) }
            p2p.send(to: peer, WireMessage.blobChunksNotHeld(ref, indices: indices).canonicalBytes)
            return
        }
        reads.async { [self] in
            defer { pending.subtract(1, ordering: .relaxed) }
            serve(ref, indices: indices, to: peer)
        }
    }

    private func serve(_ ref: BlobRef, indices: [UInt32], to peer: PublicKey) {
        var notHeld: [UInt32] = []
        for index in indices {
            guard Int(index) < ref.chunkCount, let (bytes, proof) = intactChunk(ref, index: Int(index)) else {
                notHeld.append(index)
                continue
            }
            // Encoded into a buffer of the final size: grown by appending, it would copy the chunk twice.
            var message = CanonicalWriter(reservingCapacity: WireMessage.blobChunkMessageBytesMax)
            WireMessage.blobChunk(ref, index: index, bytes: bytes, proof: proof).encode(to: &message)
            if p2p.send(to: peer, message.bytes) {
                traffic.servedBytes.add(UInt64(bytes.count), ordering: .relaxed)
            }
        }
        if !notHeld.isEmpty { p2p.send(to: peer, WireMessage.blobChunksNotHeld(ref, indices: notHeld).canonicalBytes) }
    }

    /// Chunk `index` of the complete blob `ref` with its proof; nil when it is not held, or found corrupt (and then
    /// the blob is removed).
    private func intactChunk(_ ref: BlobRef, index: Int) -> (bytes: [UInt8], proof: ChunkProof)? {
        guard let blob = servedBlob(ref), let bytes = try? store.readChunk(ref.id, index: index) else {
            return nil
        }
        if !blob.checked[index] {
            guard blobLeafHash(bytes) == blob.tree.leaves[index] else {
                discardCorrupt(ref, because: "chunk \(index) does not hash to its recorded leaf")
                return nil
            }
            served.withLock { blobs in
                if let position = blobs.firstIndex(where: { $0.ref == ref }) { blobs[position].checked[index] = true }
            }
        }
        return (bytes, blob.tree.proof(chunk: index))
    }

    /// `ref` as served, its tree loaded if it is complete here and not kept yet (the oldest kept blob makes room).
    private func servedBlob(_ ref: BlobRef) -> ServedBlob? {
        guard store.status(ref) == .complete(ref: ref) else { return nil }
        if let kept = served.withLock({ $0.first { $0.ref == ref } }) { return kept }
        guard let tree = try? store.tree(ref.id) else { return nil }
        guard tree.ref == ref else {
            discardCorrupt(ref, because: "its recorded leaves hash to \(tree.id)")
            return nil
        }
        let blob = ServedBlob(ref: ref, tree: tree, checked: Array(repeating: false, count: ref.chunkCount))
        served.withLock { blobs in
            if blobs.count == Self.servedBlobsMax { blobs.removeFirst() }
            blobs.append(blob)
        }
        return blob
    }

    private func discardCorrupt(_ ref: BlobRef, because reason: String) {
        logger.error("blob \(ref.id) held on disk is corrupt (\(reason)): removed, to be fetched again")
        served.withLock { $0.removeAll { $0.ref.id == ref.id } }
        _ = try? store.remove(ref.id)
    }
}

/// Where blob messages go: chunk requests to the server, answers to the fetcher.
public struct BlobRouting: Sendable {
    public let server: BlobServer
    public let fetcher: BlobFetcher

    public init(server: BlobServer, fetcher: BlobFetcher) {
        self.server = server
        self.fetcher = fetcher
    }

    /// Handles `wire` if it is a blob message; false for any other.
    public func route(_ wire: WireMessage, from peer: PublicKey) -> Bool {
        switch wire {
        case let .blobChunkRequest(ref, indices): server.answer(ref, indices: indices, to: peer)
        case .blobChunk, .blobChunksNotHeld: fetcher.received(wire, from: peer)
        default: return false
        }
        return true
    }
}
