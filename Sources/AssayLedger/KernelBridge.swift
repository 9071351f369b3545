import AssayBlobs
import AssayCodec
import AssayKernels
import AssayTypes

/// The ledger's use of AssayKernels: which kernel names exist, which model bytes are valid, and how a job is laid
/// out in layers and tiles. Limits come from the chain parameters so that every node refuses the same.
enum KernelBridge {
    static func isKnown(_ name: String) -> Bool { (try? KernelID(name)) != nil }

    static func isValidModel(_ bytes: [UInt8]) -> Bool { (try? Model(canonicalBytes: bytes)) != nil }

    /// The layout of a job whose whole input is given (it must be a valid tensor), or nil when the kernel refuses
    /// the job: its model, its input, its work over `max_work_units`, or a layer that cannot be cut into tiles of
    /// at most `maxTileWorkUnits`.
    static func layout(_ job: Job, model: [UInt8], input: [UInt8], maxTileWorkUnits: UInt64) -> TraceLayout? {
        guard let input = try? Tensor(canonicalBytes: input) else { return nil }
        return layout(job, model: model, input: input.spec, maxTileWorkUnits: maxTileWorkUnits)
    }

    /// The same from the input's dtype and shape alone (its header), for a job already accepted.
    static func layout(_ job: Job, model: [UInt8], input: TensorSpec, maxTileWorkUnits: UInt64) -> TraceLayout? {
        guard let kernel = try? KernelID(job.kernel), let model = try? Model(canonicalBytes: model) else { return nil }
        return try? TraceLayout(
            kernel, model: model, input: input, limits: .forJob(maxWorkUnits: job.maxWorkUnits),
            maxTileWorkUnits: maxTileWorkUnits)
    }

    /// The most bytes a tensor's canonical header can take: a dtype tag, a shape of `Tensor.maxRank` u64s with its
    /// count, and the data length.
    static let tensorHeaderBytesMax = UInt64(1 + 1 + 8 * Tensor.maxRank + 10)

    /// The dtype and shape of a tensor blob of `length` bytes from its first bytes (at least the header), or nil
    /// when they do not start a tensor of exactly that length.
    static func tensorSpec(header: [UInt8], length: UInt64) -> TensorSpec? {
        var reader = CanonicalReader(header)
        guard let dtype = try? reader.read(DType.self),
            let shape = try? reader.readArray(of: UInt64.self, bound: Tensor.maxRank),
            let dataLength = try? reader.readULEB128()
        else { return nil }
        let spec = TensorSpec(dtype: dtype, shape: shape)
        // The header names the data length its shape implies, and the blob holds exactly that much data after it.
        let (total, overflow) = UInt64(spec.canonicalHeaderLength).addingReportingOverflow(dataLength)
        guard header.starts(with: spec.canonicalHeader), !overflow, total == length else { return nil }
        return spec
    }
}

extension TraceLayout {
    /// Where the bytes of last-layer tile `tile` sit in the output blob: after the output tensor's header.
    func outputRange(tile: Int) throws(KernelError) -> Range<UInt64> {
        let last = layerCount - 1
        let range = try tileRange(layer: last, tile: tile)
        let start = UInt64(output.canonicalHeaderLength) + range.lowerBound - (try layerRange(last)).lowerBound
        return start..<start + UInt64(range.count)
    }
}
