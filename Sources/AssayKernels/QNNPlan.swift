/// `qnn/1`: a quantized network, a DAG of layers over tensors of one activation dtype (the input's: int8 or uint8).
/// Tensor 0 is the job input, tensor i + 1 is node i's output; a node names its inputs by tensor index, and only
/// earlier tensors exist when it is read, so the graph has no cycles by construction. The output is the last node's.
/// The model is named arrays (`input_zero_point`, `node<i>.<field>`); docs/kernels.md, "qnn/1", is the
/// specification of every field, shape rule, rounding and work unit.
struct QNNPlan: Sendable {
    let activation: DType
    let inputShape: [Int]
    let inputZeroPoint: Int32
    let nodes: [QNNNode]
    /// Tensor 0 (the input) and every node's output, by tensor index.
    let tensors: [QNNTensor]
    let workUnits: UInt64

    init(model: Model, input: TensorSpec, limits: KernelLimits) throws(KernelError) {
        let checks = ArrayChecks(model: model, limits: limits)
        try ArrayChecks.check(input, named: ArrayChecks.inputName, dtypes: [.int8, .uint8])
        activation = input.dtype
        inputShape = try QNNShape.checked(input.shape, named: ArrayChecks.inputName, checks)
        inputZeroPoint = try checks.scalar("input_zero_point", dtypes: [activation], default: 0)
        var tensors = [QNNTensor(shape: inputShape, zeroPoint: inputZeroPoint)]
        var nodes: [QNNNode] = []
        var work: UInt64 = 0
        while model[QNNNode.name(nodes.count, "op")] != nil {
            guard nodes.count < limits.maxLayers else {
                throw .limitExceeded(what: "layers", value: UInt64(nodes.count + 1), limit: UInt64(limits.maxLayers))
            }
            let node = try QNNNode(index: nodes.count, tensors: tensors, activation: activation, checks: checks)
            let (total, overflow) = work.addingReportingOverflow(node.workUnits)
            guard !overflow else { throw .limitExceeded(what: "work units", value: UInt64.max, limit: limits.maxWorkUnits) }
            try checks.checkWork(total)
            work = total
            tensors.append(QNNTensor(shape: node.outputShape, zeroPoint: node.output.zeroPoint))
            nodes.append(node)
        }
        guard !nodes.isEmpty else { throw .missingArray(QNNNode.name(0, "op")) }
        var allowed: Set<String> = ["input_zero_point"]
        for node in nodes { allowed.formUnion(node.op.fields.map { QNNNode.name(node.index, $0) }) }
        try checks.rejectUnknownArrays { allowed.contains($0) }
        self.nodes = nodes
        self.tensors = tensors
        workUnits = work
    }

    /// The dtype and shape of every layer's output (the last is the kernel's output).
    var layerSpecs: [TensorSpec] {
        nodes.map { TensorSpec(dtype: activation, shape: $0.outputShape.map { UInt64($0) }) }
    }
}

/// What a node knows of one of its input tensors while the graph is validated.
struct QNNTensor: Sendable {
    let shape: [Int]
    let zeroPoint: Int32
}

/// The layer kinds; the raw value is the `node<i>.op` code. Public so that importers (AssayONNX) write models
/// with the core's own codes and array names.
public enum QNNOp: UInt8, Sendable, CaseIterable {
    case linear = 0
    case conv = 1
    case add = 2
    case maxPool = 3
    case averagePool = 4
    case globalAveragePool = 5
    case reshape = 6
    case flatten = 7
    case transpose = 8
    case concat = 9

    /// The model array holding `field` of node `index`: `node<index>.<field>`.
    public static func arrayName(node index: Int, _ field: String) -> String { QNNNode.name(index, field) }

    /// Every array a node of this kind may have, without the `node<i>.` prefix.
    public var fields: [String] {
        let common = ["op", "inputs", "clamp"]
        let requantized = ["output_zero_point", "multiplier", "shift"]
        let weighted = requantized + ["weight", "bias", "w_zero_point"]
        switch self {
        case .linear: return common + weighted
        case .conv: return common + weighted + ["pads", "strides", "dilations", "group"]
        case .add: return common + requantized + ["a_multiplier", "a_shift", "b_multiplier", "b_shift", "b_constant", "b_zero_point"]
        case .maxPool: return common + ["kernel", "pads", "strides", "dilations"]
        case .averagePool: return common + requantized + ["kernel", "pads", "strides", "dilations"]
        case .globalAveragePool: return common + requantized
        case .reshape: return common + ["shape"]
        case .flatten, .concat: return common + ["axis"]
        case .transpose: return common + ["perm"]
        }
    }
}

/// A node's output zero point and the clamp applied to every output element (relu and clip are clamps).
struct QNNOutputRange: Sendable {
    let zeroPoint: Int32
    let lower: Int32
    let upper: Int32

    /// Clamps `zeroPoint + value` (a requantized value, computed in 64 bits so it cannot overflow).
    func requantized(_ value: Int32) -> Int32 {
        Int32(min(Int64(upper), max(Int64(lower), Int64(zeroPoint) + Int64(value))))
    }

    /// Clamps an element that is already on the output scale (pooling, data movement).
    func clamped(_ value: Int32) -> Int32 { min(upper, max(lower, value)) }
}

/// Per-tensor or per-channel fixed-point scales: `multiplier` (Q31) and `shift` (a right shift, 0...31), each a
/// scalar or one per output channel.
struct QNNScale: Sendable {
    let multipliers: [Int32]
    let shifts: [Int32]

    init(_ arrays: QNNArrays, multiplier: String = "multiplier", shift: String = "shift", channels: Int) throws(KernelError) {
        multipliers = try arrays.perChannel(multiplier, channels: channels)
        shifts = try arrays.perChannel(shift, channels: channels)
        guard let bad = shifts.first(where: { !(0...31).contains($0) }) else { return }
        throw .invalidAttribute("'\(arrays.name(shift))' holds \(bad), must be in 0...31")
    }

    /// RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(value, multiplier), shift) of the channel.
    func apply(_ value: Int32, channel: Int) -> Int32 {
        let (multiplier, shift) = parameters(channel: channel)
        return Self.apply(value, multiplier: multiplier, shift: shift)
    }

    /// The channel's multiplier and shift, for loops that scale many values of one channel.
    func parameters(channel: Int) -> (multiplier: Int32, shift: Int32) {
        (multipliers[multipliers.count == 1 ? 0 : channel], shifts[shifts.count == 1 ? 0 : channel])
    }

    static func apply(_ value: Int32, multiplier: Int32, shift: Int32) -> Int32 {
        FixedPoint.roundingDivideByPOT(FixedPoint.saturatingRoundingDoublingHighMul(value, multiplier), shift)
    }
}

/// The arrays of one node: `node<i>.<field>`, read and checked through the kernel's `ArrayChecks`.
struct QNNArrays {
    let checks: ArrayChecks
    let prefix: String
    let activation: DType

    func name(_ field: String) -> String { prefix + field }

    func has(_ field: String) -> Bool { checks.model[name(field)] != nil }

    func required(_ field: String) throws(KernelError) -> Tensor { try checks.required(name(field)) }

    func scalar(_ field: String, dtype: DType, default value: Int32? = nil) throws(KernelError) -> Int32 {
        if value == nil { _ = try required(field) }
        return try checks.scalar(name(field), dtypes: [dtype], default: value ?? 0)
    }

    /// An int32 vector of any length up to `maxCount` (shape [count]).
    func int32List(_ field: String, maxCount: Int) throws(KernelError) -> [Int32] {
        let tensor = try required(field)
        try ArrayChecks.check(tensor, named: name(field), dtypes: [.int32])
        guard tensor.shape.count == 1, (1...UInt64(maxCount)).contains(tensor.shape[0]) else {
            throw .shapeMismatch("'\(name(field))' must have shape [n] with 1 <= n <= \(maxCount), has shape \(tensor.shape)")
        }
        return tensor.int32Values
    }

    /// A required int32 scalar or vector of `channels` entries, as a list of one or `channels`.
    func perChannel(_ field: String, channels: Int) throws(KernelError) -> [Int32] {
        let tensor = try required(field)
        try ArrayChecks.check(tensor, named: name(field), dtypes: [.int32])
        guard tensor.shape == [] || tensor.shape == [1] || tensor.shape == [UInt64(channels)] else {
            throw .shapeMismatch("'\(name(field))' must be a scalar or have shape [\(channels)], has shape \(tensor.shape)")
        }
        return tensor.int32Values
    }

    /// The node's clamp `[lower, upper]` (activation dtype), or the dtype's whole range.
    func outputRange(zeroPoint: Int32) throws(KernelError) -> QNNOutputRange {
        let full: ClosedRange<Int32> = activation == .int8 ? -128...127 : 0...255
        guard has("clamp") else { return QNNOutputRange(zeroPoint: zeroPoint, lower: full.lowerBound, upper: full.upperBound) }
        let tensor = try required("clamp")
        try ArrayChecks.check(tensor, named: name("clamp"), dtypes: [activation])
        guard tensor.shape == [2] else { throw .shapeMismatch("'\(name("clamp"))' must have shape [2], has shape \(tensor.shape)") }
        let bounds = tensor.int32Values
        guard bounds[0] <= bounds[1] else {
            throw .invalidAttribute("'\(name("clamp"))' is [\(bounds[0]), \(bounds[1])]: the lower bound is above the upper")
        }
        return QNNOutputRange(zeroPoint: zeroPoint, lower: bounds[0], upper: bounds[1])
    }
}

/// Shape rules shared by the layer kinds.
enum QNNShape {
    /// Checks rank, every dimension and the element count against the limits.
    static func checked(_ shape: [UInt64], named name: String, _ checks: ArrayChecks) throws(KernelError) -> [Int] {
        guard shape.count <= checks.limits.maxRank else {
            throw .limitExceeded(what: "rank of '\(name)'", value: UInt64(shape.count), limit: UInt64(checks.limits.maxRank))
        }
        for dimension in shape { try checks.checkDimension(dimension, what: "a dimension of '\(name)'") }
        try checks.checkElements(try Tensor.elementCount(shape: shape), what: "elements of '\(name)'")
        return shape.map { Int($0) }
    }

    static func checked(_ shape: [Int], named name: String, _ checks: ArrayChecks) throws(KernelError) -> [Int] {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw .shapeMismatch("'\(name)' would have shape \(shape)") }
        return try checked(shape.map { UInt64($0) }, named: name, checks)
    }

    static func elements(_ shape: [Int]) -> Int { shape.reduce(1, *) }
}
