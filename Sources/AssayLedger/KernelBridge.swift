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

/// One tile of a job's trace.
public struct TileIndex: Hashable, Sendable {
    public let layer: Int
    public let tile: Int

    public init(layer: Int, tile: Int) {
        self.layer = layer
        self.tile = tile
    }
}

/// A validator's full replay of a posted result, outside block execution: it recomputes every tile and compares
/// each with the trace, and the last layer with the output, as a challenge of that tile does in the ledger. So a
/// tile it names is one the ledger convicts on.
public enum JobReplay {
    public struct Finding: Equatable, Sendable {
        /// The first wrong tile, layer by layer in tile order; nil for an honest result.
        public let wrongTile: TileIndex?
        /// The job's work units: what the replay cost.
        public let workUnits: UInt64
    }

    /// Runs the job traced and compares. Nil when the kernel refuses the job or a blob does not have the job's
    /// length (the ledger accepts neither).
    public static func check(
        _ job: Job, model: [UInt8], input: [UInt8], trace: [UInt8], output: [UInt8], maxTileWorkUnits: UInt64,
        threads: Int = 1
    ) -> Finding? {
        guard let layout = KernelBridge.layout(job, model: model, input: input, maxTileWorkUnits: maxTileWorkUnits),
            UInt64(trace.count) == layout.traceLength, UInt64(output.count) == layout.outputLength,
            let tensor = try? Tensor(canonicalBytes: input),
            let honest = try? layout.execute(input: tensor, threads: threads)
        else { return nil }
        return Finding(
            wrongTile: firstWrongTile(layout, honest: honest.blobBytes, trace: trace, output: output),
            workUnits: layout.workUnits)
    }

    private static func firstWrongTile(_ layout: TraceLayout, honest: [UInt8], trace: [UInt8], output: [UInt8])
        -> TileIndex?
    {
        let last = layout.layerCount - 1
        for layer in 0...last {
            for tile in 0..<(try! layout.tileCount(layer: layer)) {
                let range = try! layout.tileRange(layer: layer, tile: tile)
                let bytes = honest[Int(range.lowerBound)..<Int(range.upperBound)]
                let wrongOutput = layer == last && !layout.outputMatches(output, tile: tile, honest: bytes)
                if trace[Int(range.lowerBound)..<Int(range.upperBound)] != bytes || wrongOutput {
                    return TileIndex(layer: layer, tile: tile)
                }
            }
        }
        return nil
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

    /// Whether a whole output blob has the output tensor's header and holds `honest` as last-layer tile `tile`.
    func outputMatches(_ outputBlob: [UInt8], tile: Int, honest: ArraySlice<UInt8>) -> Bool {
        let range = try! outputRange(tile: tile)
        return outputBlob.prefix(output.canonicalHeaderLength).elementsEqual(output.canonicalHeader)
            && outputBlob[Int(range.lowerBound)..<Int(range.upperBound)].elementsEqual(honest)
    }
}
