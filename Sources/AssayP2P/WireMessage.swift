import AssayBlobs
import AssayCodec
import AssayTypes

/// A committed block with the commit certificate that finalised it, as block sync ships it.
public struct CommittedBlock: Hashable, Sendable, CanonicalCodable {
    public var block: Block
    public var commit: Commit

    public init(block: Block, commit: Commit) {
        self.block = block
        self.commit = commit
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(block)
        writer.write(commit)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        block = try reader.read()
        commit = try reader.read()
    }
}

/// Everything validators say to each other, one message per encrypted frame. Tags are fixed forever.
public enum WireMessage: Hashable, Sendable {
    public static let transactionsMax = 10_000
    public static let syncBlocksMax = 64
    /// Chunk indices one blob chunk request may name: 16 MiB of answers, well inside the 64 MiB send queue.
    public static let blobChunkIndicesMax = 16
    /// The largest `blobChunk` message: tag, ref (40), index (4), a full chunk with its 3-byte length, and a proof
    /// of `ChunkProof.maxSiblings` hashes with its 1-byte count. The node's frame limit must carry it.
    public static let blobChunkMessageBytesMax = 1 + 40 + 4 + 3 + blobChunkBytes + 1 + ChunkProof.maxSiblings * 32
    /// A state sync offer's bound: the snapshot manifest with the chain tip's three validator sets.
    public static let snapshotOfferBytesMax = 1 << 20
    /// A light block's bound: a header, a commit and two validator sets (opaque here; AssayLightClient's).
    public static let lightBlockBytesMax = 1 << 20
    /// A state sync chunk's bound; the sender's frame limit is the real one (docs/p2p.md, State sync).
    public static let snapshotChunkBytesMax = 64 << 20
    /// Its encrypted frame (the cipher adds its tag): `frameBytesMax` must be at least this.
    public static let blobChunkFrameBytesMax = blobChunkMessageBytesMax + DirectionalCipher.tagBytes

    /// Tag 0: pending transactions being gossiped.
    case transactions([Transaction])
    /// Tag 1: a signed proposal with the block it proposes.
    case proposal(Proposal, Block)
    /// Tag 2: a signed prevote or precommit.
    case vote(Vote)
    /// Tag 3: "send me committed blocks from this height on", at most `maxCount` (<= `syncBlocksMax`).
    case syncRequest(fromHeight: Height, maxCount: UInt32)
    /// Tag 4: consecutive committed blocks answering a sync request.
    case syncResponse([CommittedBlock])
    /// Tag 5: the sender's latest committed height, so that a node that is behind knows whom to sync from.
    case statusAnnouncement(height: Height)
    /// Tag 6: "send me these chunks of this blob" (at most `blobChunkIndicesMax` indices).
    case blobChunkRequest(BlobRef, indices: [UInt32])
    /// Tag 7: one chunk of a blob with its Merkle proof, answering a request (at most `blobChunkBytes` bytes).
    case blobChunk(BlobRef, index: UInt32, bytes: [UInt8], proof: ChunkProof)
    /// Tag 8: "I do not hold these chunks": the sender has no complete copy of the blob, or the indices are out
    /// of range, or it is too busy to read them now. The asker tries elsewhere.
    case blobChunksNotHeld(BlobRef, indices: [UInt32])
    /// Tag 9: "which state snapshot do you hold?" (state sync).
    case snapshotOfferRequest
    /// Tag 10: the sender's latest snapshot: its manifest (opaque here; AssayNode's `StateSyncManifest`).
    case snapshotOffer(manifest: [UInt8])
    /// Tag 11: "send me chunk `index` of your snapshot at `height`".
    case snapshotChunkRequest(height: Height, index: UInt32)
    /// Tag 12: one snapshot chunk (opaque here; AssayLedger's `StateChunk`), answering a request.
    case snapshotChunk(height: Height, index: UInt32, bytes: [UInt8])
    /// Tag 13: "I cannot send that chunk now" (no such snapshot, or too busy): the asker tries elsewhere.
    case snapshotChunkNotHeld(height: Height, index: UInt32)
    /// Tag 14: "send me the light block of `height`" (state sync verifies the snapshot's block with the light client).
    case lightBlockRequest(height: Height)
    /// Tag 15: the light block of `height` (opaque here; AssayLightClient's `LightBlock`). A node that does not
    /// hold it sends nothing: the asker tries another peer after its timeout.
    case lightBlock(height: Height, bytes: [UInt8])

    /// `transactions` as gossip messages of at most `transactionsMax` transactions and `bytesMax` encoded bytes
    /// each (a peer refuses more of either), in order. `bytesMax` must hold one transaction of the largest size.
    public static func transactionBatches(_ transactions: [Transaction], bytesMax: Int) -> [WireMessage] {
        precondition(bytesMax >= Transaction.encodedBytesMax + batchOverheadBytes)
        var batches: [WireMessage] = []
        var batch: [Transaction] = []
        var bytes = batchOverheadBytes
        for transaction in transactions {
            let size = transaction.canonicalBytes.count
            if batch.count == transactionsMax || bytes + size > bytesMax {
                batches.append(.transactions(batch))
                (batch, bytes) = ([], batchOverheadBytes)
            }
            batch.append(transaction)
            bytes += size
        }
        if !batch.isEmpty { batches.append(.transactions(batch)) }
        return batches
    }

    /// The tag and the array length (ULEB128 of at most `transactionsMax`) in front of gossiped transactions.
    static let batchOverheadBytes = 3
}

extension WireMessage: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        switch self {
        case let .transactions(transactions):
            writer.writeULEB128(0)
            writer.write(transactions)
        case let .proposal(proposal, block):
            writer.writeULEB128(1)
            writer.write(proposal)
            writer.write(block)
        case let .vote(vote):
            writer.writeULEB128(2)
            writer.write(vote)
        case let .syncRequest(fromHeight, maxCount):
            writer.writeULEB128(3)
            writer.write(fromHeight)
            writer.write(maxCount)
        case let .syncResponse(blocks):
            writer.writeULEB128(4)
            writer.write(blocks)
        case let .statusAnnouncement(height):
            writer.writeULEB128(5)
            writer.write(height)
        case let .blobChunkRequest(ref, indices):
            writer.writeULEB128(6)
            writer.write(ref)
            writer.write(indices)
        case let .blobChunk(ref, index, bytes, proof):
            writer.writeULEB128(7)
            writer.write(ref)
            writer.write(index)
            writer.writeBytes(bytes)
            writer.write(proof)
        case let .blobChunksNotHeld(ref, indices):
            writer.writeULEB128(8)
            writer.write(ref)
            writer.write(indices)
        case .snapshotOfferRequest:
            writer.writeULEB128(9)
        case let .snapshotOffer(manifest):
            writer.writeULEB128(10)
            writer.writeBytes(manifest)
        case let .snapshotChunkRequest(height, index):
            writer.writeULEB128(11)
            writer.write(height)
            writer.write(index)
        case let .snapshotChunk(height, index, bytes):
            writer.writeULEB128(12)
            writer.write(height)
            writer.write(index)
            writer.writeBytes(bytes)
        case let .snapshotChunkNotHeld(height, index):
            writer.writeULEB128(13)
            writer.write(height)
            writer.write(index)
        case let .lightBlockRequest(height):
            writer.writeULEB128(14)
            writer.write(height)
        case let .lightBlock(height, bytes):
            writer.writeULEB128(15)
            writer.write(height)
            writer.writeBytes(bytes)
        }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        switch try reader.readTag() {
        case 0: self = .transactions(try reader.readArray(bound: Self.transactionsMax))
        case 1: self = .proposal(try reader.read(), try reader.read())
        case 2: self = .vote(try reader.read())
        case 3:
            let fromHeight = try reader.readUInt64()
            let maxCount = try reader.readUInt32()
            guard maxCount <= Self.syncBlocksMax else {
                throw .invalidValue("sync request for \(maxCount) blocks, at most \(Self.syncBlocksMax) allowed")
            }
            self = .syncRequest(fromHeight: fromHeight, maxCount: maxCount)
        case 4: self = .syncResponse(try reader.readArray(bound: Self.syncBlocksMax))
        case 5: self = .statusAnnouncement(height: try reader.readUInt64())
        case 6: self = .blobChunkRequest(try reader.read(), indices: try reader.readArray(bound: Self.blobChunkIndicesMax))
        case 7:
            self = .blobChunk(
                try reader.read(), index: try reader.readUInt32(), bytes: try reader.readBytes(bound: blobChunkBytes),
                proof: try reader.read())
        case 8: self = .blobChunksNotHeld(try reader.read(), indices: try reader.readArray(bound: Self.blobChunkIndicesMax))
        case 9: self = .snapshotOfferRequest
        case 10: self = .snapshotOffer(manifest: try reader.readBytes(bound: Self.snapshotOfferBytesMax))
        case 11: self = .snapshotChunkRequest(height: try reader.readUInt64(), index: try reader.readUInt32())
        case 12:
            self = .snapshotChunk(
                height: try reader.readUInt64(), index: try reader.readUInt32(),
                bytes: try reader.readBytes(bound: Self.snapshotChunkBytesMax))
        case 13: self = .snapshotChunkNotHeld(height: try reader.readUInt64(), index: try reader.readUInt32())
        case 14: self = .lightBlockRequest(height: try reader.readUInt64())
        case 15: self = .lightBlock(height: try reader.readUInt64(), bytes: try reader.readBytes(bound: Self.lightBlockBytesMax))
        case let tag: throw .unknownTag(tag, type: "WireMessage")
        }
    }
}
