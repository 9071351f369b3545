import AssayKernels

/// One ONNX node at a time: quantization edges, QOperator layers (written at once) and QDQ float layers (written
/// when their QuantizeLinear comes).
extension GraphReader {
    static let supported = "QuantizeLinear, DequantizeLinear, QLinearConv, QLinearMatMul, QLinearAdd, QGemm, "
        + "QLinearGlobalAveragePool, QLinearAveragePool, QLinearConcat, and in QDQ form Conv, MatMul, Gemm, Add, MaxPool, "
        + "AveragePool, GlobalAveragePool, Reshape, Flatten, Transpose, Concat, Relu, Clip, MatMulInteger and ConvInteger "
        + "(then Cast, Mul by the product's scale, QuantizeLinear), plus Constant and Identity"

    mutating func readNode(_ node: ONNXNode) throws(ONNXImportError) {
        switch (node.domain, node.opType) {
        case ("", "QuantizeLinear"): try quantizeLinear(node)
        case ("", "DequantizeLinear"): try dequantizeLinear(node)
        case ("", "Constant"): try constantNode(node)
        case ("", "Identity"):
            try node.checkArity(1...1)
            set(node, try value(node.inputs[0], node))
        case ("", "QLinearConv"): try qLinearConv(node)
        case ("", "QLinearMatMul"): try qLinearMatMul(node)
        case ("com.microsoft", "QGemm"): try qGemm(node)
        case ("com.microsoft", "QLinearAdd"): try qLinearAdd(node)
        case ("com.microsoft", "QLinearGlobalAveragePool"), ("com.microsoft", "QLinearAveragePool"): try qLinearPool(node)
        case ("com.microsoft", "QLinearConcat"): try qLinearConcat(node)
        case ("", "Conv"), ("", "MatMul"), ("", "Gemm"), ("", "Add"), ("", "AveragePool"), ("", "GlobalAveragePool"):
            try floatLayer(node)
        case ("", "MaxPool"), ("", "Reshape"), ("", "Flatten"), ("", "Transpose"), ("", "Concat"): try movement(node)
        case ("", "Relu"), ("", "Clip"): try clamp(node)
        case ("", "MatMulInteger"), ("", "ConvInteger"): try integerProduct(node)
        case ("", "Cast"): try cast(node)
        case ("", "Mul"): try scaleProduct(node)
        default: throw .node(node, "unsupported op; qnn/1 imports \(GraphReader.supported)")
        }
    }

    // MARK: Quantization edges

    private mutating func quantizeLinear(_ node: ONNXNode) throws(ONNXImportError) {
        try node.checkArity(2...3)
        try node.checkAttributes(["axis"])
        let (scales, zeroPoints, dtype) = try scalesAndZeroPoints(node, 1, 2)
        guard scales.count == 1, zeroPoints.count == 1 else { throw .node(node, "activations need one scale and zero point") }
        let output = Quantization(scale: scales[0], zeroPoint: Int32(zeroPoints[0]))
        switch try value(node.inputs[0], node) {
        case let .floatInput(movements):
            try quantizeInput(node, output, dtype: dtype ?? .uint8, movements: movements)
        case let .pending(layer):
            if let keeps = layer.keeps, keeps != output {
                throw .node(layer.node, "moves data without requantizing, but its QuantizeLinear '\(node.name)' changes \(keeps) to \(output)")
            }
            let index = try write(node, output, try clampRange(layer, output), layer.write)
            setQuantized(node, index, output)
        case let .dequantized(tensor):
            guard tensor.quantization == output else {
                throw .node(node, "requantizes \(tensor.quantization) to \(output) without a layer between; not supported")
            }
            set(node, .quantized(tensor))
        default: throw .node(node, "quantizes '\(node.inputs[0])', which is neither the input nor a layer's float output")
        }
    }

    /// The input's QuantizeLinear: the qnn/1 input is its output; data movement before it is written after it.
    private mutating func quantizeInput(_ node: ONNXNode, _ output: Quantization, dtype: DType, movements: [ONNXNode]) throws(ONNXImportError) {
        guard graph == nil else { throw .node(node, "quantizes the input a second time; qnn/1 has one quantized input") }
        inputQuantization = output
        graph = QNNGraph(activation: dtype, input: TensorSpec(dtype: dtype, shape: inputSpecShape), inputZeroPoint: output.zeroPoint)
        var tensor = QuantizedTensor(index: 0, quantization: output)
        for movement in movements {
            let index = try write(movement, output, nil, try movementWriter(movement, [tensor]))
            tensor = QuantizedTensor(index: index, quantization: output)
        }
        set(node, .quantized(tensor))
    }

    private mutating func dequantizeLinear(_ node: ONNXNode) throws(ONNXImportError) {
        try node.checkArity(2...3)
        try node.checkAttributes(["axis"])
        switch try value(node.inputs[0], node) {
        case let .quantized(tensor):
            let stated = try activationQuantization(node, 1, 2)
            guard stated == tensor.quantization else {
                throw .node(node, "dequantizes with \(stated) a tensor quantized with \(tensor.quantization)")
            }
            set(node, .dequantized(tensor))
        case .constant:
            set(node, .dequantizedConstant(try quantizedConstant(node, 0, scale: 1, zero: 2)))
        default: throw .node(node, "dequantizes '\(node.inputs[0])', which is neither a quantized activation nor a constant")
        }
    }

    private mutating func constantNode(_ node: ONNXNode) throws(ONNXImportError) {
        try node.checkArity(0...0)
        try node.checkAttributes(["value"])
        guard let attribute = node.attribute("value"), attribute.type == .tensor else {
            throw .node(node, "only a tensor 'value' is supported")
        }
        set(node, .constant(try ONNXConstant(attribute.t)))
    }

    // MARK: QOperator layers

    private mutating func qLinearConv(_ node: ONNXNode) throws(ONNXImportError) {
        try node.checkArity(8...9)
        let x = try quantizedInput(node, 0, scale: 1, zero: 2)
        let weight = try quantizedConstant(node, 3, scale: 4, zero: 5)
        let output = try activationQuantization(node, 6, 7)
        let bias = try node.input(8).map { _ throws(ONNXImportError) in try impliedBias(node, 8, x, weight) }
        let index = try write(node, output, nil, try LayerWriters.conv(node, x, weight, bias))
        setQuantized(node, index, output)
    }

    private mutating func qLinearMatMul(_ node: ONNXNode) throws(ONNXImportError) {
        try node.checkArity(8...8)
        try node.checkAttributes([])
        let x = try quantizedInput(node, 0, scale: 1, zero: 2)
        let weight = try quantizedConstant(node, 3, scale: 4, zero: 5)
        let output = try activationQuantization(node, 6, 7)
        let index = try write(node, output, nil, try LayerWriters.linear(node, x, weight, nil, transposed: false))
        setQuantized(node, index, output)
    }

    private mutating func qGemm(_ node: ONNXNode) throws(ONNXImportError) {
        try node.checkArity(6...9)
        guard node.input(7) != nil else { throw .node(node, "has no y_scale: a float output is not supported") }
        let x = try quantizedInput(node, 0, scale: 1, zero: 2)
        let weight = try quantizedConstant(node, 3, scale: 4, zero: 5)
        let output = try activationQuantization(node, 7, 8)
        let bias = try node.input(6).map { _ throws(ONNXImportError) in try impliedBias(node, 6, x, weight) }
        let transposed = try LayerWriters.gemmTransposesB(node)
        let index = try write(node, output, nil, try LayerWriters.linear(node, x, weight, bias, transposed: transposed))
        setQuantized(node, index, output)
    }

    /// A QOperator int32 bias: its scale is the input's times the weights', its zero point 0.
    private func impliedBias(_ node: ONNXNode, _ index: Int, _ x: QuantizedTensor, _ weight: QuantizedConstant) throws(ONNXImportError) -> QuantizedConstant {
        QuantizedConstant(constant: try constant(node, index), scales: weight.scales.map { x.quantization.scale * $0 }, zeroPoints: [0])
    }

    private mutating func qLinearAdd(_ node: ONNXNode) throws(ONNXImportError) {
        try node.checkArity(8...8)
        try node.checkAttributes([])
        let a = try addOperand(node, 0), b = try addOperand(node, 3)
        let output = try activationQuantization(node, 6, 7)
        let index = try write(node, output, nil, try LayerWriters.add(node, a, b))
        setQuantized(node, index, output)
    }

    /// An operand of QLinearAdd: a quantized activation or a quantized constant, with its scale and zero point.
    private func addOperand(_ node: ONNXNode, _ index: Int) throws(ONNXImportError) -> AddOperand {
        if case .constant = try value(node.inputs[index], node) {
            return .constant(try quantizedConstant(node, index, scale: index + 1, zero: index + 2))
        }
        return .tensor(try quantizedInput(node, index, scale: index + 1, zero: index + 2))
    }

    private mutating func qLinearPool(_ node: ONNXNode) throws(ONNXImportError) {
        try node.checkArity(4...5)
        let x = try quantizedInput(node, 0, scale: 1, zero: 2)
        let output = try activationQuantization(node, 3, 4)
        let index = try write(node, output, nil, try LayerWriters.averagePool(node, x, global: node.opType == "QLinearGlobalAveragePool"))
        setQuantized(node, index, output)
    }

    private mutating func qLinearConcat(_ node: ONNXNode) throws(ONNXImportError) {
        guard node.inputs.count >= 5, (node.inputs.count - 2) % 3 == 0 else {
            throw .node(node, "has \(node.inputs.count) inputs; QLinearConcat takes Y_scale, Y_zero_point and (X, scale, zero point) triples")
        }
        let output = try activationQuantization(node, 0, 1)
        var tensors: [QuantizedTensor] = []
        for start in stride(from: 2, to: node.inputs.count, by: 3) {
            tensors.append(try quantizedInput(node, start, scale: start + 1, zero: start + 2))
        }
        let index = try write(node, output, nil, try movementWriter(node, tensors))
        setQuantized(node, index, output)
    }

    // MARK: Integer products: MatMulInteger/ConvInteger -> Cast -> Mul(scale) -> QuantizeLinear

    private mutating func integerProduct(_ node: ONNXNode) throws(ONNXImportError) {
        try node.checkArity(2...4)
        guard case let .quantized(x) = try value(node.inputs[0], node) else {
            throw .node(node, "input '\(node.inputs[0])' must be a statically quantized activation (dynamic quantization is not supported)")
        }
        if node.input(2) != nil, try constant(node, 2).integers(node) != [Int64(x.quantization.zeroPoint)] {
            throw .node(node, "its input zero point is not the one '\(node.inputs[0])' was quantized with")
        }
        let weightZeroPoints = try node.input(3) == nil ? [0] : constant(node, 3).integers(node)
        set(node, .integerProduct(IntegerProduct(node: node, x: x, weight: try constant(node, 1), weightZeroPoints: weightZeroPoints)))
    }

    private mutating func cast(_ node: ONNXNode) throws(ONNXImportError) {
        try node.checkArity(1...1)
        try node.checkAttributes(["to", "saturate"])
        guard case .integerProduct = try value(node.inputs[0], node), try node.int("to", default: 0) == 1 else {
            throw .node(node, "only a Cast to float of a MatMulInteger or ConvInteger output is supported")
        }
        set(node, try value(node.inputs[0], node))
    }

    /// The float product times its scale (x_scale x w_scale, one or one per output channel): a linear or conv
    /// layer waiting for its QuantizeLinear, with weight scales `scale / x_scale`.
    private mutating func scaleProduct(_ node: ONNXNode) throws(ONNXImportError) {
        try node.checkArity(2...2)
        try node.checkAttributes([])
        let operands = try node.inputs.map { name throws(ONNXImportError) in try value(name, node) }
        guard let product = operands.compactMap({ if case let .integerProduct(p) = $0 { p } else { nil } }).first,
              let scaleName = node.inputs.first(where: { if case .constant = values[$0] { true } else { false } }) else {
            throw .node(node, "only a Mul of a MatMulInteger or ConvInteger product by its constant scale is supported")
        }
        let scales = try constant(node, node.inputs.firstIndex(of: scaleName)!).floats(node)
        let weight = QuantizedConstant(
            constant: product.weight, scales: scales.map { $0 / product.x.quantization.scale }, zeroPoints: product.weightZeroPoints)
        let writer = product.node.opType == "ConvInteger"
            ? try LayerWriters.conv(product.node, product.x, weight, nil)
            : try LayerWriters.linear(product.node, product.x, weight, nil, transposed: false)
        set(node, .pending(PendingLayer(node: node, keeps: nil, write: writer)))
    }

    // MARK: QDQ layers and data movement

    /// Conv, MatMul, Gemm, Add and the average pools on dequantized inputs: pending until their QuantizeLinear.
    private mutating func floatLayer(_ node: ONNXNode) throws(ONNXImportError) {
        let writer: LayerWriter
        switch node.opType {
        case "Conv":
            try node.checkArity(2...3)
            writer = try LayerWriters.conv(node, try dequantized(node, 0), try weights(node), try dequantizedConstant(node, 2))
        case "MatMul":
            try node.checkArity(2...2)
            try node.checkAttributes([])
            writer = try LayerWriters.linear(node, try dequantized(node, 0), try weights(node), nil, transposed: false)
        case "Gemm":
            try node.checkArity(2...3)
            let transposed = try LayerWriters.gemmTransposesB(node)
            writer = try LayerWriters.linear(node, try dequantized(node, 0), try weights(node), try dequantizedConstant(node, 2), transposed: transposed)
        case "Add":
            try node.checkArity(2...2)
            try node.checkAttributes([])
            writer = try LayerWriters.add(node, try dequantizedOperand(node, 0), try dequantizedOperand(node, 1))
        default:
            try node.checkArity(1...1)
            writer = try LayerWriters.averagePool(node, try dequantized(node, 0), global: node.opType == "GlobalAveragePool")
        }
        set(node, .pending(PendingLayer(node: node, keeps: nil, write: writer)))
    }

    private func weights(_ node: ONNXNode) throws(ONNXImportError) -> QuantizedConstant {
        guard let weights = try dequantizedConstant(node, 1) else { throw .node(node, "input 1 (the weights) is missing") }
        return weights
    }

    private func dequantizedOperand(_ node: ONNXNode, _ index: Int) throws(ONNXImportError) -> AddOperand {
        if case .dequantizedConstant = try value(node.inputs[index], node) {
            return .constant(try dequantizedConstant(node, index)!)
        }
        return .tensor(try dequantized(node, index))
    }

    /// MaxPool, Reshape, Flatten, Transpose, Concat: written at once on quantized inputs (QOperator), pending on
    /// dequantized ones (QDQ), deferred past the QuantizeLinear on the float input.
    private mutating func movement(_ node: ONNXNode) throws(ONNXImportError) {
        let data = node.opType == "Reshape" ? [node.inputs.first ?? ""] : node.inputs
        let values = try data.map { name throws(ONNXImportError) in try value(name, node) }
        if case let .floatInput(movements)? = values.first, values.count == 1, node.opType != "MaxPool" {
            _ = try LayerWriters.movementShape(node, self)  // checked now, written after the input's QuantizeLinear
            set(node, .floatInput(movements: movements + [node]))
            return
        }
        var tensors: [QuantizedTensor] = []
        var quantized = true
        for (name, value) in zip(data, values) {
            switch value {
            case let .quantized(tensor): tensors.append(tensor)
            case let .dequantized(tensor):
                tensors.append(tensor)
                quantized = false
            default: _ = try dequantized(node, data.firstIndex(of: name) ?? 0)
            }
        }
        // Concat requantizes inputs on another scale (as QLinearConcat does); the others move data only.
        let concat = node.opType == "Concat"
        guard let first = tensors.first, concat || tensors.allSatisfy({ $0.quantization == first.quantization }) else {
            throw .node(node, "its inputs have different scales or zero points; qnn/1 moves data without requantizing")
        }
        let writer = try movementWriter(node, tensors)
        if quantized {
            let index = try write(node, first.quantization, nil, writer)
            setQuantized(node, index, first.quantization)
        } else {
            set(node, .pending(PendingLayer(node: node, keeps: concat ? nil : first.quantization, write: writer)))
        }
    }

    func movementWriter(_ node: ONNXNode, _ tensors: [QuantizedTensor]) throws(ONNXImportError) -> LayerWriter {
        if node.opType == "MaxPool" { return try LayerWriters.maxPool(node, tensors[0]) }
        return try LayerWriters.movement(node, tensors, shape: try LayerWriters.movementShape(node, self))
    }

    /// Relu and Clip: folded into the pending layer before them, or a clamp of a quantized tensor.
    private mutating func clamp(_ node: ONNXNode) throws(ONNXImportError) {
        let (lower, upper) = try clampBounds(node)
        switch try value(node.inputs[0], node) {
        case var .pending(layer):
            (layer.lower, layer.upper) = (max(layer.lower, lower), min(layer.upper, upper))
            set(node, .pending(layer))
        case let .quantized(tensor):
            let range = try quantizedRange(node, lower, upper, tensor.quantization)
            let index: Int
            if tensor.index > 0, tensor.index == graph?.nodes.count, readers[node.inputs[0]] == 1 {
                try graph!.narrowClamp(of: tensor.index, to: range, from: node)
                index = tensor.index
            } else {
                index = try write(node, tensor.quantization, range, LayerWriters.identity(node, tensor))
            }
            setQuantized(node, index, tensor.quantization)
        case let .dequantized(tensor):
            var layer = PendingLayer(node: node, keeps: tensor.quantization, write: LayerWriters.identity(node, tensor))
            (layer.lower, layer.upper) = (lower, upper)
            set(node, .pending(layer))
        default: _ = try dequantized(node, 0)
        }
    }

    private func clampBounds(_ node: ONNXNode) throws(ONNXImportError) -> (Float, Float) {
        guard node.opType == "Clip" else {
            try node.checkArity(1...1)
            try node.checkAttributes([])
            return (0, .infinity)
        }
        try node.checkArity(1...3)
        try node.checkAttributes(["min", "max"])
        func bound(_ index: Int, _ attribute: String, _ absent: Float) throws(ONNXImportError) -> Float {
            if node.input(index) != nil {
                let values = try constant(node, index).floats(node)
                guard values.count == 1 else { throw .node(node, "its bound must be a float scalar") }
                return values[0]
            }
            return try node.float(attribute, default: absent)
        }
        return (try bound(1, "min", -.infinity), try bound(2, "max", .infinity))
    }

    /// A float clamp on the quantized scale: `zero point + round(bound / scale)` (half to even, as QuantizeLinear),
    /// within the dtype's range.
    func quantizedRange(_ node: ONNXNode, _ lower: Float, _ upper: Float, _ q: Quantization) throws(ONNXImportError) -> ClosedRange<Int32> {
        let full = (graph?.dtypeRange ?? 0...255)
        func level(_ bound: Float) -> Int32 {
            guard bound.isFinite else { return bound < 0 ? full.lowerBound : full.upperBound }
            let steps = Double(q.zeroPoint) + (Double(bound) / Double(q.scale)).rounded(.toNearestOrEven)
            return Int32(min(Double(full.upperBound), max(Double(full.lowerBound), steps)))
        }
        let (lo, hi) = (level(lower), level(upper))
        guard lo <= hi else { throw .node(node, "clamps to an empty range [\(lower), \(upper)]") }
        return lo...hi
    }

    /// The clamp of a pending layer on its output's scale, or nil when it clamps nothing.
    func clampRange(_ layer: PendingLayer, _ output: Quantization) throws(ONNXImportError) -> ClosedRange<Int32>? {
        guard layer.lower > -.infinity || layer.upper < .infinity else { return nil }
        return try quantizedRange(layer.node, layer.lower, layer.upper, output)
    }
}
