import AssayCodec
import AssayConsensus
import AssayCrypto
import AssayStorage
import AssayTypes

/// One input of the current height, as written to the WAL before the core applies it.
public enum WALRecord: Hashable, Sendable {
    case startHeight(Height, ProposerRotation)
    case proposal(Proposal, Block)
    case vote(Vote)
    case timeout(Timeout)
    case verdict(Hash, valid: Bool)
    /// This node built `block` to propose in `round`.
    case ownBlock(round: Round, Block)
    case commitCertificate(Block, Commit)
}

extension WALRecord {
    /// The height the record belongs to (a verdict's is its block's, which the log does not carry).
    var height: Height? {
        switch self {
        case let .startHeight(height, _): height
        case let .proposal(proposal, _): proposal.height
        case let .vote(vote): vote.height
        case let .timeout(timeout): timeout.height
        case .verdict: nil
        case let .ownBlock(_, block): block.height
        case let .commitCertificate(block, _): block.height
        }
    }
}

extension WALRecord: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        switch self {
        case let .startHeight(height, rotation):
            writer.writeULEB128(0)
            writer.write(height)
            writer.write(rotation)
        case let .proposal(proposal, block):
            writer.writeULEB128(1)
            writer.write(proposal)
            writer.write(block)
        case let .vote(vote):
            writer.writeULEB128(2)
            writer.write(vote)
        case let .timeout(timeout):
            writer.writeULEB128(3)
            writer.write(timeout)
        case let .verdict(hash, valid):
            writer.writeULEB128(4)
            writer.write(hash)
            writer.write(valid)
        case let .ownBlock(round, block):
            writer.writeULEB128(5)
            writer.write(round)
            writer.write(block)
        case let .commitCertificate(block, commit):
            writer.writeULEB128(6)
            writer.write(block)
            writer.write(commit)
        }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        switch try reader.readTag() {
        case 0: self = .startHeight(try reader.readUInt64(), try reader.read())
        case 1: self = .proposal(try reader.read(), try reader.read())
        case 2: self = .vote(try reader.read())
        case 3: self = .timeout(try reader.read())
        case 4: self = .verdict(try reader.read(), valid: try reader.readBool())
        case 5: self = .ownBlock(round: try reader.readUInt32(), try reader.read())
        case 6: self = .commitCertificate(try reader.read(), try reader.read())
        case let tag: throw .unknownTag(tag, type: "WALRecord")
        }
    }
}

public enum WALError: Error, Equatable, Sendable, CustomStringConvertible {
    case storage(StorageError)
    /// A record before the last one is damaged: the log cannot be trusted and the node stops.
    case corruptRecord(sequence: UInt64, reason: String)

    public var description: String {
        switch self {
        case let .storage(error): "WAL storage failed: \(error)"
        case let .corruptRecord(sequence, reason): "WAL record \(sequence) is corrupt: \(reason)"
        }
    }
}

/// The consensus write-ahead log of the current height, kept in the `wal` namespace of the
/// engine's `KeyValueStore` under 8-byte big-endian sequence numbers (so a scan returns them in order).
///
/// Each value is `length (UInt32 LE) | checksum (first 4 bytes of SHA-256 of the payload) | payload`,
/// the payload being the record's canonical bytes. Going through the store lets the simulation's
/// disk model drop writes that were not synced at a crash, and tear the last one.
public struct WriteAheadLog {
    public static let namespace = Namespace("wal")
    static let headerBytes = 8
    static let recordBytesMax = 64 << 20

    private let store: any KeyValueStore
    private var nextSequence: UInt64 = 0

    public init(store: any KeyValueStore) { self.store = store }

    /// Reads the log. A damaged last record (a torn write) is deleted and reported; damage
    /// anywhere else throws.
    public mutating func load() throws(WALError) -> (records: [WALRecord], droppedTornTail: Bool) {
        let entries: [(key: [UInt8], value: [UInt8])]
        do { entries = try store.scan(Self.namespace, prefix: []) } catch { throw .storage(error) }
        var records: [WALRecord] = []
        for (index, entry) in entries.enumerated() {
            let sequence = Self.sequence(of: entry.key)
            do {
                records.append(try Self.decode(entry.value))
            } catch {
                guard index == entries.count - 1 else {
                    throw .corruptRecord(sequence: sequence, reason: "\(error)")
                }
                var batch = WriteBatch()
                batch.delete(entry.key, in: Self.namespace)
                do { try store.write(batch, durability: .synced) } catch { throw .storage(error) }
                nextSequence = sequence
                return (records, true)
            }
            nextSequence = sequence + 1
        }
        return (records, false)
    }

    /// Appends a record; `.synced` for own messages, which must be durable before they are sent.
    public mutating func append(_ record: WALRecord, durability: Durability) throws(WALError) {
        var batch = WriteBatch()
        batch.put(Self.key(nextSequence), Self.encode(record), in: Self.namespace)
        do { try store.write(batch, durability: durability) } catch { throw .storage(error) }
        nextSequence += 1
    }

    /// Adds to `batch` the writes that empty the log and start it again with `first` (at a new height).
    public mutating func resetWrites(startingWith first: WALRecord, into batch: inout WriteBatch) {
        for sequence in 0..<nextSequence { batch.delete(Self.key(sequence), in: Self.namespace) }
        batch.put(Self.key(0), Self.encode(first), in: Self.namespace)
    }

    /// Call after the batch from `resetWrites` is written.
    public mutating func didReset() { nextSequence = 1 }

    public static func key(_ sequence: UInt64) -> [UInt8] { withUnsafeBytes(of: sequence.bigEndian) { Array($0) } }

    static func sequence(of key: [UInt8]) -> UInt64 { key.reduce(0) { $0 << 8 | UInt64($1) } }

    public static func encode(_ record: WALRecord) -> [UInt8] {
        let payload = record.canonicalBytes
        var writer = CanonicalWriter(reservingCapacity: payload.count + headerBytes)
        writer.write(UInt32(payload.count))
        writer.writeFixed(SHA256.hash(payload).bytes.prefix(4))
        writer.writeFixed(payload)
        return writer.bytes
    }

    public static func decode(_ value: [UInt8]) throws(CodecError) -> WALRecord {
        var reader = CanonicalReader(value)
        let length = Int(try reader.readUInt32())
        let checksum = try reader.readFixed(count: 4)
        guard length <= recordBytesMax, length == reader.remaining else {
            throw .invalidValue("record length \(length) does not match the \(reader.remaining) bytes stored")
        }
        let payload = try reader.readFixed(count: length)
        guard SHA256.hash(payload).bytes.prefix(4).elementsEqual(checksum) else {
            throw .invalidValue("checksum mismatch")
        }
        return try WALRecord(canonicalBytes: payload)
    }
}
