import AssayAPI
import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayLedger
import AssayRPC
import AssayStorage
import AssayTypes

/// An event as clients see it: a type and string attributes (see `LedgerEvent.typeAndAttributes`).
public struct IndexedEvent: Hashable, Sendable, CanonicalCodable {
    public static let attributesMax = 16
    public var type: String
    public var attributes: [IndexedAttribute]

    public init(_ event: LedgerEvent) {
        let (type, attributes) = event.typeAndAttributes
        self.type = type
        self.attributes = attributes.map { IndexedAttribute(key: $0.key, value: $0.value) }
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(type)
        writer.write(attributes)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        type = try reader.readString(bound: 64)
        attributes = try reader.readArray(bound: Self.attributesMax)
    }
}

extension EventView {
    init(_ indexed: IndexedEvent) {
        self.init(type: indexed.type, attributes: indexed.attributes.map { Attribute(key: $0.key, value: $0.value) })
    }
}

public struct IndexedAttribute: Hashable, Sendable, CanonicalCodable {
    public var key: String
    public var value: String

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(key)
        writer.write(value)
    }

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        key = try reader.readString(bound: 64)
        value = try reader.readString(bound: 1_024)
    }
}

/// Where a committed transaction is and how it ended: the `tx` RPC method's answer.
public struct IndexedTransaction: Hashable, Sendable, CanonicalCodable {
    public var height: Height
    public var index: UInt32
    public var code: UInt16
    public var log: String
    public var events: [IndexedEvent]

    public init(height: Height, index: UInt32, code: UInt16, log: String, events: [IndexedEvent]) {
        self.height = height
        self.index = index
        self.code = code
        self.log = log
        self.events = events
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(height)
        writer.write(index)
        writer.write(code)
        writer.write(log)
        writer.write(events)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        height = try reader.readUInt64()
        index = try reader.readUInt32()
        code = try reader.readUInt16()
        log = try reader.readString(bound: 1_024)
        events = try reader.readArray(bound: 64)
    }
}

/// Transaction results by hash, end-of-block events by height, and job ids by client and provider address,
/// written in the block's commit batch.
public enum TransactionIndex {
    public static let namespace = Namespace("txindex")
    public static let blockEventsNamespace = Namespace("blockevents")
    /// Keys: address (20 bytes), role, job id (32 bytes); empty values. Jobs are never deleted from the state, so
    /// entries are never removed either.
    public static let jobsNamespace = Namespace("jobindex")

    /// Job id -> the `PostedResult` fields of its accepted result (canonical), kept after the job ends.
    public static let jobResultsNamespace = Namespace("jobresults")

    /// How an address takes part in a job.
    public enum JobRole: UInt8, Sendable {
        case client = 0
        case provider = 1
    }

    static func heightKey(_ height: Height) -> [UInt8] { withUnsafeBytes(of: height.bigEndian) { Array($0) } }

    /// Adds the results of `block` to `batch`.
    static func write(_ block: Block, _ outcome: BlockOutcome, into batch: inout WriteBatch) {
        for (index, (transaction, result)) in zip(block.transactions, outcome.results).enumerated() {
            let code: ResultCode
            if case let .included(resultCode) = result.status { code = resultCode } else { continue }
            let record = IndexedTransaction(
                height: block.height, index: UInt32(index), code: code.rawValue,
                log: code == .ok ? "" : "\(code)", events: result.events.map(IndexedEvent.init))
            batch.put(transaction.hash.bytes, record.canonicalBytes, in: namespace)
        }
        for result in outcome.results {
            for event in result.events {
                switch event {
                case let .jobCreated(job, client, provider, _):
                    batch.put(client.bytes + [JobRole.client.rawValue] + job.bytes, [], in: jobsNamespace)
                    batch.put(provider.bytes + [JobRole.provider.rawValue] + job.bytes, [], in: jobsNamespace)
                case let .resultPosted(job, outputHash, traceBlob, traceRoot, workUnits, windowEnd):
                    var writer = CanonicalWriter()
                    writer.write(outputHash)
                    traceBlob.encode(to: &writer)
                    writer.write(traceRoot)
                    writer.write(workUnits)
                    writer.write(result.transactionHash)
                    writer.write(windowEnd)
                    batch.put(job.bytes, writer.bytes, in: jobResultsNamespace)
                default: break
                }
            }
        }
        var writer = CanonicalWriter()
        writer.write(outcome.endBlockEvents.map(IndexedEvent.init))
        batch.put(heightKey(block.height), writer.bytes, in: blockEventsNamespace)
    }

    /// Adds the deletion of what `write` indexed for a pruned block to `batch`: the records of transactions
    /// included by it (a transaction it carried but did not include may be recorded at a later height) and its
    /// end-block events. Job index entries and posted results stay: they describe jobs, which outlive blocks.
    static func pruneWrites(_ block: Block, store: some KeyValueReader, into batch: inout WriteBatch) throws {
        for transaction in block.transactions where try Self.transaction(transaction.hash, in: store)?.height == block.height {
            batch.delete(transaction.hash.bytes, in: namespace)
        }
        batch.delete(heightKey(block.height), in: blockEventsNamespace)
    }

    public static func transaction(_ hash: Hash, in store: some KeyValueReader) throws -> IndexedTransaction? {
        guard let raw = try store.get(hash.bytes, in: namespace) else { return nil }
        return try IndexedTransaction(canonicalBytes: raw)
    }

    public static func endBlockEvents(at height: Height, in store: some KeyValueReader) throws -> [IndexedEvent] {
        guard let raw = try store.get(heightKey(height), in: blockEventsNamespace) else { return [] }
        var reader = CanonicalReader(raw)
        let events: [IndexedEvent] = try reader.readArray(bound: 100_000)
        try reader.finish()
        return events
    }

    /// Ids of the jobs where `address` has `role`, in id order.
    public static func jobIDs(of address: Address, as role: JobRole, in store: some KeyValueReader) throws -> [Hash] {
        let prefix = address.bytes + [role.rawValue]
        return try store.scan(jobsNamespace, prefix: prefix).map { Hash(Array($0.key.dropFirst(prefix.count))) }
    }

    /// The result posted for a job, if one was accepted.
    public static func postedResult(of job: Hash, in store: some KeyValueReader) throws -> PostedResult? {
        guard let raw = try store.get(job.bytes, in: jobResultsNamespace) else { return nil }
        var reader = CanonicalReader(raw)
        let result = PostedResult(
            outputHash: try reader.read(), traceBlob: try BlobRef(from: &reader), traceRoot: try reader.read(),
            workUnits: try reader.readUInt64(), resultTx: try reader.read(), windowEnd: try reader.readUInt64())
        try reader.finish()
        return result
    }
}
