@testable import AssayKernels

/// Builds qnn/1 models node by node, tracking every tensor's shape and zero point.
struct QNNGraphBuilder {
    let dtype: DType
    private(set) var arrays: [(String, Tensor)] = []
    private(set) var shapes: [[Int]]
    private(set) var zeroPoints: [Int32]
    private(set) var ops: [UInt8] = []

    init(dtype: DType, inputShape: [Int], inputZeroPoint: Int32) throws {
        self.dtype = dtype
        shapes = [inputShape]
        zeroPoints = [inputZeroPoint]
        arrays = [("input_zero_point", try activation([inputZeroPoint], shape: []))]
    }

    /// A tensor of the activation dtype.
    func activation(_ values: [Int32], shape: [Int]) throws -> Tensor {
        try Tensor(dtype: dtype, shape: shape.map { UInt64($0) }, data: values.map { UInt8(truncatingIfNeeded: $0) })
    }

    /// Appends node `ops.count` and returns its output's tensor index.
    @discardableResult
    mutating func node(
        _ op: UInt8, _ inputs: [Int], shape: [Int], zeroPoint: Int32, _ fields: [(String, Tensor)]
    ) throws -> Int {
        let prefix = "node\(ops.count)."
        arrays.append((prefix + "op", try Tensor(uint8: [op], shape: [])))
        arrays.append((prefix + "inputs", try Tensor(int32: inputs.map { Int32($0) }, shape: [UInt64(inputs.count)])))
        arrays += fields.map { (prefix + $0.0, $0.1) }
        ops.append(op)
        shapes.append(shape)
        zeroPoints.append(zeroPoint)
        return shapes.count - 1
    }

    func model() throws -> Model { try Model(arrays: arrays) }
}

func int32s(_ values: [Int32]) throws -> Tensor { try Tensor(int32: values, shape: [UInt64(values.count)]) }
func int32Scalar(_ value: Int32) throws -> Tensor { try Tensor(int32: [value], shape: []) }

/// Random small graphs of every qnn/1 layer kind, with parameters reaching the arithmetic's edges.
struct QNNGraphGenerator {
    var random: SeededGenerator

    var range: ClosedRange<Int32> { graph.dtype == .int8 ? -128...127 : 0...255 }
    private var graph: QNNGraphBuilder

    /// Elements above which a node that grows its input (concat) is not chosen, to keep the oracle fast.
    static let elementsMax = 3000

    init(seed: UInt64) throws {
        random = SeededGenerator(seed: seed)
        let dtype: DType = Bool.random(using: &random) ? .int8 : .uint8
        let shape = [Int.random(in: 1...2, using: &random), Int.random(in: 1...4, using: &random),
                     Int.random(in: 1...6, using: &random), Int.random(in: 1...6, using: &random)]
        let zero = Int32.random(in: dtype == .int8 ? -128...127 : 0...255, using: &random)
        graph = try QNNGraphBuilder(dtype: dtype, inputShape: shape, inputZeroPoint: zero)
    }

    /// A model of 2 to 8 nodes and a random input for it.
    mutating func make() throws -> (model: Model, input: Tensor, ops: [UInt8]) {
        for _ in 0..<Int.random(in: 2...8, using: &random) {
            let source = Bool.random(using: &random) ? graph.shapes.count - 1 : Int.random(in: 0..<graph.shapes.count, using: &random)
            try emit(source)
        }
        let input = try random.tensor(graph.dtype, graph.shapes[0])
        return (try graph.model(), input, graph.ops)
    }

    private mutating func emit(_ source: Int) throws {
        let shape = graph.shapes[source]
        var ops: [UInt8] = [2, 6, 7, 8]
        if shape.count == 4 { ops += [1, 3, 4, 5] }
        if shape.count == 2 { ops += [0] }
        if shape.reduce(1, *) * 3 <= Self.elementsMax { ops += [9] }
        switch ops.randomElement(using: &random)! {
        case 0: try linear(source)
        case 1: try conv(source)
        case 2: try add(source)
        case 3: try pool(source, op: 3)
        case 4: try pool(source, op: 4)
        case 5: try globalAveragePool(source)
        case 6: try reshape(source)
        case 7: try flatten(source)
        case 8: try transpose(source)
        default: try concat(source)
        }
    }

    mutating func value() -> Int32 { Int32.random(in: range, using: &random) }

    /// Mostly TFLite's range [2^30, 2^31), sometimes any int32 (negative, zero, INT32_MIN).
    mutating func multiplier() -> Int32 {
        switch Int.random(in: 0..<10, using: &random) {
        case 0: [Int32.min, Int32.max, 0, -(1 << 30)].randomElement(using: &random)!
        case 1: Int32.random(in: Int32.min...Int32.max, using: &random)
        default: Int32.random(in: (1 << 30)...Int32.max, using: &random)
        }
    }

    /// Adds `multiplier`, `shift` (each a scalar or per channel), `output_zero_point` and maybe a clamp to `fields`;
    /// returns the output zero point.
    mutating func requantized(_ fields: inout [(String, Tensor)], channels: Int, shifts: ClosedRange<Int32>) throws -> Int32 {
        let perChannel = Bool.random(using: &random)
        let count = perChannel ? channels : 1
        fields.append(("multiplier", try Tensor(int32: (0..<count).map { _ in multiplier() }, shape: perChannel ? [UInt64(count)] : [])))
        fields.append(("shift", try Tensor(int32: (0..<count).map { _ in
            Int.random(in: 0..<10, using: &random) == 0 ? [0, 31].randomElement(using: &random)! : Int32.random(in: shifts, using: &random)
        }, shape: perChannel ? [UInt64(count)] : [])))
        let zero = value()
        fields.append(("output_zero_point", try graph.activation([zero], shape: [])))
        try clamp(&fields)
        return zero
    }

    /// A clamp a third of the time (relu and clip are clamps).
    mutating func clamp(_ fields: inout [(String, Tensor)]) throws {
        guard Int.random(in: 0..<3, using: &random) == 0 else { return }
        let bounds = [value(), value()].sorted()
        fields.append(("clamp", try graph.activation(bounds, shape: [2])))
    }

    /// Int8 weights (a quarter at the extremes), maybe a weight zero point, maybe a bias.
    mutating func weights(_ fields: inout [(String, Tensor)], shape: [Int], channels: Int) throws {
        fields.append(("weight", try random.tensor(.int8, shape)))
        if Bool.random(using: &random) { fields.append(("w_zero_point", try random.zeroPoint(.int8))) }
        if Int.random(in: 0..<4, using: &random) != 0 {
            let bias = (0..<channels).map { _ in
                Int.random(in: 0..<8, using: &random) == 0 ? [Int32.min, Int32.max].randomElement(using: &random)! : Int32.random(in: -40000...40000, using: &random)
            }
            fields.append(("bias", try int32s(bias)))
        }
    }

    mutating func linear(_ source: Int) throws {
        let shape = graph.shapes[source]
        let n = Int.random(in: 1...6, using: &random)
        var fields: [(String, Tensor)] = []
        try weights(&fields, shape: [shape[1], n], channels: n)
        let zero = try requantized(&fields, channels: n, shifts: 4...14)
        try graph.node(0, [source], shape: [shape[0], n], zeroPoint: zero, fields)
    }

    /// Kernel, strides, dilations and pads for a window over [H, W], valid for the input (a dilated window never
    /// wider than the padded input); the attributes are left out (defaults) a third of the time when they allow.
    mutating func window(_ shape: [Int], strideMax: Int) -> (kernel: [Int], attributes: [(String, Tensor)], out: [Int]) {
        var kernel = [Int.random(in: 1...3, using: &random), Int.random(in: 1...3, using: &random)]
        var dilations = [Int.random(in: 1...2, using: &random), Int.random(in: 1...2, using: &random)]
        let strides = [Int.random(in: 1...strideMax, using: &random), Int.random(in: 1...strideMax, using: &random)]
        let pads = (0..<4).map { _ in Int.random(in: 0...2, using: &random) }
        var out = [0, 0]
        for axis in 0..<2 {
            let padded = shape[2 + axis] + pads[axis] + pads[axis + 2]
            if (kernel[axis] - 1) * dilations[axis] + 1 > padded { (kernel[axis], dilations[axis]) = (1, 1) }
            out[axis] = (padded - ((kernel[axis] - 1) * dilations[axis] + 1)) / strides[axis] + 1
        }
        let attributes = [("pads", pads), ("strides", strides), ("dilations", dilations)].compactMap { name, values in
            values.allSatisfy { $0 == (name == "pads" ? 0 : 1) } && Bool.random(using: &random)
                ? nil : (name, try! int32s(values.map { Int32($0) }))
        }
        return (kernel, attributes, out)
    }

    mutating func conv(_ source: Int) throws {
        let shape = graph.shapes[source]
        let channels = shape[1]
        let group = (1...channels).filter { channels % $0 == 0 }.randomElement(using: &random)!
        let filters = group * Int.random(in: 1...3, using: &random)
        let (kernel, attributes, out) = window(shape, strideMax: 2)
        var fields = attributes
        if group > 1 || Bool.random(using: &random) { fields.append(("group", try int32Scalar(Int32(group)))) }
        try weights(&fields, shape: [filters, channels / group] + kernel, channels: filters)
        let zero = try requantized(&fields, channels: filters, shifts: 4...14)
        try graph.node(1, [source], shape: [shape[0], filters] + out, zeroPoint: zero, fields)
    }

    mutating func pool(_ source: Int, op: UInt8) throws {
        let shape = graph.shapes[source]
        let (kernel, attributes, out) = window(shape, strideMax: 3)
        var fields = attributes + [("kernel", try int32s(kernel.map { Int32($0) }))]
        let zero = op == 3 ? graph.zeroPoints[source] : try requantized(&fields, channels: shape[1], shifts: 0...6)
        if op == 3 { try clamp(&fields) }
        try graph.node(op, [source], shape: [shape[0], shape[1]] + out, zeroPoint: zero, fields)
    }

    mutating func add(_ source: Int) throws {
        let shape = graph.shapes[source]
        var fields = [
            ("a_multiplier", try int32Scalar(multiplier())), ("a_shift", try int32Scalar(Int32.random(in: 0...3, using: &random))),
            ("b_multiplier", try int32Scalar(multiplier())), ("b_shift", try int32Scalar(Int32.random(in: 0...3, using: &random))),
        ]
        var inputs = [source]
        let partners = graph.shapes.indices.filter { graph.shapes[$0] == shape }
        if Bool.random(using: &random) {
            inputs.append(partners.randomElement(using: &random)!)
        } else {
            let suffix = Array(shape.suffix(Int.random(in: 0...shape.count, using: &random)))
            fields.append(("b_constant", try random.tensor(graph.dtype, suffix)))
            if Bool.random(using: &random) { fields.append(("b_zero_point", try graph.activation([value()], shape: []))) }
        }
        let zero = try requantized(&fields, channels: 1, shifts: 17...22)
        try graph.node(2, inputs, shape: shape, zeroPoint: zero, fields)
    }

    mutating func globalAveragePool(_ source: Int) throws {
        let shape = graph.shapes[source]
        var fields: [(String, Tensor)] = []
        let zero = try requantized(&fields, channels: shape[1], shifts: 0...6)
        try graph.node(5, [source], shape: [shape[0], shape[1], 1, 1], zeroPoint: zero, fields)
    }

    mutating func reshape(_ source: Int) throws {
        let shape = graph.shapes[source]
        let elements = shape.reduce(1, *)
        var target: [Int32]
        switch Int.random(in: 0..<4, using: &random) {
        case 0: target = [-1]
        case 1: target = [0, -1]
        case 2: target = [Int32(elements), 1]
        default: target = shape.reversed().map { Int32($0) }
        }
        var resolved = target.enumerated().map { $1 == 0 ? shape[$0] : Int($1) }
        if let inferred = resolved.firstIndex(of: -1) { resolved[inferred] = elements / resolved.filter { $0 != -1 }.reduce(1, *) }
        if !target.contains(-1) && !target.isEmpty && Bool.random(using: &random) { target[0] = -1 }
        var fields = [("shape", try int32s(target))]
        try clamp(&fields)
        try graph.node(6, [source], shape: resolved, zeroPoint: graph.zeroPoints[source], fields)
    }

    mutating func flatten(_ source: Int) throws {
        let shape = graph.shapes[source]
        let axis = Int.random(in: 0...shape.count, using: &random)
        var fields = axis == 1 && Bool.random(using: &random) ? [] : [("axis", try int32Scalar(Int32(axis)))]
        try clamp(&fields)
        let out = [shape[..<axis].reduce(1, *), shape[axis...].reduce(1, *)]
        try graph.node(7, [source], shape: out, zeroPoint: graph.zeroPoints[source], fields)
    }

    mutating func transpose(_ source: Int) throws {
        let shape = graph.shapes[source]
        let perm = Array(shape.indices).shuffled(using: &random)
        var fields = [("perm", try int32s(perm.map { Int32($0) }))]
        try clamp(&fields)
        try graph.node(8, [source], shape: perm.map { shape[$0] }, zeroPoint: graph.zeroPoints[source], fields)
    }

    mutating func concat(_ source: Int) throws {
        let shape = graph.shapes[source]
        let axis = Int.random(in: 0..<shape.count, using: &random)
        let partners = graph.shapes.indices.filter { index in
            var expected = shape
            if graph.shapes[index].count == shape.count { expected[axis] = graph.shapes[index][axis] }
            return graph.shapes[index] == expected && graph.zeroPoints[index] == graph.zeroPoints[source]
                && graph.shapes[index].reduce(1, *) <= shape.reduce(1, *)
        }
        let inputs = [source] + (0..<Int.random(in: 0...2, using: &random)).map { _ in partners.randomElement(using: &random)! }
        var out = shape
        out[axis] = inputs.map { graph.shapes[$0][axis] }.reduce(0, +)
        var fields = [("axis", try int32Scalar(Int32(axis)))]
        try clamp(&fields)
        try graph.node(9, inputs, shape: out, zeroPoint: graph.zeroPoints[source], fields)
    }
}
