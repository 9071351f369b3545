import AssayBlobs
import AssayCodec

/// Kernel identifiers such as "gemm-i8/1": short UTF-8 names from the kernel catalogue.
public enum KernelName {
    public static let bytesMax = 64
}

/// A provider's standing offer: which kernels it serves, the price per work unit, how many jobs it takes at
/// once, and the height after which it takes no more. Its id is the hash of the transaction that made it.
public struct Offer: Hashable, Sendable, CanonicalCodable {
    public static let kernelsMax = 16

    /// Sorted and without duplicates, so that one offer has one encoding.
    public private(set) var kernels: [String]
    public var pricePerWorkUnit: Amount
    /// Most jobs open at once under this offer.
    public var capacity: UInt32
    /// Jobs are accepted at heights below this one; the offer is removed at the end of this height.
    public var expiryHeight: Height

    public init(kernels: [String], pricePerWorkUnit: Amount, capacity: UInt32, expiryHeight: Height) {
        self.kernels = Array(Set(kernels)).sorted()
        self.pricePerWorkUnit = pricePerWorkUnit
        self.capacity = capacity
        self.expiryHeight = expiryHeight
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.writeULEB128(UInt64(kernels.count))
        for kernel in kernels { writer.write(kernel) }
        writer.write(pricePerWorkUnit)
        writer.write(capacity)
        writer.write(expiryHeight)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let count = try reader.readLength(bound: Self.kernelsMax)
        var names: [String] = []
        for _ in 0..<count { names.append(try reader.readString(bound: KernelName.bytesMax)) }
        guard zip(names, names.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw .invalidValue("offer kernels are not sorted without duplicates")
        }
        kernels = names
        pricePerWorkUnit = try reader.readUInt64()
        capacity = try reader.readUInt32()
        expiryHeight = try reader.readUInt64()
    }
}

/// Removes one of the sender's offers. Jobs already accepted under it continue.
public struct WithdrawOffer: Hashable, Sendable, CanonicalCodable {
    public var offerID: Hash

    public init(offerID: Hash) { self.offerID = offerID }

    public func encode(to writer: inout CanonicalWriter) { writer.write(offerID) }
    public init(from reader: inout CanonicalReader) throws(CodecError) { offerID = try reader.read() }
}

/// Registers model weights: a blob holding the canonical bytes of an AssayKernels `Model`. The model is named by
/// the blob's id (its "model hash").
public struct RegisterModel: Hashable, Sendable, CanonicalCodable {
    public var modelBlob: BlobRef

    public init(modelBlob: BlobRef) { self.modelBlob = modelBlob }

    public func encode(to writer: inout CanonicalWriter) { modelBlob.encode(to: &writer) }
    public init(from reader: inout CanonicalReader) throws(CodecError) { modelBlob = try BlobRef(from: &reader) }
}

/// A client's job under an offer: run `kernel` with the registered model on the input blob. Escrows
/// price x `maxWorkUnits`. Its id is the hash of this transaction.
public struct Job: Hashable, Sendable, CanonicalCodable {
    public var offerID: Hash
    public var kernel: String
    /// The registered model's blob id.
    public var modelHash: Hash
    /// A blob holding the canonical bytes of an AssayKernels `Tensor`; `max_input_bytes` bounds its length.
    public var inputBlob: BlobRef
    public var maxWorkUnits: UInt64
    /// The result must arrive at a height below this one; at this height the job is refunded.
    public var deadline: Height

    public init(
        offerID: Hash, kernel: String, modelHash: Hash, inputBlob: BlobRef, maxWorkUnits: UInt64, deadline: Height
    ) {
        self.offerID = offerID
        self.kernel = kernel
        self.modelHash = modelHash
        self.inputBlob = inputBlob
        self.maxWorkUnits = maxWorkUnits
        self.deadline = deadline
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(offerID)
        writer.write(kernel)
        writer.write(modelHash)
        inputBlob.encode(to: &writer)
        writer.write(maxWorkUnits)
        writer.write(deadline)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        offerID = try reader.read()
        kernel = try reader.readString(bound: KernelName.bytesMax)
        modelHash = try reader.read()
        inputBlob = try BlobRef(from: &reader)
        maxWorkUnits = try reader.readUInt64()
        deadline = try reader.readUInt64()
    }
}

/// The assigned provider's answer to a job: the output blob, the trace blob (every layer's output, the layout of
/// AssayKernels' `TraceLayout`) with its trace root, and the work units used. The output blob's id is the result's
/// output hash. Opens the challenge window.
public struct JobResult: Hashable, Sendable, CanonicalCodable {
    public var jobID: Hash
    /// A blob holding the canonical bytes of the output `Tensor`; `max_output_bytes` bounds its length.
    public var outputBlob: BlobRef
    /// A blob holding every layer's output (`Trace.blobBytes`); its length is the job's `TraceLayout.traceLength`.
    public var traceBlob: BlobRef
    /// The Merkle root over every tile's hash (`Trace.root`).
    public var traceRoot: Hash
    public var workUnits: UInt64

    public init(jobID: Hash, outputBlob: BlobRef, traceBlob: BlobRef, traceRoot: Hash, workUnits: UInt64) {
        self.jobID = jobID
        self.outputBlob = outputBlob
        self.traceBlob = traceBlob
        self.traceRoot = traceRoot
        self.workUnits = workUnits
    }

    /// The output blob's id, as the ledger records and compares it.
    public var outputHash: Hash { outputBlob.id.digest }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(jobID)
        outputBlob.encode(to: &writer)
        traceBlob.encode(to: &writer)
        writer.write(traceRoot)
        writer.write(workUnits)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        jobID = try reader.read()
        outputBlob = try BlobRef(from: &reader)
        traceBlob = try BlobRef(from: &reader)
        traceRoot = try reader.read()
        workUnits = try reader.readUInt64()
    }
}

/// Claims that tile `tile` of layer `layer` of a job's result is wrong, putting up `bond`. The ledger recomputes
/// that one tile from the trace blob in the same block.
public struct Challenge: Hashable, Sendable, CanonicalCodable {
    public var jobID: Hash
    public var layer: UInt32
    public var tile: UInt32
    public var bond: Amount

    public init(jobID: Hash, layer: UInt32, tile: UInt32, bond: Amount) {
        self.jobID = jobID
        self.layer = layer
        self.tile = tile
        self.bond = bond
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(jobID)
        writer.write(layer)
        writer.write(tile)
        writer.write(bond)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        jobID = try reader.read()
        layer = try reader.readUInt32()
        tile = try reader.readUInt32()
        bond = try reader.readUInt64()
    }
}

/// Ends a job whose challenge window or deadline has come (anyone may send it).
public struct Settle: Hashable, Sendable, CanonicalCodable {
    public var jobID: Hash

    public init(jobID: Hash) { self.jobID = jobID }

    public func encode(to writer: inout CanonicalWriter) { writer.write(jobID) }
    public init(from reader: inout CanonicalReader) throws(CodecError) { jobID = try reader.read() }
}

extension TransactionBody {
    /// The blobs this transaction brings to the chain, each paid for with `blob_byte_fee` per byte by its sender:
    /// the model of `register_model`, the input of `job`, the output and the trace of `result`.
    public var carriedBlobs: [BlobRef] {
        switch self {
        case let .registerModel(register): [register.modelBlob]
        case let .job(job): [job.inputBlob]
        case let .result(result): [result.outputBlob, result.traceBlob]
        default: []
        }
    }

    /// Every blob a node must hold to admit or execute this transaction: the carried ones and, for a job, its
    /// (already registered) model.
    public var referencedBlobIDs: [BlobID] {
        var ids = carriedBlobs.map(\.id)
        if case let .job(job) = self { ids.append(BlobID(job.modelHash)) }
        return ids
    }

    /// The first blob this transaction needs that a node does not hold, given the length of each blob the node
    /// holds in full (nil when it does not): a carried blob must be held at exactly the length the transaction
    /// states (execution reads it at that length); a job's model, named by id alone, at any length.
    public func firstMissingBlob(heldLength: (BlobID) -> UInt64?) -> BlobID? {
        if let missing = carriedBlobs.first(where: { heldLength($0.id) != $0.length }) { return missing.id }
        return referencedBlobIDs.first { heldLength($0) == nil }
    }
}
