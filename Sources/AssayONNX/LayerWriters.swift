import AssayKernels

/// A quantized add's second operand: an activation or a constant (a dense layer's bias in QOperator form).
enum AddOperand {
    case tensor(QuantizedTensor)
    case constant(QuantizedConstant)
}

/// The data-movement attributes of Reshape, Flatten, Transpose and Concat, read before the input's rank is known.
enum MovementAttributes {
    case reshape([Int32])
    case flatten(axis: Int64)
    case transpose(perm: [Int64]?)
    case concat(axis: Int64)
}

/// Each layer kind's qnn/1 arrays (docs/kernels.md, "qnn/1"), from its ONNX operands. A writer checks what it
/// can from the operands at once, and computes the fixed-point scales when the output quantization is known.
enum LayerWriters {
    /// TFLite's add shifts the centred inputs left by 20 bits before scaling (docs/kernels.md, "add").
    static let addLeftShift = 20

    // MARK: Linear and conv

    static func linear(
        _ node: ONNXNode, _ x: QuantizedTensor, _ weight: QuantizedConstant, _ bias: QuantizedConstant?, transposed: Bool
    ) throws(ONNXImportError) -> LayerWriter {
        var (bytes, zeroPoint) = try int8Weights(node, weight)
        var dims = weight.constant.dims
        guard dims.count == 2 else { throw .node(node, "weights '\(weight.constant.name)' have shape \(dims); a dense layer needs [K, N]") }
        if transposed {
            bytes = (0..<(dims[0] * dims[1])).map { index in bytes[(index % dims[0]) * dims[1] + index / dims[0]] }
            dims = [dims[1], dims[0]]
        }
        let weightTensor = try tensor(node) { () throws(KernelError) in try Tensor(dtype: .int8, shape: dims.map { UInt64($0) }, data: bytes) }
        return try requantizingLayer(node, .linear, x, weight, bias, channels: dims[1], [("weight", weightTensor)] + zeroPoint)
    }

    static func conv(_ node: ONNXNode, _ x: QuantizedTensor, _ weight: QuantizedConstant, _ bias: QuantizedConstant?) throws(ONNXImportError) -> LayerWriter {
        let dims = weight.constant.dims
        guard dims.count == 4 else { throw .node(node, "weights '\(weight.constant.name)' have shape \(dims); qnn/1 convolves 2-D images ([M, C/group, kH, kW])") }
        let window = try windowAttributes(node, extra: ["group"], kernel: Array(dims[2...]))
        let group = try node.int("group", default: 1)
        guard (1...Int64(Int32.max)).contains(group) else { throw .node(node, "group \(group) is out of range") }
        let (bytes, zeroPoint) = try int8Weights(node, weight)
        let weightTensor = try tensor(node) { () throws(KernelError) in try Tensor(dtype: .int8, shape: dims.map { UInt64($0) }, data: bytes) }
        let attributes = try window.fields(node, kernelField: nil) + [("group", try int32s(node, [Int32(group)], scalar: true))]
        return try requantizingLayer(node, .conv, x, weight, bias, channels: dims[0], [("weight", weightTensor)] + zeroPoint + attributes)
    }

    /// Linear or conv: `R(bias + sum)` with one multiplier per output channel, `x_scale x w_scale / y_scale`
    /// computed in float in ONNX Runtime's order, so that the Q31 multiplier holds it exactly.
    private static func requantizingLayer(
        _ node: ONNXNode, _ op: QNNOp, _ x: QuantizedTensor, _ weight: QuantizedConstant, _ bias: QuantizedConstant?,
        channels: Int, _ fields: [(String, Tensor)]
    ) throws(ONNXImportError) -> LayerWriter {
        let weightScales = try channelScales(node, weight, channels)
        var fields = fields
        if let bias { fields.append(("bias", try int32Bias(node, bias, x, weightScales, channels: channels))) }
        return { graph, output, clamp throws(ONNXImportError) in
            let reals = weightScales.map { Double(x.quantization.scale * $0 / output.scale) }
            let requantization = try scaleFields(node, reals, what: "input scale x weight scale / output scale")
            let zero = try activation(node, graph, [output.zeroPoint], shape: [])
            return try graph.append(op, inputs: [x.index], fields + requantization + [("output_zero_point", zero)], clamp: clamp, from: node)
        }
    }

    /// Weights as int8 with one zero point: uint8 weights become int8 by subtracting 128 from values and zero point
    /// (the centred values, all that the kernel uses, are unchanged).
    private static func int8Weights(_ node: ONNXNode, _ weight: QuantizedConstant) throws(ONNXImportError) -> ([UInt8], [(String, Tensor)]) {
        guard case let .bytes(bytes, dtype) = weight.constant.elements else {
            throw .node(node, "weights '\(weight.constant.name)' must be int8 or uint8: the layer is not quantized")
        }
        guard let zero = weight.zeroPoints.first, weight.zeroPoints.allSatisfy({ $0 == zero }) else {
            throw .node(node, "weights '\(weight.constant.name)' have different zero points per channel; qnn/1 takes one")
        }
        let shift: Int64 = dtype == .uint8 ? 128 : 0
        let converted = dtype == .uint8 ? bytes.map { $0 &- 128 } : bytes
        let zeroPoint = try int8Scalar(node, zero - shift)
        return (converted, [("w_zero_point", zeroPoint)])
    }

    /// One weight scale, or one per output channel.
    private static func channelScales(_ node: ONNXNode, _ weight: QuantizedConstant, _ channels: Int) throws(ONNXImportError) -> [Float] {
        guard weight.scales.count == 1 || weight.scales.count == channels else {
            throw .node(node, "has \(weight.scales.count) weight scales for \(channels) output channels")
        }
        return weight.scales
    }

    /// An int32 bias on the accumulator's scale (input scale x weight scale, zero point 0), as quantize_static
    /// writes it; any other bias would need a rounding ONNX Runtime does not do.
    private static func int32Bias(_ node: ONNXNode, _ bias: QuantizedConstant, _ x: QuantizedTensor, _ weightScales: [Float], channels: Int) throws(ONNXImportError) -> Tensor {
        guard case let .int32(values) = bias.constant.elements, bias.constant.dims == [channels] else {
            throw .node(node, "bias '\(bias.constant.name)' must be int32 of shape [\(channels)]")
        }
        guard bias.zeroPoints.allSatisfy({ $0 == 0 }) else { throw .node(node, "bias '\(bias.constant.name)' must have zero point 0") }
        for channel in 0..<channels {
            let expected = x.quantization.scale * weightScales[weightScales.count == 1 ? 0 : channel]
            let stated = bias.scales[bias.scales.count == 1 ? 0 : channel]
            guard abs(stated - expected) <= 1e-5 * expected else {
                throw .node(node, "bias '\(bias.constant.name)' has scale \(stated); input scale x weight scale is \(expected)")
            }
        }
        return try int32s(node, values, scalar: false)
    }

    // MARK: Add

    static func add(_ node: ONNXNode, _ first: AddOperand, _ second: AddOperand) throws(ONNXImportError) -> LayerWriter {
        let (a, b): (QuantizedTensor, AddOperand)
        switch (first, second) {
        case let (.tensor(tensor), other), let (other, .tensor(tensor)): (a, b) = (tensor, other)
        default: throw .node(node, "adds two constants; fold them before importing")
        }
        let bScale: Float
        var inputs = [a.index]
        switch b {
        case let .tensor(tensor):
            bScale = tensor.quantization.scale
            inputs.append(tensor.index)
        case let .constant(constant):
            guard constant.scales.count == 1, constant.zeroPoints.count == 1 else { throw .node(node, "its constant needs one scale and zero point") }
            bScale = constant.scales[0]
        }
        return { graph, output, clamp throws(ONNXImportError) in
            let twiceMax = 2 * Double(max(a.quantization.scale, bScale))
            var fields = try scaleFields(node, [Double(a.quantization.scale) / twiceMax], what: "the first input's scale", "a_multiplier", "a_shift")
            fields += try scaleFields(node, [Double(bScale) / twiceMax], what: "the second input's scale", "b_multiplier", "b_shift")
            fields += try scaleFields(node, [twiceMax / (Double(1 << addLeftShift) * Double(output.scale))], what: "2 x the larger input scale / (2^20 x the output scale)")
            fields.append(("output_zero_point", try activation(node, graph, [output.zeroPoint], shape: [])))
            if case let .constant(constant) = b { fields += try addConstant(node, graph, constant) }
            return try graph.append(.add, inputs: inputs, fields, clamp: clamp, from: node)
        }
    }

    /// `b_constant` and `b_zero_point` in the activation dtype (int8 and uint8 convert exactly by 128), with leading
    /// axes of size 1 dropped so that it repeats over the batch.
    private static func addConstant(_ node: ONNXNode, _ graph: QNNGraph, _ constant: QuantizedConstant) throws(ONNXImportError) -> [(String, Tensor)] {
        guard case let .bytes(bytes, dtype) = constant.constant.elements else {
            throw .node(node, "adds '\(constant.constant.name)', which is not int8 or uint8; qnn/1 adds constants of the activation dtype")
        }
        let offset: Int32 = dtype == graph.activation ? 0 : (graph.activation == .int8 ? -128 : 128)
        let values = bytes.map { (dtype == .int8 ? Int32(Int8(bitPattern: $0)) : Int32($0)) + offset }
        let shape = Array(constant.constant.dims.drop { $0 == 1 }).map { UInt64($0) }
        return [("b_constant", try activation(node, graph, values, shape: shape)),
                ("b_zero_point", try activation(node, graph, [Int32(constant.zeroPoints[0]) + offset], shape: []))]
    }

    // MARK: Pools

    static func maxPool(_ node: ONNXNode, _ x: QuantizedTensor) throws(ONNXImportError) -> LayerWriter {
        let window = try windowAttributes(node, extra: ["storage_order"], kernel: nil)
        guard try node.int("storage_order", default: 0) == 0 else { throw .node(node, "storage_order 1 is not supported") }
        let fields = try window.fields(node, kernelField: "kernel")
        return { graph, _, clamp throws(ONNXImportError) in
            try graph.append(.maxPool, inputs: [x.index], fields, clamp: clamp, from: node)
        }
    }

    /// AveragePool (count_include_pad = 1, or no padding) and GlobalAveragePool: the window's size is divided in
    /// the multiplier, `x_scale / (y_scale x window)`, one rounding.
    static func averagePool(_ node: ONNXNode, _ x: QuantizedTensor, global: Bool) throws(ONNXImportError) -> LayerWriter {
        let channelsLast = node.domain.isEmpty ? [] : ["channels_last"]
        guard try node.int("channels_last", default: 0) == 0 else { throw .node(node, "channels_last 1 is not supported (qnn/1 is NCHW)") }
        var fields: [(String, Tensor)] = []
        var window: Int?
        if global {
            try node.checkAttributes(Set(channelsLast))
        } else {
            let attributes = try windowAttributes(node, extra: ["count_include_pad"] + channelsLast, kernel: nil)
            if try node.int("count_include_pad", default: 0) == 0, attributes.pads.contains(where: { $0 != 0 }) {
                throw .node(node, "count_include_pad 0 with padding divides by a window size that varies at the borders; qnn/1 needs count_include_pad 1 or no padding")
            }
            fields = try attributes.fields(node, kernelField: "kernel")
            window = Int(attributes.kernel[0]) * Int(attributes.kernel[1])
        }
        return { graph, output, clamp throws(ONNXImportError) in
            let shape = graph.shapes[x.index]
            guard shape.count == 4 else { throw .node(node, "pools a tensor of shape \(shape); qnn/1 pools [N, C, H, W]") }
            let size = window ?? shape[2] * shape[3]
            guard size > 0 else { throw .node(node, "pools an empty window") }
            let real = Double(x.quantization.scale) / (Double(output.scale) * Double(size))
            let requantization = try scaleFields(node, [real], what: "input scale / (output scale x window size)")
            let zero = try activation(node, graph, [output.zeroPoint], shape: [])
            return try graph.append(global ? .globalAveragePool : .averagePool, inputs: [x.index],
                                    fields + requantization + [("output_zero_point", zero)], clamp: clamp, from: node)
        }
    }

    /// Pads, strides, dilations and a 2-D kernel of Conv and the pools.
    struct Window {
        var kernel: [Int32]
        var pads: [Int32]
        var strides: [Int32]
        var dilations: [Int32]

        func fields(_ node: ONNXNode, kernelField: String?) throws(ONNXImportError) -> [(String, Tensor)] {
            var fields = [("pads", try int32s(node, pads, scalar: false)), ("strides", try int32s(node, strides, scalar: false)),
                          ("dilations", try int32s(node, dilations, scalar: false))]
            if let kernelField { fields.append((kernelField, try int32s(node, kernel, scalar: false))) }
            return fields
        }
    }

    private static func windowAttributes(_ node: ONNXNode, extra: [String], kernel weightKernel: [Int]?) throws(ONNXImportError) -> Window {
        try node.checkAttributes(Set(["kernel_shape", "pads", "strides", "dilations", "auto_pad", "ceil_mode"] + extra))
        let autoPad = try node.string("auto_pad", default: "NOTSET")
        guard autoPad == "NOTSET" || autoPad == "VALID" else { throw .node(node, "auto_pad \(autoPad) is not supported (give explicit pads)") }
        guard try node.int("ceil_mode", default: 0) == 0 else { throw .node(node, "ceil_mode 1 is not supported") }
        let stated = try node.ints("kernel_shape")
        if let weightKernel, let stated, stated.map({ Int($0) }) != weightKernel {
            throw .node(node, "kernel_shape \(stated) disagrees with the weights' \(weightKernel)")
        }
        guard let kernel = stated ?? weightKernel?.map({ Int64($0) }), kernel.count == 2 else {
            throw .node(node, "needs a 2-D kernel_shape (qnn/1 works on [N, C, H, W])")
        }
        func list(_ name: String, _ count: Int, _ absent: Int64) throws(ONNXImportError) -> [Int32] {
            let values = try node.ints(name) ?? [Int64](repeating: absent, count: count)
            guard values.count == count, values.allSatisfy({ (0...Int64(Int32.max)).contains($0) }) else {
                throw .node(node, "\(name) \(values) must be \(count) non-negative integers")
            }
            return values.map { Int32($0) }
        }
        guard kernel.allSatisfy({ (1...Int64(Int32.max)).contains($0) }) else { throw .node(node, "kernel_shape \(kernel) must be >= 1") }
        return Window(kernel: kernel.map { Int32($0) }, pads: try list("pads", 4, 0), strides: try list("strides", 2, 1), dilations: try list("dilations", 2, 1))
    }

    // MARK: Data movement

    static func movementShape(_ node: ONNXNode, _ reader: GraphReader) throws(ONNXImportError) -> MovementAttributes {
        switch node.opType {
        case "Reshape":
            try node.checkArity(2...2)
            try node.checkAttributes(["allowzero"])
            guard try node.int("allowzero", default: 0) == 0 else { throw .node(node, "allowzero 1 is not supported") }
            let shape = try reader.constant(node, 1).integers(node)
            guard shape.allSatisfy({ (-1...Int64(Int32.max)).contains($0) }) else { throw .node(node, "shape \(shape) is out of range") }
            return .reshape(shape.map { Int32($0) })
        case "Flatten":
            try node.checkArity(1...1)
            try node.checkAttributes(["axis"])
            return .flatten(axis: try node.int("axis", default: 1))
        case "Transpose":
            try node.checkArity(1...1)
            try node.checkAttributes(["perm"])
            return .transpose(perm: try node.ints("perm"))
        default:
            guard node.opType == "Concat" || node.opType == "QLinearConcat", node.outputs.count == 1 else {
                throw .node(node, "has \(node.outputs.count) outputs; only one is supported")
            }
            try node.checkAttributes(["axis"])
            guard let axis = node.attribute("axis") else { throw .node(node, "needs an axis") }
            return .concat(axis: axis.i)
        }
    }

    static func movement(_ node: ONNXNode, _ inputs: [QuantizedTensor], shape attributes: MovementAttributes) throws(ONNXImportError) -> LayerWriter {
        { graph, output, clamp throws(ONNXImportError) in
            var inputs = inputs
            if case .concat = attributes {
                for (position, input) in inputs.enumerated() where input.quantization != output {
                    inputs[position] = QuantizedTensor(index: try requantize(node, input, to: output, &graph), quantization: output)
                }
            }
            let rank = graph.shapes[inputs[0].index].count
            func axis(_ value: Int64, upTo limit: Int) throws(ONNXImportError) -> Int32 {
                let resolved = value < 0 ? value + Int64(rank) : value
                guard (0...Int64(limit)).contains(resolved) else { throw .node(node, "axis \(value) is out of range for rank \(rank)") }
                return Int32(resolved)
            }
            let (op, field): (QNNOp, (String, Tensor))
            switch attributes {
            case let .reshape(shape): (op, field) = (.reshape, ("shape", try int32s(node, shape, scalar: false)))
            case let .flatten(value): (op, field) = (.flatten, ("axis", try int32s(node, [try axis(value, upTo: rank)], scalar: true)))
            case let .transpose(perm):
                let order = try (perm ?? (0..<Int64(rank)).reversed()).map { value throws(ONNXImportError) in try axis(value, upTo: rank - 1) }
                (op, field) = (.transpose, ("perm", try int32s(node, order, scalar: false)))
            case let .concat(value): (op, field) = (.concat, ("axis", try int32s(node, [try axis(value, upTo: rank - 1)], scalar: true)))
            }
            return try graph.append(op, inputs: inputs.map(\.index), [field], clamp: clamp, from: node)
        }
    }

    /// A layer that only changes a tensor's scale and zero point: qnn/1's add of a zero constant on the same scale
    /// (A's multiplier is then exactly one half), whose output scale `2 x_scale / (2^20 y_scale)` does the work.
    private static func requantize(_ node: ONNXNode, _ x: QuantizedTensor, to output: Quantization, _ graph: inout QNNGraph) throws(ONNXImportError) -> Int {
        let zero = ONNXConstant(name: "zero", dims: [], elements: .bytes([0], graph.activation))
        let writer = try add(node, .tensor(x), .constant(QuantizedConstant(constant: zero, scales: [x.quantization.scale], zeroPoints: [0])))
        return try writer(&graph, output, nil)
    }

    /// A Relu or Clip that cannot fold into its producer: a reshape to the same shape, which applies the clamp.
    static func identity(_ node: ONNXNode, _ x: QuantizedTensor) -> LayerWriter {
        { graph, _, clamp throws(ONNXImportError) in
            let rank = graph.shapes[x.index].count
            guard rank > 0 else { throw .node(node, "clamps a scalar; qnn/1 clamps tensors of rank 1 or more") }
            let shape = try int32s(node, [Int32](repeating: 0, count: rank), scalar: false)
            return try graph.append(.reshape, inputs: [x.index], [("shape", shape)], clamp: clamp, from: node)
        }
    }

    static func gemmTransposesB(_ node: ONNXNode) throws(ONNXImportError) -> Bool {
        try node.checkAttributes(["alpha", "beta", "transA", "transB"])
        guard try node.float("alpha", default: 1) == 1, try node.float("beta", default: 1) == 1 else {
            throw .node(node, "alpha and beta other than 1 are not supported")
        }
        guard try node.int("transA", default: 0) == 0 else { throw .node(node, "transA 1 is not supported") }
        return try node.int("transB", default: 0) != 0
    }

    // MARK: Arrays

    /// `multiplier` and `shift` for these real scales (one, or one per channel; a scalar when they are all equal).
    static func scaleFields(_ node: ONNXNode, _ reals: [Double], what: String, _ multiplier: String = "multiplier", _ shift: String = "shift") throws(ONNXImportError) -> [(String, Tensor)] {
        var scales: [FixedPointScale] = []
        for real in reals {
            do { scales.append(try FixedPointScale(real)) } catch { throw .node(node, "\(what): \(error.description)") }
        }
        let single = scales.allSatisfy { $0 == scales[0] }
        let used = single ? [scales[0]] : scales
        return [(multiplier, try int32s(node, used.map(\.multiplier), scalar: single)),
                (shift, try int32s(node, used.map(\.shift), scalar: single))]
    }

    static func int32s(_ node: ONNXNode, _ values: [Int32], scalar: Bool) throws(ONNXImportError) -> Tensor {
        try tensor(node) { () throws(KernelError) in try Tensor(int32: values, shape: scalar ? [] : [UInt64(values.count)]) }
    }

    private static func int8Scalar(_ node: ONNXNode, _ value: Int64) throws(ONNXImportError) -> Tensor {
        guard let byte = Int8(exactly: value) else { throw .node(node, "weight zero point \(value) does not fit int8") }
        return try tensor(node) { () throws(KernelError) in try Tensor(int8: [byte], shape: []) }
    }

    static func activation(_ node: ONNXNode, _ graph: QNNGraph, _ values: [Int32], shape: [UInt64]) throws(ONNXImportError) -> Tensor {
        guard values.allSatisfy({ graph.dtypeRange.contains($0) }) else {
            throw .node(node, "value \(values) is out of the \(graph.activation) range")
        }
        return try tensor(node) { () throws(KernelError) in try graph.activationTensor(values, shape: shape) }
    }

    private static func tensor(_ node: ONNXNode, _ make: () throws(KernelError) -> Tensor) throws(ONNXImportError) -> Tensor {
        do { return try make() } catch { throw .node(node, error.description) }
    }
}
