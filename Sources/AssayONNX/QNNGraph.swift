import AssayKernels

/// The qnn/1 model being written, node by node. After every node the qnn/1 core itself validates the model so
/// far (`QNN.layerSpecs` on one input of the batch), so a refusal names the ONNX node that caused it and every
/// tensor's shape is the core's own.
struct QNNGraph {
    let activation: DType
    /// The job input of one item of the batch (the ONNX input's shape with its symbolic batch dimension 1).
    let input: TensorSpec
    private(set) var nodes: [Node] = []
    /// Tensor 0 is the input, tensor i + 1 node i's output.
    private(set) var shapes: [[Int]]
    private let inputZeroPoint: Int32

    struct Node {
        let op: QNNOp
        let inputs: [Int]
        var fields: [(String, Tensor)]
        var clamp: ClosedRange<Int32>?
        /// The ONNX nodes it came from, for `inspect`.
        var sources: [String]
    }

    init(activation: DType, input: TensorSpec, inputZeroPoint: Int32) {
        self.activation = activation
        self.input = input
        self.inputZeroPoint = inputZeroPoint
        shapes = [input.shape.map { Int($0) }]
    }

    var dtypeRange: ClosedRange<Int32> { activation == .int8 ? -128...127 : 0...255 }

    /// Appends a node, validates the model so far and returns its output's tensor index.
    mutating func append(
        _ op: QNNOp, inputs: [Int], _ fields: [(String, Tensor)], clamp: ClosedRange<Int32>?, from node: ONNXNode
    ) throws(ONNXImportError) -> Int {
        nodes.append(Node(op: op, inputs: inputs, fields: fields, clamp: clamp, sources: [node.label]))
        try validate(node)
        return shapes.count - 1
    }

    /// Narrows the clamp of the node producing `tensor` (a Relu or Clip folded into it).
    mutating func narrowClamp(of tensor: Int, to range: ClosedRange<Int32>, from node: ONNXNode) throws(ONNXImportError) {
        let index = tensor - 1
        let current = nodes[index].clamp ?? dtypeRange
        let lower = max(current.lowerBound, range.lowerBound), upper = min(current.upperBound, range.upperBound)
        guard lower <= upper else { throw .node(node, "clamps to an empty range [\(lower), \(upper)]") }
        nodes[index].clamp = lower...upper
        nodes[index].sources.append(node.label)
        try validate(node)
    }

    /// The model: `input_zero_point`, then every node's arrays.
    func model() throws(KernelError) -> Model {
        var arrays: [(String, Tensor)] = [("input_zero_point", try activationTensor([inputZeroPoint], shape: []))]
        for (index, node) in nodes.enumerated() {
            let name = { (field: String) in QNNOp.arrayName(node: index, field) }
            arrays.append((name("op"), try Tensor(uint8: [node.op.rawValue], shape: [])))
            arrays.append((name("inputs"), try Tensor(int32: node.inputs.map { Int32($0) }, shape: [UInt64(node.inputs.count)])))
            if let clamp = node.clamp {
                arrays.append((name("clamp"), try activationTensor([clamp.lowerBound, clamp.upperBound], shape: [2])))
            }
            arrays += node.fields.map { (name($0.0), $0.1) }
        }
        return try Model(arrays: arrays)
    }

    /// A tensor of the activation dtype (values already in its range).
    func activationTensor(_ values: [Int32], shape: [UInt64]) throws(KernelError) -> Tensor {
        try Tensor(dtype: activation, shape: shape, data: values.map { UInt8(truncatingIfNeeded: $0) })
    }

    private mutating func validate(_ node: ONNXNode) throws(ONNXImportError) {
        do {
            let specs = try QNN.layerSpecs(model: try model(), input: input, limits: .default)
            shapes = [shapes[0]] + specs.map { $0.shape.map { Int($0) } }
        } catch { throw .node(node, "qnn/1 refuses the layer: \(error)") }
    }
}
