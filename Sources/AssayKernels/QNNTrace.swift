/// `qnn/1` in a trace: every node is a layer, tiled by its kind (docs/kernels.md, "qnn/1 tiles"). A linear node is
/// a matrix layer, a conv node a convolution layer (8-bit outputs); every other node is cut into runs of output
/// elements, and a run reads, of each tensor the node names, the one range that holds every element it needs.
extension QNNPlan {
    func tilings(maxTileWorkUnits budget: UInt64) throws(KernelError) -> [LayerTiling] {
        var tilings: [LayerTiling] = []
        for node in nodes { tilings.append(try tiling(node, maxTileWorkUnits: budget)) }
        return tilings
    }

    private func tiling(_ node: QNNNode, maxTileWorkUnits budget: UInt64) throws(KernelError) -> LayerTiling {
        let count = QNNShape.elements(node.outputShape)
        switch node.kind {
        case .linear:
            let x = tensors[node.inputs[0]].shape
            return .matrix(try MatrixTiling(m: x[0], k: x[1], n: node.outputShape[1], outputElementBytes: 1, maxTileWorkUnits: budget))
        case let .conv(_, geometry):
            return .conv(try ConvTiling(geometry, outputElementBytes: 1, maxTileWorkUnits: budget))
        default:
            // Every output element of these kinds costs the same: 1, a pooling window's taps, or an input plane.
            let elementWorkUnits = count == 0 ? 0 : node.workUnits / UInt64(count)
            return .elements(try ElementTiling(count: count, elementWorkUnits: elementWorkUnits, maxTileWorkUnits: budget))
        }
    }

    /// What output elements `outputs` of a node without weights read: one range per tensor the node names, in the
    /// node's order (empty where the run needs nothing of it).
    func elementReads(_ node: QNNNode, _ outputs: Range<Int>) -> [TensorRead] {
        let ranges = outputs.isEmpty ? node.inputs.map { _ in 0..<0 } : elementRanges(node, outputs)
        return zip(node.inputs, ranges).map { TensorRead(tensor: $0, range: $1) }
    }

    private func elementRanges(_ node: QNNNode, _ outputs: Range<Int>) -> [Range<Int>] {
        let x = tensors[node.inputs[0]].shape
        switch node.kind {
        case .add, .reshape:
            return node.inputs.map { _ in outputs }
        case .transpose:
            // A run of the output gathers from all over the input.
            return [0..<QNNShape.elements(x)]
        case .globalAveragePool:
            let plane = x[2] * x[3]
            return [outputs.lowerBound * plane..<outputs.upperBound * plane]
        case let .maxPool(geometry), let .averagePool(geometry, _):
            return [poolRange(geometry, outputs)]
        case let .concat(axis):
            return concatRanges(node, axis: axis, outputs)
        case .linear, .conv:
            preconditionFailure("layers with weights are tiled as matrices and convolutions")
        }
    }

    /// From the top of the first output row's window, in the run's first plane, to the bottom of the last output
    /// row's window, in its last plane (whole input rows, clipped to the input): windows only move down, so every
    /// tap of the run lies in between.
    private func poolRange(_ g: ConvGeometry, _ outputs: Range<Int>) -> Range<Int> {
        let (firstPlane, firstPixel) = outputs.lowerBound.quotientAndRemainder(dividingBy: g.outHeight * g.outWidth)
        let (lastPlane, lastPixel) = (outputs.upperBound - 1).quotientAndRemainder(dividingBy: g.outHeight * g.outWidth)
        let top = (firstPixel / g.outWidth) * g.strideHeight - g.padTop
        let bottom = (lastPixel / g.outWidth) * g.strideHeight - g.padTop + (g.kernelHeight - 1) * g.dilationHeight + 1
        let start = firstPlane * g.height * g.width + min(g.height, max(0, top)) * g.width
        let end = lastPlane * g.height * g.width + min(g.height, max(0, bottom)) * g.width
        return start..<max(start, end)
    }

    /// Input i fills elements offset_i..<offset_i + chunk_i of every block of the output (a block is one index of
    /// the axes before `axis`): the run reads, of input i, from its first element in the run's first block to its
    /// last element in the run's last block.
    private func concatRanges(_ node: QNNNode, axis: Int, _ outputs: Range<Int>) -> [Range<Int>] {
        let chunks = node.inputs.map { QNNShape.elements(Array(tensors[$0].shape[axis...])) }
        let blockSize = chunks.reduce(0, +)
        let (firstBlock, firstOffset) = outputs.lowerBound.quotientAndRemainder(dividingBy: blockSize)
        let (lastBlock, lastOffset) = (outputs.upperBound - 1).quotientAndRemainder(dividingBy: blockSize)
        var offset = 0
        return chunks.map { chunk in
            defer { offset += chunk }
            let start = firstBlock * chunk + min(chunk, max(0, firstOffset - offset))
            let end = lastBlock * chunk + min(chunk, max(0, lastOffset + 1 - offset))
            return start..<max(start, end)
        }
    }

    /// Tile `tile` of `node`'s layer from `inputs`, the bytes of its reads concatenated, on the optimised path.
    func tile(_ tile: Int, of tiling: LayerTiling, node: QNNNode, inputs: [UInt8], model: Model, threads: Int) -> [UInt8] {
        let context = context(node, model: model, implementation: .optimised(threads: threads))
        switch (node.kind, tiling) {
        case let (.linear(weights), .matrix(matrix)):
            let (rows, columns) = matrix.region(tile)
            return context.linear(inputs, weights, rows: rows.count, columns: columns)
        case let (.conv(weights, _), .conv(conv)):
            return context.convTile(tile, of: conv, inputs, weights, threads: threads)
        case let (_, .elements(elements)):
            let outputs = elements.outputRange(tile)
            var (slices, offset) = ([QNNSlice](), 0)
            for read in elementReads(node, outputs) {
                slices.append(QNNSlice(start: read.range.lowerBound, bytes: Array(inputs[offset..<offset + read.range.count])))
                offset += read.range.count
            }
            return context.elements(slices, outputs)
        default:
            preconditionFailure("a node's tiling follows its kind")
        }
    }
}
