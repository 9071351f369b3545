import AssayBlobs
import AssayCrypto

/// The outcome of checking one tile: whether the recomputed tile hashes to the committed hash, and what it cost.
public struct TileCheck: Sendable, Equatable {
    public let matches: Bool
    public let recomputedHash: Digest32
    /// The tile's work units only (never the job's).
    public let workUnits: UInt64
}

/// A traced execution: every layer's output and the trace root over their tiles.
public struct Trace: Sendable {
    public let layout: TraceLayout
    /// The job input's elements (what layer 0, or a qnn/1 node naming tensor 0, reads).
    let jobInput: [UInt8]
    /// Each layer's output elements (little-endian, C order), layer 0 first.
    public let layerOutputs: [[UInt8]]
    /// Every tile's hash, in trace-root leaf order.
    public let tileHashes: [Digest32]
    /// The last layer as the kernel's output tensor, and the job's work units (exactly `Kernels.execute`'s).
    public let output: KernelOutput

    public var root: Digest32 { merkleRoot(tileHashes) }

    /// The trace blob's bytes: the layer outputs concatenated.
    public var blobBytes: [UInt8] { layerOutputs.flatMap { $0 } }
}

extension TraceLayout {
    /// Runs the job on the optimised path, keeping every layer's output, and hashes every tile.
    public func execute(input tensor: Tensor, threads: Int = 1) throws(KernelError) -> Trace {
        guard tensor.spec == input else {
            throw .invalidTensor("the input is \(tensor.dtype) \(tensor.shape); the layout is for \(input.dtype) \(input.shape)")
        }
        let implementation = Implementation.optimised(threads: max(1, threads))
        let (output, outputs): (KernelOutput, [[UInt8]])
        switch plan {
        case .gemm, .conv:
            output = plan.plan.run(model: model, input: tensor, implementation: implementation)
            outputs = [output.output.data]
        case let .mlp(mlp):
            var layerOutputs: [[UInt8]] = []
            let last = mlp.runLayers(model: model, input: tensor.data, implementation: implementation) { layerOutputs.append($0) }
            (output, outputs) = (mlp.kernelOutput(lastLayer: last), layerOutputs)
        case let .qnn(qnn):
            outputs = qnn.run(model: model, input: tensor.data, implementation: implementation)
            output = qnn.kernelOutput(lastLayer: outputs[outputs.count - 1])
        }
        let hashes = tileHashes { layer, range in Array(outputs[layer][range]) }
        return Trace(layout: self, jobInput: tensor.data, layerOutputs: outputs, tileHashes: hashes, output: output)
    }

    /// Recomputes tile `tile` of layer `layer` from `inputs` (the bytes of `tileInputs(layer:tile:)`, concatenated
    /// in order) and compares its hash with `committedTileHash`, the hash of the tile's bytes in the trace blob.
    /// Costs the tile's work units; reads nothing else of the trace.
    public func checkTile(
        layer: Int, tile: Int, inputs: [UInt8], committedTileHash: Digest32, threads: Int = 1
    ) throws(KernelError) -> TileCheck {
        let bytes = try recomputeTile(layer: layer, tile: tile, inputs: inputs, threads: threads)
        let hash = Self.tileHash(layer: layer, tile: tile, bytes: bytes)
        return TileCheck(matches: hash == committedTileHash, recomputedHash: hash, workUnits: try tileWorkUnits(layer: layer, tile: tile))
    }

    /// The tile's correct bytes, computed from its inputs with the kernels' integer cores.
    public func recomputeTile(layer: Int, tile: Int, inputs: [UInt8], threads: Int = 1) throws(KernelError) -> [UInt8] {
        let tiling = try checked(layer, tile)
        let expected = try tileInputs(layer: layer, tile: tile).byteCount
        guard UInt64(inputs.count) == expected else {
            throw .invalidTile("tile \(tile) of layer \(layer) reads \(expected) input bytes, given \(inputs.count)")
        }
        let threads = max(1, threads)
        switch (plan, tiling) {
        case let (.gemm(gemm), .matrix(matrix)):
            return gemm.tile(matrix.region(tile), inputs: inputs, model: model, threads: threads)
        case let (.mlp(mlp), .matrix(matrix)):
            let (rows, columns) = matrix.region(tile)
            return mlp.layers[layer].forward(
                inputs, rows: rows.count, inputZeroPoint: mlp.inputZeroPoint(ofLayer: layer),
                weights: model[mlp.layers[layer].weightName]!.data, columns: columns,
                implementation: .optimised(threads: threads))
        case let (.conv(conv), .conv(convTiling)):
            return conv.tile(tile, of: convTiling, inputs: inputs, model: model, threads: threads)
        case let (.qnn(qnn), tiling):
            return qnn.tile(tile, of: tiling, node: qnn.nodes[layer], inputs: inputs, model: model, threads: threads)
        default:
            preconditionFailure("a layout's tilings follow its plan")
        }
    }
}

extension GemmPlan {
    /// Rows `region.rows`, columns `region.columns` of the output, from those rows of A.
    func tile(_ region: (rows: Range<Int>, columns: Range<Int>), inputs: [UInt8], model: Model, threads: Int) -> [UInt8] {
        let block = ColumnBlock.extract(model["b"]!.data, rows: k, columns: n, range: region.columns)
        let (rows, columns) = (region.rows.count, region.columns.count)
        return Tensor.int32Output(shape: [rows, columns]) { c in
            GemmCore.optimised(a: inputs, a, b: block, b, m: rows, n: columns, k: k, threads: threads, into: c)
        }.data
    }
}

extension ConvPlan {
    func tile(_ tile: Int, of tiling: ConvTiling, inputs: [UInt8], model: Model, threads: Int) -> [UInt8] {
        let (values, _) = tiling.accumulators(tile, inputs: inputs, x, weights: model["w"]!.data, w, threads: threads)
        return Tensor.int32Unchecked(values, shape: [values.count]).data
    }
}

extension ConvTiling {
    /// One tile's accumulators [filters, rows, OW] and its filters, as a convolution of its own: one image, the
    /// group's channels cut to the tile's input rows (with the top padding that remains), the tile's filters, its
    /// output rows.
    func accumulators(
        _ tile: Int, inputs: [UInt8], _ x: MatrixOperand, weights: [UInt8], _ w: MatrixOperand, threads: Int
    ) -> (values: [Int32], filters: Range<Int>) {
        let (_, _, filters, rows) = region(tile)
        let inputRows = inputRows(tile)
        let sub = ConvGeometry(tileOf: geometry, filters: filters.count, inputRows: inputRows, outputRows: rows)
        let patch = geometry.patchLength
        let count = QNNShape.elements(sub.outputShape)
        // A receptive field wholly in the padding sums no terms: zeros.
        guard !inputRows.isEmpty else { return ([Int32](repeating: 0, count: count), filters) }
        let tileWeights = Array(weights[filters.lowerBound * patch..<filters.upperBound * patch])
        let values = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress { ConvLowered.run(sub, x: inputs, x, w: tileWeights, w, threads: threads, into: base) }
            initialized = count
        }
        return (values, filters)
    }
}

extension ConvGeometry {
    /// The geometry of one tile: output row oy of the tile is row `outputRows.lowerBound + oy` of `g`, and input row
    /// iy of the tile is row `inputRows.lowerBound + iy` of `g`, so the top padding becomes
    /// pad_top + first input row - first output row x stride (>= 0, as the input rows are clipped at 0).
    init(tileOf g: ConvGeometry, filters: Int, inputRows: Range<Int>, outputRows: Range<Int>) {
        (batch, channels, height, width) = (1, g.channelsPerGroup, inputRows.count, g.width)
        (self.filters, kernelHeight, kernelWidth, group) = (filters, g.kernelHeight, g.kernelWidth, 1)
        padTop = g.padTop + inputRows.lowerBound - outputRows.lowerBound * g.strideHeight
        padLeft = g.padLeft
        (strideHeight, strideWidth, dilationHeight, dilationWidth) = (g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth)
        (outHeight, outWidth) = (outputRows.count, g.outWidth)
    }
}

extension Kernels {
    /// Validates, tiles and runs the job, keeping its trace (`TraceLayout.execute`).
    public static func executeTraced(
        _ kernel: KernelID, model: Model, input: Tensor, limits: KernelLimits,
        maxTileWorkUnits: UInt64 = TraceLayout.defaultMaxTileWorkUnits, threads: Int = 1
    ) throws(KernelError) -> Trace {
        let layout = try TraceLayout(kernel, model: model, input: input.spec, limits: limits, maxTileWorkUnits: maxTileWorkUnits)
        return try layout.execute(input: input, threads: threads)
    }
}
