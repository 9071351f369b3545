import AssayKernels

/// One qnn/1 node as `assay model inspect` lists it.
public struct QNNLayerSummary: Sendable, Equatable {
    public let kind: String
    /// Tensor indices it reads (0 is the input, i + 1 is node i's output).
    public let inputs: [Int]
    public let shape: [UInt64]
    /// Elements of its weights, bias and added constant.
    public let parameters: Int
    public let workUnits: UInt64
}

/// Layers, shapes, parameters and work units of a qnn/1 model for one input, from shapes alone: the qnn/1 core
/// validates and meters the model, and each layer's work is what it adds to the cost of the nodes before it.
public enum QNNSummary {
    public static func layers(model: Model, input: TensorSpec, limits: KernelLimits = .default) throws(KernelError) -> [QNNLayerSummary] {
        let specs = try QNN.layerSpecs(model: model, input: input, limits: limits)
        var layers: [QNNLayerSummary] = []
        var costBefore: UInt64 = 0
        for (index, spec) in specs.enumerated() {
            let cost = try QNN.cost(model: try prefix(model, through: index), input: input, limits: limits)
            let field = { (name: String) in model[QNNOp.arrayName(node: index, name)] }
            let code = field("op")?.data.first ?? 0
            let parameters = ["weight", "bias", "b_constant"].compactMap { field($0)?.shape.reduce(1, *) }.reduce(0, +)
            layers.append(QNNLayerSummary(
                kind: QNNOp(rawValue: code).map(kindName) ?? "?", inputs: field("inputs")?.int32Values.map { Int($0) } ?? [],
                shape: spec.shape, parameters: Int(parameters), workUnits: cost - costBefore))
            costBefore = cost
        }
        return layers
    }

    /// The model of nodes 0...last (and the input's zero point): costs add up node by node.
    private static func prefix(_ model: Model, through last: Int) throws(KernelError) -> Model {
        try Model(model.tensors.filter { array in
            guard array.name.hasPrefix("node"), let dot = array.name.firstIndex(of: ".") else { return true }
            return Int(array.name[array.name.index(array.name.startIndex, offsetBy: 4)..<dot]).map { $0 <= last } ?? true
        })
    }

    public static func kindName(_ op: QNNOp) -> String {
        switch op {
        case .linear: "linear"
        case .conv: "conv"
        case .add: "add"
        case .maxPool: "max pool"
        case .averagePool: "average pool"
        case .globalAveragePool: "global average pool"
        case .reshape: "reshape"
        case .flatten: "flatten"
        case .transpose: "transpose"
        case .concat: "concat"
        }
    }
}
