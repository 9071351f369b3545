import AssayBlobs
import AssayCodec
import AssayCrypto

/// The tiles and the trace blob layout of one job (a kernel, its model, its input's dtype and shape), and the tile
/// check. Built from shapes alone, like `Kernels.cost`: nothing large is allocated or computed.
///
/// A job runs as layers (gemm-i8/1 and conv2d-i8/1 one, mlp-q8/1 one per layer, qnn/1 one per node); each layer's output is cut into
/// tiles of at most `maxTileWorkUnits` work units each (docs/kernels.md, "Tiles and traces"). The trace blob is every
/// layer's output elements (little-endian, C order, no header), layer 0 first; the last layer's are the output.
public struct TraceLayout: Sendable {
    /// 10^8 work units: about a tenth of a second of one core for one tile check.
    public static let defaultMaxTileWorkUnits: UInt64 = 100_000_000

    public let kernel: KernelID
    public let input: TensorSpec
    public let maxTileWorkUnits: UInt64
    let model: Model
    let plan: TracedPlan
    let layers: [LayerTiling]
    /// Where each layer's output starts in the trace blob; the last entry is the blob's length.
    let layerOffsets: [Int]

    /// Validates the job exactly as `Kernels.cost` does, then tiles every layer; a budget that cannot hold one
    /// output element (gemm, mlp) or one output row of one filter (conv) is refused.
    public init(
        _ kernel: KernelID, model: Model, input: TensorSpec, limits: KernelLimits,
        maxTileWorkUnits: UInt64 = TraceLayout.defaultMaxTileWorkUnits
    ) throws(KernelError) {
        guard maxTileWorkUnits >= 1 else { throw .invalidAttribute("max_tile_work_units must be >= 1") }
        let plan = try TracedPlan(kernel, model: model, input: input, limits: limits)
        let layers = try plan.tilings(maxTileWorkUnits: maxTileWorkUnits)
        (self.kernel, self.model, self.input, self.maxTileWorkUnits) = (kernel, model, input, maxTileWorkUnits)
        self.plan = plan
        self.layers = layers
        var offsets = [0]
        for byteCount in plan.layerOutputByteCounts { offsets.append(offsets.last! + byteCount) }
        layerOffsets = offsets
    }

    public var layerCount: Int { layers.count }

    /// The job's work units (exactly `Kernels.cost`'s).
    public var workUnits: UInt64 { plan.plan.workUnits }

    /// The output tensor's dtype and shape: its canonical bytes are `output.canonicalHeader` then the last layer.
    public var output: TensorSpec { plan.outputSpec }

    /// The output blob's length: the output tensor's canonical header and the last layer's bytes.
    public var outputLength: UInt64 {
        UInt64(output.canonicalHeaderLength) + UInt64(layerOffsets[layers.count] - layerOffsets[layers.count - 1])
    }

    public func tileCount(layer: Int) throws(KernelError) -> Int { try checked(layer).tileCount }

    /// Tiles over all layers: the leaves of the trace root.
    public var totalTileCount: Int { layers.reduce(0) { $0 + $1.tileCount } }

    /// The trace blob's length in bytes.
    public var traceLength: UInt64 { UInt64(layerOffsets.last!) }

    /// Layer `layer`'s output elements within the trace blob.
    public func layerRange(_ layer: Int) throws(KernelError) -> Range<UInt64> {
        _ = try checked(layer)
        return UInt64(layerOffsets[layer])..<UInt64(layerOffsets[layer + 1])
    }

    /// The tile's own bytes within the trace blob.
    public func tileRange(layer: Int, tile: Int) throws(KernelError) -> Range<UInt64> {
        let range = try checked(layer, tile).outputRange(tile)
        return UInt64(layerOffsets[layer] + range.lowerBound)..<UInt64(layerOffsets[layer] + range.upperBound)
    }

    /// The bytes a check of the tile reads besides the tile itself, in the order the check consumes them: ranges of
    /// the job's input blob (the input tensor's canonical bytes) where a layer reads the job input (layer 0, or a
    /// qnn/1 node naming tensor 0), else of the trace blob (the outputs of the layers it reads).
    public func tileInputs(layer: Int, tile: Int) throws(KernelError) -> TileInputs {
        let reads = plan.reads(layer: layer, try checked(layer, tile), tile: tile)
        return TileInputs(pieces: reads.filter { !$0.range.isEmpty }.map { read in
            let base = read.tensor == 0 ? input.canonicalHeaderLength : layerOffsets[read.tensor - 1]
            return TileInputs.Piece(
                source: read.tensor == 0 ? .jobInput : .trace,
                range: UInt64(base + read.range.lowerBound)..<UInt64(base + read.range.upperBound))
        })
    }

    /// What checking (recomputing) the tile costs.
    public func tileWorkUnits(layer: Int, tile: Int) throws(KernelError) -> UInt64 {
        try checked(layer, tile).workUnits(tile)
    }

    /// The leaf of tile `tile` of layer `layer` in the trace root: SHA-256 of the tag `assay/trace-tile/1` (18 ASCII
    /// bytes), the layer and the tile as u64 little-endian, then the tile's bytes.
    public static func tileHash(layer: Int, tile: Int, bytes: [UInt8]) -> Digest32 {
        var writer = CanonicalWriter()
        writer.writeFixed(Array(tileHashTag.utf8))
        writer.write(UInt64(layer))
        writer.write(UInt64(tile))
        return SHA256.hash(parts: [writer.bytes, bytes])
    }

    static let tileHashTag = "assay/trace-tile/1"

    /// The trace root of a trace blob's bytes: the blob Merkle tree's shape and node hash (docs/encoding.md, Blobs)
    /// over every tile's hash, layer 0's tiles first, each layer's in tile order. Hashing only, no kernel work.
    public func traceRoot(ofTrace trace: [UInt8]) throws(KernelError) -> Digest32 {
        guard UInt64(trace.count) == traceLength else {
            throw .invalidTile("a trace of this job has \(traceLength) bytes, not \(trace.count)")
        }
        return merkleRoot(tileHashes { layer, range in
            Array(trace[layerOffsets[layer] + range.lowerBound..<layerOffsets[layer] + range.upperBound])
        })
    }

    /// Every tile's hash in leaf order, given each tile's bytes by layer and range within that layer's output.
    func tileHashes(bytes: (_ layer: Int, _ range: Range<Int>) -> [UInt8]) -> [Digest32] {
        var hashes: [Digest32] = []
        hashes.reserveCapacity(totalTileCount)
        for (layer, tiling) in layers.enumerated() {
            for tile in 0..<tiling.tileCount {
                hashes.append(Self.tileHash(layer: layer, tile: tile, bytes: bytes(layer, tiling.outputRange(tile))))
            }
        }
        return hashes
    }

    func checked(_ layer: Int) throws(KernelError) -> LayerTiling {
        guard layers.indices.contains(layer) else {
            throw .invalidTile("layer \(layer) does not exist; the job has \(layers.count) layer(s)")
        }
        return layers[layer]
    }

    func checked(_ layer: Int, _ tile: Int) throws(KernelError) -> LayerTiling {
        let tiling = try checked(layer)
        guard (0..<tiling.tileCount).contains(tile) else {
            throw .invalidTile("tile \(tile) of layer \(layer) does not exist; the layer has \(tiling.tileCount) tile(s)")
        }
        return tiling
    }
}

/// The byte ranges one tile check reads, from the job's input blob and the trace blob, in the order the check
/// consumes them (within what a layer reads of one tensor, in increasing order).
public struct TileInputs: Hashable, Sendable {
    public enum Source: Hashable, Sendable {
        /// The job's input blob (the input tensor's canonical bytes, header included).
        case jobInput
        /// The result's trace blob.
        case trace
    }

    /// One range of one blob; never empty.
    public struct Piece: Hashable, Sendable {
        public let source: Source
        public let range: Range<UInt64>
    }

    public let pieces: [Piece]

    /// How many bytes the check reads: the length its `inputs` argument must have.
    public var byteCount: UInt64 { pieces.reduce(0) { $0 + UInt64($1.range.count) } }
}

/// A range of elements of one tensor that a tile check reads: tensor 0 is the job input, tensor i the output of
/// layer i - 1 (all 8-bit, so elements are bytes).
struct TensorRead: Sendable, Equatable {
    let tensor: Int
    let range: Range<Int>
}

extension TracedPlan {
    func tilings(maxTileWorkUnits budget: UInt64) throws(KernelError) -> [LayerTiling] {
        switch self {
        case let .gemm(plan):
            return [.matrix(try MatrixTiling(m: plan.m, k: plan.k, n: plan.n, outputElementBytes: 4, maxTileWorkUnits: budget))]
        case let .conv(plan):
            return [.conv(try ConvTiling(plan.geometry, outputElementBytes: 4, maxTileWorkUnits: budget))]
        case let .mlp(plan):
            var tilings: [LayerTiling] = []
            for layer in plan.layers {
                tilings.append(.matrix(try MatrixTiling(
                    m: plan.batch, k: layer.inputWidth, n: layer.outputWidth, outputElementBytes: 1, maxTileWorkUnits: budget)))
            }
            return tilings
        case let .qnn(plan):
            return try plan.tilings(maxTileWorkUnits: budget)
        }
    }

    /// What tile `tile` of layer `layer` reads. A qnn/1 node reads the tensors it names; every other kernel's layer
    /// reads the previous layer's output (the job input for layer 0).
    func reads(layer: Int, _ tiling: LayerTiling, tile: Int) -> [TensorRead] {
        var source = layer
        if case let .qnn(plan) = self { source = plan.nodes[layer].inputs[0] }
        switch tiling {
        case let .matrix(matrix):
            return [matrix.inputRange(tile)].filter { !$0.isEmpty }.map { TensorRead(tensor: source, range: $0) }
        case let .conv(conv):
            return conv.inputRanges(tile).map { TensorRead(tensor: source, range: $0) }
        case let .elements(elements):
            guard case let .qnn(plan) = self else { preconditionFailure("only qnn/1 layers are tiled by elements") }
            return plan.elementReads(plan.nodes[layer], elements.outputRange(tile))
        }
    }

    var outputSpec: TensorSpec {
        switch self {
        case let .gemm(plan): TensorSpec(dtype: .int32, shape: [UInt64(plan.m), UInt64(plan.n)])
        case let .conv(plan): TensorSpec(dtype: .int32, shape: plan.geometry.outputShape.map { UInt64($0) })
        case let .mlp(plan): TensorSpec(dtype: .int8, shape: [UInt64(plan.batch), UInt64(plan.layers.last!.outputWidth)])
        case let .qnn(plan): plan.layerSpecs.last!
        }
    }

    var layerOutputByteCounts: [Int] {
        switch self {
        case let .gemm(plan): [plan.m * plan.n * 4]
        case let .conv(plan): [plan.geometry.outputShape.reduce(1, *) * 4]
        case let .mlp(plan): plan.layers.map { plan.batch * $0.outputWidth }
        case let .qnn(plan): plan.nodes.map { QNNShape.elements($0.outputShape) }
        }
    }
}
