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

/// Registers model weights: the canonical bytes of an AssayKernels `Model`. The model hash is their SHA-256.
public struct RegisterModel: Hashable, Sendable, CanonicalCodable {
    /// The codec's bound; the `max_model_bytes` parameter is the (smaller) limit the ledger enforces.
    public static let modelBytesBound = 960 * 1024

    public var model: [UInt8]

    public init(model: [UInt8]) { self.model = model }

    public func encode(to writer: inout CanonicalWriter) { writer.writeBytes(model) }
    public init(from reader: inout CanonicalReader) throws(CodecError) {
        model = try reader.readBytes(bound: Self.modelBytesBound)
    }
}

/// A client's job under an offer: run `kernel` with the registered model on `input`. Escrows
/// price x `maxWorkUnits`. Its id is the hash of this transaction.
public struct Job: Hashable, Sendable, CanonicalCodable {
    /// The codec's bound on the input tensor; the `max_input_bytes` parameter is the enforced limit.
    public static let inputBytesBound = 256 * 1024

    public var offerID: Hash
    public var kernel: String
    public var modelHash: Hash
    /// Canonical bytes of an AssayKernels `Tensor`.
    public var input: [UInt8]
    public var maxWorkUnits: UInt64
    /// The result must arrive at a height below this one; at this height the job is refunded.
    public var deadline: Height

    public init(
        offerID: Hash, kernel: String, modelHash: Hash, input: [UInt8], maxWorkUnits: UInt64, deadline: Height
    ) {
        self.offerID = offerID
        self.kernel = kernel
        self.modelHash = modelHash
        self.input = input
        self.maxWorkUnits = maxWorkUnits
        self.deadline = deadline
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(offerID)
        writer.write(kernel)
        writer.write(modelHash)
        writer.writeBytes(input)
        writer.write(maxWorkUnits)
        writer.write(deadline)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        offerID = try reader.read()
        kernel = try reader.readString(bound: KernelName.bytesMax)
        modelHash = try reader.read()
        input = try reader.readBytes(bound: Self.inputBytesBound)
        maxWorkUnits = try reader.readUInt64()
        deadline = try reader.readUInt64()
    }
}

/// The assigned provider's answer to a job: the output tensor, its hash, and the work units used.
/// Opens the challenge window.
public struct JobResult: Hashable, Sendable, CanonicalCodable {
    /// The codec's bound on the output tensor; the `max_output_bytes` parameter is the enforced limit.
    public static let outputBytesBound = 256 * 1024

    public var jobID: Hash
    /// Canonical bytes of an AssayKernels `Tensor`.
    public var output: [UInt8]
    /// SHA-256 of `output`.
    public var outputHash: Hash
    public var workUnits: UInt64

    public init(jobID: Hash, output: [UInt8], outputHash: Hash, workUnits: UInt64) {
        self.jobID = jobID
        self.output = output
        self.outputHash = outputHash
        self.workUnits = workUnits
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(jobID)
        writer.writeBytes(output)
        writer.write(outputHash)
        writer.write(workUnits)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        jobID = try reader.read()
        output = try reader.readBytes(bound: Self.outputBytesBound)
        outputHash = try reader.read()
        workUnits = try reader.readUInt64()
    }
}

/// Claims a job's result is wrong, putting up `bond`. The ledger re-executes the kernel in the same block.
public struct Challenge: Hashable, Sendable, CanonicalCodable {
    public var jobID: Hash
    public var bond: Amount

    public init(jobID: Hash, bond: Amount) {
        self.jobID = jobID
        self.bond = bond
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(jobID)
        writer.write(bond)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        jobID = try reader.read()
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
