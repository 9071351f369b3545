import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayEngine
import AssayLightClient
import AssayMempool
import AssayP2P
import AssayRocksDB
import AssayTypes
import ServiceLifecycle

/// Sends what peers say where it belongs: consensus messages to the engine, gossiped transactions to
/// the mempool's gossip worker, block-sync requests answered from the block store, blob chunk requests to the
/// blob server and chunk answers to the fetcher, state sync requests to the snapshot server, light block requests
/// answered from the chain store.
struct InboundRouter: Service {
    let host: EngineHost
    let transport: P2PTransport
    let gossip: GossipAdmission
    let p2p: P2PService
    let store: RocksDBStore
    /// The genesis set: the set of every height before the first stored change (light block answers).
    let genesisValidators: ValidatorSet
    let blobs: BlobRouting
    /// State sync serving; nil answers no snapshot request (tests of other routes).
    var snapshots: SnapshotServer? = nil

    func run() async throws {
        for await message in p2p.inbound.cancelOnGracefulShutdown() {
            guard let peer = transport.peerID(of: message.peer),
                let wire = try? WireMessage(canonicalBytes: message.bytes)
            else { continue }
            route(wire, from: peer, key: message)
        }
    }

    private func route(_ wire: WireMessage, from peer: PeerID, key message: InboundMessage) {
        switch wire {
        case let .transactions(transactions):
            // Admitted on the gossip worker: votes and proposals behind this batch must not wait for it. The sender is
            // recorded as its validator (it holds the blobs), whose power the proposer's blob quorum counts.
            gossip.enqueue(transactions, from: transport.validator(ofNode: message.peer))
        case let .proposal(proposal, block):
            host.deliver(.proposal(proposal, block), from: peer)
        case let .vote(vote):
            host.deliver(.vote(vote), from: peer)
        case let .syncResponse(blocks):
            host.deliverSync(blocks, from: peer)
        case let .statusAnnouncement(height):
            host.deliver(.status(height), from: peer)
        case let .syncRequest(fromHeight, maxCount):
            answerSync(to: message.peer, heights: Self.syncHeights(from: fromHeight, maxCount: maxCount))
        case .blobChunkRequest, .blobChunk, .blobChunksNotHeld:
            _ = blobs.route(wire, from: message.peer)
        case .snapshotOfferRequest:
            snapshots?.offer(to: message.peer)
        case let .snapshotChunkRequest(height, index):
            snapshots?.serveChunk(height: height, index: index, to: message.peer)
        case let .lightBlockRequest(height):
            answerLightBlock(to: message.peer, height: height)
        case .snapshotOffer, .snapshotChunk, .snapshotChunkNotHeld, .lightBlock:
            break  // late answers to a state sync that has finished
        }
    }

    /// The heights a sync request asks for: at most `WireMessage.syncBlocksMax`, and never past the largest
    /// height, since both numbers come from the peer (a request from 2^64-1 must not overflow).
    static func syncHeights(from height: Height, maxCount: UInt32) -> Range<Height> {
        let count = UInt64(min(maxCount, UInt32(WireMessage.syncBlocksMax)))
        return height..<(height > Height.max - count ? Height.max : height + count)
    }

    /// Sends the stored blocks of `heights`, stopping at the first missing one and before the answer would
    /// outgrow one frame (which the peer would refuse by disconnecting).
    private func answerSync(to peer: AssayCrypto.PublicKey, heights: Range<Height>) {
        let chain = ChainStore(store: store)
        var blocks: [CommittedBlock] = []
        var bytes = Self.syncResponseOverheadBytes
        for next in heights {
            guard let stored = try? chain.block(at: next) else { break }
            let committed = CommittedBlock(block: stored.block, commit: stored.commit)
            bytes += committed.canonicalBytes.count
            guard bytes <= p2p.config.messageBytesMax else { break }
            blocks.append(committed)
        }
        if !blocks.isEmpty { _ = p2p.send(to: peer, WireMessage.syncResponse(blocks).canonicalBytes) }
    }

    /// Sends the light block of `height` when the store holds its block and both sets; nothing otherwise.
    private func answerLightBlock(to peer: AssayCrypto.PublicKey, height: Height) {
        guard let block = try? LightBlock.stored(at: height, in: ChainStore(store: store), genesis: genesisValidators)
        else { return }
        _ = p2p.send(to: peer, WireMessage.lightBlock(height: height, bytes: block.canonicalBytes).canonicalBytes)
    }

    /// The tag and the array length in front of the blocks of a `syncResponse` of at most 64 blocks.
    static let syncResponseOverheadBytes = 2
}
