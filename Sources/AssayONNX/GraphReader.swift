import AssayKernels

/// What an ONNX value name stands for while the graph is read, in node order.
enum ONNXValue {
    /// The graph's float input, with the data-movement nodes applied to it before its QuantizeLinear (they commute
    /// with per-tensor quantization, so they are written after it).
    case floatInput(movements: [ONNXNode])
    case constant(ONNXConstant)
    /// A quantized activation: a qnn/1 tensor.
    case quantized(QuantizedTensor)
    /// DequantizeLinear of a quantized activation: the float view a QDQ op reads.
    case dequantized(QuantizedTensor)
    /// DequantizeLinear of quantized weights or a bias.
    case dequantizedConstant(QuantizedConstant)
    /// A float op on dequantized values, waiting for the QuantizeLinear that gives its output scale.
    case pending(PendingLayer)
    /// MatMulInteger or ConvInteger of a quantized activation and quantized weights (then Cast to float): the
    /// int32 product, whose scale the Mul after it states.
    case integerProduct(IntegerProduct)
}

struct IntegerProduct {
    let node: ONNXNode
    let x: QuantizedTensor
    let weight: ONNXConstant
    let weightZeroPoints: [Int64]
}

struct QuantizedTensor {
    let index: Int
    let quantization: Quantization
}

/// An int8/uint8/int32 constant with its scales (one, or one per output channel) and zero points.
struct QuantizedConstant {
    let constant: ONNXConstant
    let scales: [Float]
    let zeroPoints: [Int64]
}

/// Writes a layer once its output quantization is known, with the clamp (in quantized units) of any Relu or Clip
/// folded into it; returns the output tensor's index.
typealias LayerWriter = (inout QNNGraph, Quantization, ClosedRange<Int32>?) throws(ONNXImportError) -> Int

struct PendingLayer {
    let node: ONNXNode
    /// Set for layers that move data without requantizing: their QuantizeLinear must keep this quantization.
    let keeps: Quantization?
    let write: LayerWriter
    /// A Relu or Clip after the op, in float.
    var lower: Float = -.infinity
    var upper: Float = .infinity
}

/// Reads an ONNX graph node by node (ONNX requires topological order) into a `QNNGraph`.
struct GraphReader {
    let proto: Onnx_GraphProto
    var values: [String: ONNXValue] = [:]
    var graph: QNNGraph?
    let inputName: String
    let inputShape: [String]
    let inputSpecShape: [UInt64]
    var inputQuantization: Quantization?
    /// How many nodes (and graph outputs) read each value: a clamp folds into a layer only if nothing else reads it.
    let readers: [String: Int]

    init(_ proto: Onnx_GraphProto) throws(ONNXImportError) {
        self.proto = proto
        guard !proto.node.isEmpty else { throw ONNXImportError("the model has no graph nodes") }
        var values: [String: ONNXValue] = [:]
        for initializer in proto.initializer { values[initializer.name] = .constant(try ONNXConstant(initializer)) }
        let inputs = proto.input.filter { values[$0.name] == nil }
        guard inputs.count == 1, proto.output.count == 1 else {
            throw ONNXImportError("the graph has \(inputs.count) inputs and \(proto.output.count) outputs; qnn/1 takes one of each")
        }
        let input = inputs[0]
        guard input.type.tensorType.elemType == 1 else {
            throw ONNXImportError("input '\(input.name)' must be float, quantized by a QuantizeLinear (its element type is \(input.type.tensorType.elemType))")
        }
        (inputName, inputShape, inputSpecShape) = try GraphReader.inputShape(input)
        values[inputName] = .floatInput(movements: [])
        self.values = values
        var readers: [String: Int] = [:]
        for node in proto.node { for name in node.input where !name.isEmpty { readers[name, default: 0] += 1 } }
        for output in proto.output { readers[output.name, default: 0] += 1 }
        self.readers = readers
    }

    /// The input's dimensions as text and as one item of the batch: only the first may be symbolic (it becomes 1).
    private static func inputShape(_ input: Onnx_ValueInfoProto) throws(ONNXImportError) -> (String, [String], [UInt64]) {
        let dims = input.type.tensorType.shape.dim
        guard (1...Tensor.maxRank).contains(dims.count) else {
            throw ONNXImportError("input '\(input.name)' has rank \(dims.count); qnn/1 takes 1 to \(Tensor.maxRank)")
        }
        var text: [String] = [], spec: [UInt64] = []
        for (axis, dim) in dims.enumerated() {
            if case let .dimValue(value)? = dim.value, value > 0 {
                text.append(String(value))
                spec.append(UInt64(value))
            } else if axis == 0 {
                text.append(dim.dimParam.isEmpty ? "N" : dim.dimParam)
                spec.append(1)
            } else {
                throw ONNXImportError("input '\(input.name)' dimension \(axis) is not a fixed size; only the batch (first) may be symbolic")
            }
        }
        return (input.name, text, spec)
    }

    mutating func read() throws(ONNXImportError) -> ImportedModel {
        for (position, proto) in self.proto.node.enumerated() {
            let node = ONNXNode(proto, position: position)
            try readNode(node)
        }
        return try finish()
    }

    private func finish() throws(ONNXImportError) -> ImportedModel {
        let output = proto.output[0]
        guard let graph, let inputQuantization else {
            throw ONNXImportError("the model is not quantized: no QuantizeLinear reads the input '\(inputName)' (quantize it with onnxruntime.quantization.quantize_static)")
        }
        let tensor: QuantizedTensor
        switch values[output.name] {
        case let .dequantized(q)?, let .quantized(q)?: tensor = q
        default: throw ONNXImportError("output '\(output.name)' is not a quantized layer's output (or its DequantizeLinear)")
        }
        guard tensor.index > 0, tensor.index == graph.nodes.count else {
            throw ONNXImportError("output '\(output.name)' must be the last layer's output (qnn/1's output is its last node's)")
        }
        let model: Model
        do { model = try graph.model() } catch { throw ONNXImportError("qnn/1 refuses the model: \(error)") }
        let outputShape = output.type.tensorType.shape.dim.enumerated().map { axis, dim in
            if case let .dimValue(value)? = dim.value { return String(value) }
            return dim.dimParam.isEmpty ? (axis == 0 ? inputShape[0] : "?") : dim.dimParam
        }
        return ImportedModel(
            model: model,
            input: ImportedEndpoint(name: inputName, dtype: graph.activation, shape: inputShape, quantization: inputQuantization),
            output: ImportedEndpoint(name: output.name, dtype: graph.activation, shape: outputShape, quantization: tensor.quantization),
            inputSpec: graph.input, sources: graph.nodes.map(\.sources))
    }

    // MARK: Values

    func value(_ name: String, _ node: ONNXNode) throws(ONNXImportError) -> ONNXValue {
        guard let value = values[name] else {
            throw .node(node, "reads '\(name)', which no earlier node produces (nodes must be in topological order)")
        }
        return value
    }

    func constant(_ node: ONNXNode, _ index: Int) throws(ONNXImportError) -> ONNXConstant {
        guard let name = node.input(index) else { throw .node(node, "input \(index) is missing") }
        guard case let .constant(constant) = try value(name, node) else {
            throw .node(node, "input '\(name)' must be a constant (an initializer)")
        }
        return constant
    }

    /// A scale (input `scaleIndex`) and zero point (input `zeroIndex`, 0 when absent), per tensor or per channel.
    func scalesAndZeroPoints(_ node: ONNXNode, _ scaleIndex: Int, _ zeroIndex: Int) throws(ONNXImportError) -> ([Float], [Int64], DType?) {
        let scales = try constant(node, scaleIndex).floats(node)
        guard !scales.isEmpty, scales.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw .node(node, "scale \(scales) must be positive and finite")
        }
        guard node.input(zeroIndex) != nil else { return (scales, [0], nil) }
        let zero = try constant(node, zeroIndex)
        let zeroPoints = try zero.integers(node)
        guard zeroPoints.count == 1 || zeroPoints.count == scales.count else {
            throw .node(node, "has \(scales.count) scales but \(zeroPoints.count) zero points")
        }
        return (scales, zeroPoints, zero.quantizedDType)
    }

    /// A per-tensor activation quantization (inputs `scaleIndex`, `zeroIndex`) of the graph's activation dtype.
    func activationQuantization(_ node: ONNXNode, _ scaleIndex: Int, _ zeroIndex: Int) throws(ONNXImportError) -> Quantization {
        let (scales, zeroPoints, dtype) = try scalesAndZeroPoints(node, scaleIndex, zeroIndex)
        guard scales.count == 1, zeroPoints.count == 1 else { throw .node(node, "activations need one scale and zero point") }
        if let graph, let dtype, dtype != graph.activation {
            throw .node(node, "zero point is \(dtype); the model's activations are \(graph.activation)")
        }
        return Quantization(scale: scales[0], zeroPoint: Int32(zeroPoints[0]))
    }

    /// A quantized activation input of a QOperator node, whose stated scale and zero point must be its own.
    func quantizedInput(_ node: ONNXNode, _ index: Int, scale: Int, zero: Int) throws(ONNXImportError) -> QuantizedTensor {
        guard let name = node.input(index) else { throw .node(node, "input \(index) is missing") }
        guard case let .quantized(tensor) = try value(name, node) else {
            throw .node(node, "input '\(name)' must be a quantized activation")
        }
        let stated = try activationQuantization(node, scale, zero)
        guard stated == tensor.quantization else {
            throw .node(node, "reads '\(name)' with \(stated), but it was quantized with \(tensor.quantization)")
        }
        return tensor
    }

    /// Quantized weights or a bias given as (value, scale, zero point) inputs of a QOperator node.
    func quantizedConstant(_ node: ONNXNode, _ index: Int, scale: Int, zero: Int) throws(ONNXImportError) -> QuantizedConstant {
        let (scales, zeroPoints, _) = try scalesAndZeroPoints(node, scale, zero)
        return QuantizedConstant(constant: try constant(node, index), scales: scales, zeroPoints: zeroPoints)
    }

    /// The float view of a QDQ op's input: a dequantized activation.
    func dequantized(_ node: ONNXNode, _ index: Int) throws(ONNXImportError) -> QuantizedTensor {
        guard let name = node.input(index) else { throw .node(node, "input \(index) is missing") }
        switch try value(name, node) {
        case let .dequantized(tensor): return tensor
        case .floatInput, .pending:
            throw .node(node, "reads the float tensor '\(name)', which no QuantizeLinear/DequantizeLinear pair quantizes: the model is not quantized (quantize it with onnxruntime.quantization.quantize_static)")
        default: throw .node(node, "input '\(name)' must be a dequantized activation (DequantizeLinear of a quantized tensor)")
        }
    }

    /// A QDQ op's weight or bias: DequantizeLinear of a quantized constant.
    func dequantizedConstant(_ node: ONNXNode, _ index: Int) throws(ONNXImportError) -> QuantizedConstant? {
        guard let name = node.input(index) else { return nil }
        switch try value(name, node) {
        case let .dequantizedConstant(constant): return constant
        case .constant: throw .node(node, "input '\(name)' is a float constant: the model's weights are not quantized (quantize it with onnxruntime.quantization.quantize_static)")
        default: throw .node(node, "input '\(name)' must be DequantizeLinear of a quantized initializer")
        }
    }

    mutating func set(_ node: ONNXNode, _ value: ONNXValue) { values[node.outputs[0]] = value }

    mutating func setQuantized(_ node: ONNXNode, _ index: Int, _ quantization: Quantization) {
        set(node, .quantized(QuantizedTensor(index: index, quantization: quantization)))
    }

    /// Runs a layer writer on the graph, which exists once the input is quantized.
    mutating func write(_ node: ONNXNode, _ output: Quantization, _ clamp: ClosedRange<Int32>?, _ writer: LayerWriter) throws(ONNXImportError) -> Int {
        guard var graph else { throw .node(node, "comes before the input's QuantizeLinear") }
        defer { self.graph = graph }
        return try writer(&graph, output, clamp)
    }
}
