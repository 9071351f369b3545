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
        case let tag: throw .unknownTag(tag, type: "WireMessage")
        }
    }
}
