/// Execution of a validated `qnn/1` graph. Linear and conv layers run on the kernels' integer cores (the GEMM core
/// and the lowered convolution, or their plain-loop oracles for `.reference`); every other layer is one exact loop,
/// the same for both implementations. Activations are bytes of the plan's dtype in C order.
extension QNNPlan {
    /// Every node's output, in node order (the last is the kernel's output).
    func run(model: Model, input: [UInt8], implementation: Implementation) -> [[UInt8]] {
        var values: [[UInt8]] = [input]
        for node in nodes {
            values.append(context(node, model: model, implementation: implementation).run(node.inputs.map { values[$0] }))
        }
        return Array(values.dropFirst())
    }

    func context(_ node: QNNNode, model: Model, implementation: Implementation) -> QNNContext {
        QNNContext(
            activation: activation, inputs: node.inputs.map { tensors[$0] }, node: node, model: model,
            implementation: implementation)
    }
}

/// The elements `start..<start + bytes.count` of a tensor, addressed by their index in the whole tensor: what a
/// tile of a layer without weights reads of one input (the whole input when the layer runs whole).
struct QNNSlice {
    let start: Int
    let bytes: [UInt8]

    subscript(index: Int) -> UInt8 { bytes[index - start] }
}

/// One node's execution: its inputs' shapes and zero points, its parameters and how to multiply.
struct QNNContext {
    let activation: DType
    let inputs: [QNNTensor]
    let node: QNNNode
    let model: Model
    let implementation: Implementation

    /// An element as an integer: int8 sign-extended, uint8 zero-extended.
    func value(_ byte: UInt8) -> Int32 { activation == .int8 ? Int32(Int8(bitPattern: byte)) : Int32(byte) }

    /// An in-range value back to its byte (two's complement for int8).
    static func byte(_ value: Int32) -> UInt8 { UInt8(truncatingIfNeeded: value) }

    func run(_ x: [[UInt8]]) -> [UInt8] {
        switch node.kind {
        case let .linear(weights): linear(x[0], weights, rows: inputs[0].shape[0], columns: 0..<node.outputShape[1])
        case let .conv(weights, geometry): conv(x[0], weights, geometry)
        default: elements(x.map { QNNSlice(start: 0, bytes: $0) }, 0..<QNNShape.elements(node.outputShape))
        }
    }

    /// Output elements `outputs` (C order) of a layer without weights, from slices of its inputs that hold every
    /// element those outputs read (`QNNPlan.elementReads`).
    func elements(_ x: [QNNSlice], _ outputs: Range<Int>) -> [UInt8] {
        switch node.kind {
        case let .add(add): self.add(x, add, outputs)
        case let .maxPool(geometry): maxPool(x[0], geometry, outputs)
        case let .averagePool(geometry, scale): averagePool(x[0], geometry, scale, outputs)
        case let .globalAveragePool(scale): globalAveragePool(x[0], scale, outputs)
        case .reshape: outputs.map { Self.byte(node.output.clamped(value(x[0][$0]))) }
        case let .transpose(perm): transpose(x[0], perm, outputs)
        case let .concat(axis): concat(x, axis: axis, outputs)
        case .linear, .conv: preconditionFailure("layers with weights run as matrix products")
        }
    }

    /// bias + the product, then the channel's scale, the zero point and the clamp.
    /// The accumulators come in runs of `run` elements of one output channel, the channels `channels` in turn
    /// (NCHW conv: a run is a channel's pixels; a linear layer's rows: runs of 1), so each channel's bias and scale
    /// are looked up once per run, with no division per element.
    private func requantize(_ accumulators: [Int32], _ weights: QNNWeights, run: Int, channels: Range<Int>) -> [UInt8] {
        let output = node.output
        return [UInt8](unsafeUninitializedCapacity: accumulators.count) { out, initialized in
            accumulators.withUnsafeBufferPointer { values in
                var index = 0
                while index < values.count {
                    for channel in channels {
                        let bias = weights.bias[channel]
                        let (multiplier, shift) = weights.scale.parameters(channel: channel)
                        for _ in 0..<run {
                            let scaled = QNNScale.apply(values[index] &+ bias, multiplier: multiplier, shift: shift)
                            out[index] = Self.byte(output.requantized(scaled))
                            index += 1
                        }
                    }
                }
            }
            initialized = accumulators.count
        }
    }

    private var xOperand: MatrixOperand { MatrixOperand(dtype: activation, zeroPoint: inputs[0].zeroPoint) }

    private func wOperand(_ weights: QNNWeights) -> MatrixOperand { MatrixOperand(dtype: .int8, zeroPoint: weights.weightZeroPoint) }

    /// Output columns `columns` of `rows` rows (x holds those rows whole): the layer when run whole, a tile else.
    func linear(_ x: [UInt8], _ weights: QNNWeights, rows: Int, columns: Range<Int>) -> [UInt8] {
        let (k, n) = (inputs[0].shape[1], node.outputShape[1])
        let w = ColumnBlock.extract(model[weights.weightName]!.data, rows: k, columns: n, range: columns)
        let accumulators: [Int32]
        switch implementation {
        case .reference: accumulators = GemmCore.reference(a: x, xOperand, b: w, wOperand(weights), m: rows, n: columns.count, k: k)
        case let .optimised(threads):
            accumulators = GemmCore.optimised(a: x, xOperand, b: w, wOperand(weights), m: rows, n: columns.count, k: k, threads: threads)
        }
        return requantize(accumulators, weights, run: 1, channels: columns)
    }

    private func conv(_ x: [UInt8], _ weights: QNNWeights, _ g: ConvGeometry) -> [UInt8] {
        let w = model[weights.weightName]!.data
        let count = QNNShape.elements(g.outputShape)
        let accumulators: [Int32]
        switch implementation {
        case .reference: accumulators = ConvReference.run(g, x: x, xOperand, w: w, wOperand(weights))
        case let .optimised(threads):
            accumulators = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
                if let base = buffer.baseAddress {
                    ConvLowered.run(g, x: x, xOperand, w: w, wOperand(weights), threads: threads, into: base)
                }
                initialized = count
            }
        }
        return requantize(accumulators, weights, run: g.outHeight * g.outWidth, channels: 0..<g.filters)
    }

    /// One tile of a conv layer (x holds the bytes `ConvTiling.inputRanges` names), on the optimised path.
    func convTile(_ tile: Int, of tiling: ConvTiling, _ x: [UInt8], _ weights: QNNWeights, threads: Int) -> [UInt8] {
        let (values, filters) = tiling.accumulators(
            tile, inputs: x, xOperand, weights: model[weights.weightName]!.data, wOperand(weights), threads: threads)
        let pixels = tiling.region(tile).rows.count * tiling.geometry.outWidth
        return requantize(values, weights, run: pixels, channels: filters)
    }

    /// TFLite's quantized add: each centred input shifted left by 20 and scaled, the sum scaled again.
    private func add(_ x: [QNNSlice], _ add: QNNAdd, _ outputs: Range<Int>) -> [UInt8] {
        let aZero = inputs[0].zeroPoint
        return outputs.map { index in
            let b = add.constant.map { $0[index % $0.count] } ?? value(x[1][index])
            let a = add.aScale.apply((value(x[0][index]) - aZero) << QNNAdd.leftShift, channel: 0)
            let bScaled = add.bScale.apply((b - add.bZeroPoint) << QNNAdd.leftShift, channel: 0)
            // |a|, |bScaled| <= 255 x 2^20: the sum cannot overflow.
            return Self.byte(node.output.requantized(add.outputScale.apply(a + bScaled, channel: 0)))
        }
    }

    private func maxPool(_ x: QNNSlice, _ g: ConvGeometry, _ outputs: Range<Int>) -> [UInt8] {
        // A window wholly in the padding has no element: it gives the dtype's lowest value.
        let lowest: Int32 = activation == .int8 ? -128 : 0
        return poolWindows(x, g, outputs, initial: lowest, { max($0, $1) }) { _, largest in Self.byte(node.output.clamped(largest)) }
    }

    private func averagePool(_ x: QNNSlice, _ g: ConvGeometry, _ scale: QNNScale, _ outputs: Range<Int>) -> [UInt8] {
        // Padding holds the zero point, so it adds nothing; the divisor is in the multiplier.
        let zero = inputs[0].zeroPoint
        return poolWindows(x, g, outputs, initial: 0, { $0 &+ ($1 - zero) }) { plane, sum in
            Self.byte(node.output.requantized(scale.apply(sum, channel: plane % g.channels)))
        }
    }

    /// Folds `combine` over the elements of every pooling window that lie inside the input, then maps each result
    /// with `finish(plane, folded)` (plane = image x C + channel), for the output elements `outputs`.
    private func poolWindows(
        _ x: QNNSlice, _ g: ConvGeometry, _ outputs: Range<Int>, initial: Int32, _ combine: (Int32, Int32) -> Int32,
        finish: (Int, Int32) -> UInt8
    ) -> [UInt8] {
        let rowTaps = (0..<g.outHeight).map { Self.taps($0, g.strideHeight, g.padTop, g.dilationHeight, g.kernelHeight, inside: g.height) }
        let columnTaps = (0..<g.outWidth).map { Self.taps($0, g.strideWidth, g.padLeft, g.dilationWidth, g.kernelWidth, inside: g.width) }
        return outputs.map { index in
            let (plane, pixel) = index.quotientAndRemainder(dividingBy: g.outHeight * g.outWidth)
            let (row, column) = pixel.quotientAndRemainder(dividingBy: g.outWidth)
            let start = plane * g.height * g.width
            var folded = initial
            for inputRow in rowTaps[row] {
                for inputColumn in columnTaps[column] {
                    folded = combine(folded, value(x[start + inputRow * g.width + inputColumn]))
                }
            }
            return finish(plane, folded)
        }
    }

    /// The positions along one axis of the taps of output position `out`'s window that lie inside the input.
    private static func taps(_ out: Int, _ stride: Int, _ pad: Int, _ dilation: Int, _ kernel: Int, inside size: Int) -> [Int] {
        (0..<kernel).map { out * stride - pad + $0 * dilation }.filter { (0..<size).contains($0) }
    }

    private func globalAveragePool(_ x: QNNSlice, _ scale: QNNScale, _ outputs: Range<Int>) -> [UInt8] {
        let zero = inputs[0].zeroPoint
        let (channels, planeSize) = (inputs[0].shape[1], inputs[0].shape[2] * inputs[0].shape[3])
        return outputs.map { plane in
            let sum = (plane * planeSize..<(plane + 1) * planeSize).reduce(Int32(0)) { $0 &+ (value(x[$1]) - zero) }
            return Self.byte(node.output.requantized(scale.apply(sum, channel: plane % channels)))
        }
    }

    /// Output axis i runs along input axis perm[i].
    private func transpose(_ x: QNNSlice, _ perm: [Int], _ outputs: Range<Int>) -> [UInt8] {
        let (inputStrides, outputStrides) = (Self.strides(inputs[0].shape), Self.strides(node.outputShape))
        return outputs.map { index in
            var (rest, source) = (index, 0)
            for axis in perm.indices {
                let (position, remainder) = rest.quotientAndRemainder(dividingBy: outputStrides[axis])
                (source, rest) = (source + position * inputStrides[perm[axis]], remainder)
            }
            return Self.byte(node.output.clamped(value(x[source])))
        }
    }

    /// C-order strides (elements) of a shape.
    private static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in shape.indices.dropLast().reversed() { strides[axis] = strides[axis + 1] * shape[axis + 1] }
        return strides
    }

    /// The output is blocks (one per index of the axes before `axis`) of every input's chunk of that block in turn.
    private func concat(_ x: [QNNSlice], axis: Int, _ outputs: Range<Int>) -> [UInt8] {
        let chunks = inputs.map { QNNShape.elements(Array($0.shape[axis...])) }
        let blockSize = chunks.reduce(0, +)
        return outputs.map { index in
            let (block, start) = index.quotientAndRemainder(dividingBy: blockSize)
            var (input, offset) = (0, start)
            while offset >= chunks[input] { (offset, input) = (offset - chunks[input], input + 1) }
            return Self.byte(node.output.clamped(value(x[input][block * chunks[input] + offset])))
        }
    }
}
