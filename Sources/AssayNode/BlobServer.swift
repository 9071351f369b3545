import AssayBlobs
import AssayCrypto
import AssayP2P
import Foundation
import Synchronization

/// Answers peers' blob chunk requests from the local store: each chunk with its proof, from complete blobs only.
/// Disk reads run on a queue of their own, so they never hold up the router and the consensus messages behind it;
/// beyond `pendingRequestsMax` waiting requests the answer is "not held" and the asker tries another peer.
public final class BlobServer: Sendable {
    static let pendingRequestsMax = 64

    let store: BlobStore
    let p2p: P2PService
    let traffic: BlobTraffic
    private let reads = DispatchQueue(label: "assay.blobs.serve")
    private let pending = Atomic<Int>(0)

    public init(store: BlobStore, p2p: P2PService, traffic: BlobTraffic) {
        self.store = store
        self.p2p = p2p
        self.traffic = traffic
    }

    func answer(_ ref: BlobRef, indices: [UInt32], to peer: PublicKey) {
        guard pending.add(1, ordering: .relaxed).newValue <= Self.pendingRequestsMax else {
            pending.subtract(1, ordering: .relaxed)
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
        // One leaf-file read gives the proofs of every chunk asked for.
        let tree = store.status(ref) == .complete(ref: ref) ? try? store.tree(ref.id) : nil
        for index in indices {
            guard let tree, Int(index) < ref.chunkCount, let bytes = try? store.readChunk(ref.id, index: Int(index))
            else {
                notHeld.append(index)
                continue
            }
            let chunk = WireMessage.blobChunk(ref, index: index, bytes: bytes, proof: tree.proof(chunk: Int(index)))
            if p2p.send(to: peer, chunk.canonicalBytes) {
                traffic.servedBytes.add(UInt64(bytes.count), ordering: .relaxed)
            }
        }
        if !notHeld.isEmpty { p2p.send(to: peer, WireMessage.blobChunksNotHeld(ref, indices: notHeld).canonicalBytes) }
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
