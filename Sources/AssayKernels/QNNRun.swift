/// Execution of a validated `qnn/1` graph. Linear and conv layers run on the kernels' integer cores (the GEMM core
/// and the lowered convolution, or their plain-loop oracles for `.reference`); every other layer is one exact loop,
/// the same for both implementations. Activations are bytes of the plan's dtype in C order.
extension QNNPlan {
    /// Every node's output, in node order (the last is the kernel's output).
    func run(model: Model, input: [UInt8], implementation: Implementation) -> [[UInt8]] {
        var values: [[UInt8]] = [input]
        for node in nodes {
            let context = QNNContext(
                activation: activation, inputs: node.inputs.map { tensors[$0] }, node: node, model: model,
                implementation: implementation)
            values.append(context.run(node.inputs.map { values[$0] }))
        }
        return Array(values.dropFirst())
    }
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
        case let .linear(weights): linear(x[0], weights)
        case let .conv(weights, geometry): conv(x[0], weights, geometry)
        case let .add(add): self.add(x, add)
        case let .maxPool(geometry): maxPool(x[0], geometry)
        case let .averagePool(geometry, scale): averagePool(x[0], geometry, scale)
        case let .globalAveragePool(scale): globalAveragePool(x[0], scale)
        case .reshape: x[0].map { Self.byte(node.output.clamped(value($0))) }
        case let .transpose(perm): transpose(x[0], perm)
        case let .concat(axis): concat(x, axis: axis)
        }
    }

    /// bias + the product, then the channel's scale, the zero point and the clamp.
    private func requantize(_ accumulators: [Int32], _ weights: QNNWeights, channel: (Int) -> Int) -> [UInt8] {
        accumulators.indices.map { index in
            let c = channel(index)
            return Self.byte(node.output.requantized(weights.scale.apply(accumulators[index] &+ weights.bias[c], channel: c)))
        }
    }

    private func linear(_ x: [UInt8], _ weights: QNNWeights) -> [UInt8] {
        let (m, k, n) = (inputs[0].shape[0], inputs[0].shape[1], node.outputShape[1])
        let xOperand = MatrixOperand(dtype: activation, zeroPoint: inputs[0].zeroPoint)
        let wOperand = MatrixOperand(dtype: .int8, zeroPoint: weights.weightZeroPoint)
        let w = model[weights.weightName]!.data
        let accumulators: [Int32]
        switch implementation {
        case .reference: accumulators = GemmCore.reference(a: x, xOperand, b: w, wOperand, m: m, n: n, k: k)
        case let .optimised(threads):
            accumulators = GemmCore.optimised(a: x, xOperand, b: w, wOperand, m: m, n: n, k: k, threads: threads)
        }
        return requantize(accumulators, weights) { $0 % n }
    }

    private func conv(_ x: [UInt8], _ weights: QNNWeights, _ g: ConvGeometry) -> [UInt8] {
        let xOperand = MatrixOperand(dtype: activation, zeroPoint: inputs[0].zeroPoint)
        let wOperand = MatrixOperand(dtype: .int8, zeroPoint: weights.weightZeroPoint)
        let w = model[weights.weightName]!.data
        let count = QNNShape.elements(g.outputShape)
        let accumulators: [Int32]
        switch implementation {
        case .reference: accumulators = ConvReference.run(g, x: x, xOperand, w: w, wOperand)
        case let .optimised(threads):
            accumulators = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
                if let base = buffer.baseAddress {
                    ConvLowered.run(g, x: x, xOperand, w: w, wOperand, threads: threads, into: base)
                }
                initialized = count
            }
        }
        let pixels = g.outHeight * g.outWidth
        return requantize(accumulators, weights) { ($0 / pixels) % g.filters }
    }

    /// TFLite's quantized add: each centred input shifted left by 20 and scaled, the sum scaled again.
    private func add(_ x: [[UInt8]], _ add: QNNAdd) -> [UInt8] {
        let aZero = inputs[0].zeroPoint
        return x[0].indices.map { index in
            let b = add.constant.map { $0[index % $0.count] } ?? value(x[1][index])
            let a = add.aScale.apply((value(x[0][index]) - aZero) << QNNAdd.leftShift, channel: 0)
            let bScaled = add.bScale.apply((b - add.bZeroPoint) << QNNAdd.leftShift, channel: 0)
            // |a|, |bScaled| <= 255 x 2^20: the sum cannot overflow.
            return Self.byte(node.output.requantized(add.outputScale.apply(a + bScaled, channel: 0)))
        }
    }

    private func maxPool(_ x: [UInt8], _ g: ConvGeometry) -> [UInt8] {
        // A window wholly in the padding has no element: it gives the dtype's lowest value.
        let lowest: Int32 = activation == .int8 ? -128 : 0
        return poolWindows(x, g, initial: lowest, { max($0, $1) }) { _, largest in Self.byte(node.output.clamped(largest)) }
    }

    private func averagePool(_ x: [UInt8], _ g: ConvGeometry, _ scale: QNNScale) -> [UInt8] {
        // Padding holds the zero point, so it adds nothing; the divisor is in the multiplier.
        let zero = inputs[0].zeroPoint
        return poolWindows(x, g, initial: 0, { $0 &+ ($1 - zero) }) { plane, sum in
            Self.byte(node.output.requantized(scale.apply(sum, channel: plane % g.channels)))
        }
    }

    /// Folds `combine` over the elements of every pooling window that lie inside the input, then maps each result
    /// with `finish(plane, folded)` (plane = image x C + channel), in output C order.
    private func poolWindows(
        _ x: [UInt8], _ g: ConvGeometry, initial: Int32, _ combine: (Int32, Int32) -> Int32, finish: (Int, Int32) -> UInt8
    ) -> [UInt8] {
        let rowTaps = (0..<g.outHeight).map { Self.taps($0, g.strideHeight, g.padTop, g.dilationHeight, g.kernelHeight, inside: g.height) }
        let columnTaps = (0..<g.outWidth).map { Self.taps($0, g.strideWidth, g.padLeft, g.dilationWidth, g.kernelWidth, inside: g.width) }
        var output: [UInt8] = []
        output.reserveCapacity(QNNShape.elements(g.outputShape))
        for plane in 0..<(g.batch * g.channels) {
            let start = plane * g.height * g.width
            for rows in rowTaps {
                for columns in columnTaps {
                    var folded = initial
                    for row in rows {
                        for column in columns { folded = combine(folded, value(x[start + row * g.width + column])) }
                    }
                    output.append(finish(plane, folded))
                }
            }
        }
        return output
    }

    /// The positions along one axis of the taps of output position `out`'s window that lie inside the input.
    private static func taps(_ out: Int, _ stride: Int, _ pad: Int, _ dilation: Int, _ kernel: Int, inside size: Int) -> [Int] {
        (0..<kernel).map { out * stride - pad + $0 * dilation }.filter { (0..<size).contains($0) }
    }

    private func globalAveragePool(_ x: [UInt8], _ scale: QNNScale) -> [UInt8] {
        let zero = inputs[0].zeroPoint
        let (channels, planeSize) = (inputs[0].shape[1], inputs[0].shape[2] * inputs[0].shape[3])
        return (0..<(inputs[0].shape[0] * channels)).map { plane in
            let sum = x[plane * planeSize..<(plane + 1) * planeSize].reduce(Int32(0)) { $0 &+ (value($1) - zero) }
            return Self.byte(node.output.requantized(scale.apply(sum, channel: plane % channels)))
        }
    }

    private func transpose(_ x: [UInt8], _ perm: [Int]) -> [UInt8] {
        let shape = inputs[0].shape
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in shape.indices.dropLast().reversed() { strides[axis] = strides[axis + 1] * shape[axis + 1] }
        let outputShape = node.outputShape
        var index = [Int](repeating: 0, count: shape.count)
        var output: [UInt8] = []
        output.reserveCapacity(x.count)
        for _ in 0..<x.count {
            let source = perm.indices.reduce(0) { $0 + index[$1] * strides[perm[$1]] }
            output.append(Self.byte(node.output.clamped(value(x[source]))))
            // The next output index in C order: the last axis moves fastest.
            for axis in outputShape.indices.reversed() {
                index[axis] += 1
                if index[axis] < outputShape[axis] { break }
                index[axis] = 0
            }
        }
        return output
    }

    private func concat(_ x: [[UInt8]], axis: Int) -> [UInt8] {
        let outer = QNNShape.elements(Array(node.outputShape[..<axis]))
        let chunks = inputs.map { QNNShape.elements(Array($0.shape[axis...])) }
        var output: [UInt8] = []
        output.reserveCapacity(QNNShape.elements(node.outputShape))
        for block in 0..<outer {
            for (input, chunk) in zip(x, chunks) {
                output += input[block * chunk..<(block + 1) * chunk].map { Self.byte(node.output.clamped(value($0))) }
            }
        }
        return output
    }
}
