/// One validated node of a `qnn/1` graph: its kind and parameters, its inputs (tensor indices), output shape,
/// output range and work units, all derived from shapes and the model's small arrays before anything runs.
struct QNNNode: Sendable {
    /// The most inputs a node may name (a concat's).
    static let maxInputs = 64

    static func name(_ index: Int, _ field: String) -> String { "node\(index).\(field)" }

    let index: Int
    let op: QNNOp
    let inputs: [Int]
    let kind: Kind
    let outputShape: [Int]
    let output: QNNOutputRange
    let workUnits: UInt64

    enum Kind: Sendable {
        case linear(QNNWeights)
        case conv(QNNWeights, ConvGeometry)
        case add(QNNAdd)
        case maxPool(ConvGeometry)
        case averagePool(ConvGeometry, QNNScale)
        case globalAveragePool(QNNScale)
        /// Reshape and flatten: the elements are unchanged, only the shape is new.
        case reshape
        case transpose(perm: [Int])
        case concat(axis: Int)
    }

    /// What a kind's reader derives besides the kind itself.
    private typealias Parts = (kind: Kind, shape: [Int], output: QNNOutputRange, work: UInt64)

    init(index: Int, tensors: [QNNTensor], activation: DType, checks: ArrayChecks) throws(KernelError) {
        let arrays = QNNArrays(checks: checks, prefix: QNNNode.name(index, ""), activation: activation)
        let code = try arrays.scalar("op", dtype: .uint8)
        guard let op = QNNOp(rawValue: UInt8(code)) else {
            throw .invalidAttribute("'\(arrays.name("op"))' is \(code), not a layer kind (0...\(QNNOp.allCases.count - 1))")
        }
        let indices = try arrays.int32List("inputs", maxCount: QNNNode.maxInputs)
        var inputs: [QNNTensor] = []
        for tensor in indices {
            guard tensor >= 0 && Int(tensor) < tensors.count else {
                throw .invalidModel("'\(arrays.name("inputs"))' names tensor \(tensor); node \(index) may read only tensors "
                    + "0...\(tensors.count - 1) (the input and earlier nodes' outputs), so that the graph has no cycle")
            }
            inputs.append(tensors[Int(tensor)])
        }
        let parts = try QNNNode.read(op, arrays, inputs)
        (self.index, self.op, self.inputs) = (index, op, indices.map { Int($0) })
        (kind, outputShape, output, workUnits) = parts
    }

    private static func read(_ op: QNNOp, _ arrays: QNNArrays, _ inputs: [QNNTensor]) throws(KernelError) -> Parts {
        let allowed = op == .concat ? 1...maxInputs : (op == .add ? 1...2 : 1...1)
        guard allowed.contains(inputs.count) else {
            throw .invalidModel("'\(arrays.name("inputs"))' names \(inputs.count) tensors; this layer kind takes \(allowed)")
        }
        switch op {
        case .linear: return try linear(arrays, inputs[0])
        case .conv: return try conv(arrays, inputs[0])
        case .add: return try add(arrays, inputs)
        case .maxPool, .averagePool: return try pool(op, arrays, inputs[0])
        case .globalAveragePool: return try globalAveragePool(arrays, inputs[0])
        case .reshape, .flatten: return try reshape(op, arrays, inputs[0])
        case .transpose: return try transpose(arrays, inputs[0])
        case .concat: return try concat(arrays, inputs)
        }
    }

    private static func linear(_ arrays: QNNArrays, _ x: QNNTensor) throws(KernelError) -> Parts {
        try requireRank(2, x, arrays, "linear [batch, features]")
        let wShape = try arrays.checks.dimensions(
            of: try arrays.required("weight"), named: arrays.name("weight"), rank: 2, dtypes: [.int8])
        guard wShape[0] == x.shape[1] else {
            throw .shapeMismatch("'\(arrays.name("weight"))' has \(wShape[0]) rows; the input has \(x.shape[1]) features")
        }
        let shape = try QNNShape.checked([x.shape[0], wShape[1]], named: arrays.name("output"), arrays.checks)
        let work = try ArrayChecks.product([x.shape[0], wShape[0], wShape[1]], what: "work units")
        return (.linear(try QNNWeights(arrays, channels: wShape[1])), shape, try requantizedRange(arrays), work)
    }

    private static func conv(_ arrays: QNNArrays, _ x: QNNTensor) throws(KernelError) -> Parts {
        try requireRank(4, x, arrays, "conv [N, C, H, W]")
        let wShape = try arrays.checks.dimensions(
            of: try arrays.required("weight"), named: arrays.name("weight"), rank: 4, dtypes: [.int8])
        let geometry = try ConvGeometry(
            input: x.shape, weights: wShape, attributes: ConvAttributes(arrays.checks, prefix: arrays.prefix))
        let shape = try QNNShape.checked(geometry.outputShape, named: arrays.name("output"), arrays.checks)
        // The optimised path lowers each (image, group) to (C/group x kH x kW) rows of OH x OW columns.
        try arrays.checks.checkElements(
            ArrayChecks.product([geometry.patchLength, geometry.outHeight, geometry.outWidth], what: "lowered input elements"),
            what: "lowered input elements")
        let work = try ArrayChecks.product(geometry.outputShape + [geometry.patchLength], what: "work units")
        return (.conv(try QNNWeights(arrays, channels: geometry.filters), geometry), shape, try requantizedRange(arrays), work)
    }

    private static func add(_ arrays: QNNArrays, _ inputs: [QNNTensor]) throws(KernelError) -> Parts {
        let a = inputs[0]
        let shape = a.shape
        let add = try QNNAdd(arrays, a: a, b: inputs.count == 2 ? inputs[1] : nil)
        let work = UInt64(QNNShape.elements(shape))
        return (.add(add), shape, try requantizedRange(arrays), work)
    }

    private static func pool(_ op: QNNOp, _ arrays: QNNArrays, _ x: QNNTensor) throws(KernelError) -> Parts {
        try requireRank(4, x, arrays, "pooling [N, C, H, W]")
        guard let kernel = try arrays.checks.int32Vector(arrays.name("kernel"), count: 2) else {
            throw .missingArray(arrays.name("kernel"))
        }
        guard kernel.allSatisfy({ $0 >= 1 }) else { throw .invalidAttribute("'\(arrays.name("kernel"))' \(kernel) must be >= 1") }
        for size in kernel { try arrays.checks.checkDimension(UInt64(size), what: "a dimension of '\(arrays.name("kernel"))'") }
        // A pooling window is a depthwise convolution's: C filters of one channel each (group C), without weights.
        let channels = x.shape[1]
        var attributes = try ConvAttributes(arrays.checks, prefix: arrays.prefix)
        attributes.group = Int32(max(1, channels))
        let geometry = try ConvGeometry(
            input: x.shape, weights: [channels, channels == 0 ? 0 : 1, Int(kernel[0]), Int(kernel[1])], attributes: attributes)
        let shape = try QNNShape.checked(geometry.outputShape, named: arrays.name("output"), arrays.checks)
        let work = try ArrayChecks.product(shape + [Int(kernel[0]), Int(kernel[1])], what: "work units")
        if op == .maxPool { return (.maxPool(geometry), shape, try arrays.outputRange(zeroPoint: x.zeroPoint), work) }
        let scale = try QNNScale(arrays, channels: channels)
        return (.averagePool(geometry, scale), shape, try requantizedRange(arrays), work)
    }

    private static func globalAveragePool(_ arrays: QNNArrays, _ x: QNNTensor) throws(KernelError) -> Parts {
        try requireRank(4, x, arrays, "global average pool [N, C, H, W]")
        let shape = [x.shape[0], x.shape[1], 1, 1]
        let scale = try QNNScale(arrays, channels: x.shape[1])
        return (.globalAveragePool(scale), shape, try requantizedRange(arrays), UInt64(QNNShape.elements(x.shape)))
    }

    private static func reshape(_ op: QNNOp, _ arrays: QNNArrays, _ x: QNNTensor) throws(KernelError) -> Parts {
        let target = op == .flatten
            ? try QNNShapeRules.flatten(x.shape, axis: arrays.scalar("axis", dtype: .int32, default: 1), arrays)
            : try QNNShapeRules.reshape(x.shape, to: arrays.int32List("shape", maxCount: Tensor.maxRank), arrays)
        let shape = try QNNShape.checked(target, named: arrays.name("output"), arrays.checks)
        return (.reshape, shape, try arrays.outputRange(zeroPoint: x.zeroPoint), UInt64(QNNShape.elements(shape)))
    }

    private static func transpose(_ arrays: QNNArrays, _ x: QNNTensor) throws(KernelError) -> Parts {
        let perm = try arrays.int32List("perm", maxCount: Tensor.maxRank).map { Int($0) }
        guard perm.sorted() == Array(0..<x.shape.count) else {
            throw .invalidAttribute("'\(arrays.name("perm"))' \(perm) is not a permutation of the input's \(x.shape.count) axes")
        }
        let shape = perm.map { x.shape[$0] }
        return (.transpose(perm: perm), shape, try arrays.outputRange(zeroPoint: x.zeroPoint), UInt64(QNNShape.elements(shape)))
    }

    private static func concat(_ arrays: QNNArrays, _ inputs: [QNNTensor]) throws(KernelError) -> Parts {
        let first = inputs[0]
        let axis = Int(try arrays.scalar("axis", dtype: .int32))
        guard (0..<first.shape.count).contains(axis) else {
            throw .invalidAttribute("'\(arrays.name("axis"))' is \(axis); the inputs have rank \(first.shape.count)")
        }
        var total = 0
        for input in inputs {
            guard input.zeroPoint == first.zeroPoint else {
                throw .invalidModel("'\(arrays.name("inputs"))': concatenated tensors must share one zero point "
                    + "(\(first.zeroPoint) and \(input.zeroPoint))")
            }
            var expected = first.shape
            if expected.count == input.shape.count { expected[axis] = input.shape[axis] }
            guard input.shape == expected else {
                throw .shapeMismatch("'\(arrays.name("inputs"))': \(input.shape) does not concatenate with \(first.shape) on axis \(axis)")
            }
            total += input.shape[axis]
        }
        var shape = first.shape
        shape[axis] = total
        shape = try QNNShape.checked(shape, named: arrays.name("output"), arrays.checks)
        return (.concat(axis: axis), shape, try arrays.outputRange(zeroPoint: first.zeroPoint), UInt64(QNNShape.elements(shape)))
    }

    private static func requireRank(_ rank: Int, _ x: QNNTensor, _ arrays: QNNArrays, _ what: String) throws(KernelError) {
        guard x.shape.count == rank else {
            throw .shapeMismatch("\(arrays.prefix.dropLast())'s input must have rank \(rank) (\(what)), has shape \(x.shape)")
        }
    }

    /// The range of a node that requantizes: a required `output_zero_point` and the optional clamp.
    private static func requantizedRange(_ arrays: QNNArrays) throws(KernelError) -> QNNOutputRange {
        try arrays.outputRange(zeroPoint: try arrays.scalar("output_zero_point", dtype: arrays.activation))
    }
}

/// A linear or conv layer's int8 weights (with their zero point), int32 bias per output channel and scale.
struct QNNWeights: Sendable {
    let weightName: String
    let weightZeroPoint: Int32
    let bias: [Int32]
    let scale: QNNScale

    init(_ arrays: QNNArrays, channels: Int) throws(KernelError) {
        weightName = arrays.name("weight")
        weightZeroPoint = try arrays.scalar("w_zero_point", dtype: .int8, default: 0)
        bias = try arrays.checks.int32Vector(arrays.name("bias"), count: channels) ?? [Int32](repeating: 0, count: channels)
        scale = try QNNScale(arrays, channels: channels)
    }
}

/// An add's second operand and the three scales of TFLite's quantized add.
struct QNNAdd: Sendable {
    /// Centred inputs are shifted left by this before their scales apply (TFLite's `left_shift` for 8-bit add).
    static let leftShift: Int32 = 20

    let aScale: QNNScale
    let bScale: QNNScale
    let outputScale: QNNScale
    /// The model's constant `b_constant` (its shape a suffix of A's, repeated over A's leading axes), or nil when
    /// B is the node's second input.
    let constant: [Int32]?
    let bZeroPoint: Int32

    init(_ arrays: QNNArrays, a: QNNTensor, b: QNNTensor?) throws(KernelError) {
        aScale = try QNNScale(arrays, multiplier: "a_multiplier", shift: "a_shift", channels: 1)
        bScale = try QNNScale(arrays, multiplier: "b_multiplier", shift: "b_shift", channels: 1)
        outputScale = try QNNScale(arrays, channels: 1)
        if let b {
            guard !arrays.has("b_constant") && !arrays.has("b_zero_point") else {
                throw .invalidModel("'\(arrays.name("b_constant"))' and its zero point go only with a single input")
            }
            guard b.shape == a.shape else { throw .shapeMismatch("\(arrays.prefix.dropLast()) adds \(a.shape) to \(b.shape); they must be equal") }
            (constant, bZeroPoint) = (nil, b.zeroPoint)
        } else {
            let tensor = try arrays.required("b_constant")
            try ArrayChecks.check(tensor, named: arrays.name("b_constant"), dtypes: [arrays.activation])
            let shape = try QNNShape.checked(tensor.shape, named: arrays.name("b_constant"), arrays.checks)
            guard shape.count <= a.shape.count, Array(a.shape.suffix(shape.count)) == shape else {
                throw .shapeMismatch("'\(arrays.name("b_constant"))' \(shape) must be a trailing part of the input's shape \(a.shape)")
            }
            constant = tensor.int32Values
            bZeroPoint = try arrays.scalar("b_zero_point", dtype: arrays.activation, default: 0)
        }
    }
}

/// Reshape and flatten's shape arithmetic.
enum QNNShapeRules {
    /// ONNX Reshape (allowzero = 0): 0 copies the input's dimension at that index, one -1 is inferred.
    static func reshape(_ input: [Int], to target: [Int32], _ arrays: QNNArrays) throws(KernelError) -> [Int] {
        let field = arrays.name("shape")
        var shape: [Int] = []
        var inferred: Int?
        for (axis, value) in target.enumerated() {
            switch value {
            case 0:
                guard axis < input.count else { throw .invalidAttribute("'\(field)' copies axis \(axis) the input does not have") }
                shape.append(input[axis])
            case -1:
                guard inferred == nil else { throw .invalidAttribute("'\(field)' \(target) infers more than one axis") }
                inferred = axis
                shape.append(1)
            default:
                guard value > 0 else { throw .invalidAttribute("'\(field)' \(target) holds \(value)") }
                try arrays.checks.checkDimension(UInt64(value), what: "a dimension of '\(field)'")
                shape.append(Int(value))
            }
        }
        let elements = QNNShape.elements(input)
        if let inferred {
            // Dimensions are at most 2^31 each, but eight of them can overflow: multiply with overflow checks.
            let known = try ArrayChecks.product(shape, what: "elements of '\(field)'")
            guard known > 0, UInt64(elements) % known == 0 else {
                throw .shapeMismatch("'\(field)' \(target) cannot hold the input's \(elements) elements")
            }
            shape[inferred] = elements / Int(known)
        }
        guard try ArrayChecks.product(shape, what: "elements of '\(field)'") == UInt64(elements) else {
            throw .shapeMismatch("'\(field)' \(target) gives \(shape), which does not hold the input's \(elements) elements")
        }
        return shape
    }

    /// ONNX Flatten: [product of the axes before `axis`, product of the rest].
    static func flatten(_ input: [Int], axis: Int32, _ arrays: QNNArrays) throws(KernelError) -> [Int] {
        guard (0...Int32(input.count)).contains(axis) else {
            throw .invalidAttribute("'\(arrays.name("axis"))' is \(axis); the input has rank \(input.count)")
        }
        return [QNNShape.elements(Array(input[..<Int(axis)])), QNNShape.elements(Array(input[Int(axis)...]))]
    }
}
