/// `mlp-q8/1`: a quantized multi-layer perceptron. Input int8 [B, D0] with optional scalar `input_zero_point`
/// (int8). Layer i (numbered from 0, consecutively) has `layer<i>.weight` int8 [D_i, D_i+1] (zero point 0),
/// `layer<i>.bias` int32 [D_i+1], scalars `layer<i>.multiplier` int32 (Q31), `layer<i>.shift` int32 in 0...31,
/// `layer<i>.output_zero_point` int8 and optional `layer<i>.relu` uint8 (0 or 1). Each layer computes
/// acc = bias + sum over k of (x - input zero point) * weight (int32 modulo 2^32), then
/// clamp(RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc, multiplier), shift) + output_zero_point,
/// relu ? max(-128, output_zero_point) : -128, 127). The next layer's input zero point is this layer's output zero
/// point. Output int8 [B, D_L]. Work units: sum over layers of B x D_i x D_i+1.
struct MLPPlan: KernelPlan, Sendable {
    let batch: Int
    let inputZeroPoint: Int32
    let layers: [MLPLayer]
    let workUnits: UInt64

    init(model: Model, input: TensorSpec, limits: KernelLimits) throws(KernelError) {
        let checks = ArrayChecks(model: model, limits: limits)
        let inputShape = try checks.dimensions(of: input, named: ArrayChecks.inputName, rank: 2, dtypes: [.int8])
        batch = inputShape[0]
        inputZeroPoint = try checks.scalar("input_zero_point", dtypes: [.int8], default: 0)
        var layers: [MLPLayer] = []
        var width = inputShape[1]
        var work: UInt64 = 0
        while model[MLPLayer.name(layers.count, "weight")] != nil {
            guard layers.count < limits.maxLayers else {
                throw .limitExceeded(what: "layers", value: UInt64(layers.count + 1), limit: UInt64(limits.maxLayers))
            }
            let layer = try MLPLayer(index: layers.count, inputWidth: width, checks: checks)
            let layerWork = try ArrayChecks.product([batch, layer.inputWidth, layer.outputWidth], what: "work units")
            let (total, overflow) = work.addingReportingOverflow(layerWork)
            guard !overflow else { throw .limitExceeded(what: "work units", value: UInt64.max, limit: limits.maxWorkUnits) }
            try checks.checkWork(total)
            try checks.checkElements(ArrayChecks.product([batch, layer.outputWidth], what: "layer output"), what: "layer output elements")
            work = total
            width = layer.outputWidth
            layers.append(layer)
        }
        guard !layers.isEmpty else { throw .missingArray(MLPLayer.name(0, "weight")) }
        let count = layers.count
        try checks.rejectUnknownArrays { name in
            name == "input_zero_point" || (0..<count).contains { index in
                MLPLayer.fields.contains { MLPLayer.name(index, $0) == name }
            }
        }
        self.layers = layers
        workUnits = work
    }

    func run(model: Model, input: Tensor, implementation: Implementation) -> KernelOutput {
        kernelOutput(lastLayer: runLayers(model: model, input: input.data, implementation: implementation) { _ in })
    }

    /// The kernel's output: the last layer's int8 [B, D_L].
    func kernelOutput(lastLayer activations: [UInt8]) -> KernelOutput {
        let output = try! Tensor(dtype: .int8, shape: [UInt64(batch), UInt64(layers.last!.outputWidth)], data: activations)
        return KernelOutput(output: output, workUnits: workUnits)
    }

    /// Runs the layers in order, handing each one's int8 output [B, D_i+1] to `keep` (a trace keeps them all, a
    /// plain run none), and returns the last.
    func runLayers(
        model: Model, input: [UInt8], implementation: Implementation, keep: ([UInt8]) -> Void
    ) -> [UInt8] {
        var activations = input
        for index in layers.indices {
            let layer = layers[index]
            activations = layer.forward(
                activations, rows: batch, inputZeroPoint: inputZeroPoint(ofLayer: index),
                weights: model[layer.weightName]!.data, columns: 0..<layer.outputWidth, implementation: implementation)
            keep(activations)
        }
        return activations
    }

    /// The zero point of layer `index`'s input: the job input's, then the previous layer's output zero point.
    func inputZeroPoint(ofLayer index: Int) -> Int32 {
        index == 0 ? inputZeroPoint : layers[index - 1].outputZeroPoint
    }
}

/// One validated layer of `mlp-q8/1`.
struct MLPLayer: Sendable {
    static let fields = ["weight", "bias", "multiplier", "shift", "output_zero_point", "relu"]

    static func name(_ index: Int, _ field: String) -> String { "layer\(index).\(field)" }

    let weightName: String
    let inputWidth: Int
    let outputWidth: Int
    let bias: [Int32]
    let multiplier: Int32
    let shift: Int32
    let outputZeroPoint: Int32
    let relu: Bool

    init(index: Int, inputWidth: Int, checks: ArrayChecks) throws(KernelError) {
        weightName = MLPLayer.name(index, "weight")
        let shape = try checks.dimensions(of: try checks.required(weightName), named: weightName, rank: 2, dtypes: [.int8])
        guard shape[0] == inputWidth else {
            throw .shapeMismatch("'\(weightName)' has \(shape[0]) rows; the layer's input has width \(inputWidth)")
        }
        self.inputWidth = inputWidth
        outputWidth = shape[1]
        let biasName = MLPLayer.name(index, "bias")
        _ = try checks.required(biasName)
        bias = try checks.int32Vector(biasName, count: outputWidth)!
        multiplier = try MLPLayer.requiredScalar(checks, MLPLayer.name(index, "multiplier"), .int32)
        shift = try MLPLayer.requiredScalar(checks, MLPLayer.name(index, "shift"), .int32)
        guard (0...31).contains(shift) else { throw .invalidAttribute("'\(MLPLayer.name(index, "shift"))' is \(shift), must be in 0...31") }
        outputZeroPoint = try MLPLayer.requiredScalar(checks, MLPLayer.name(index, "output_zero_point"), .int8)
        let reluFlag = try checks.scalar(MLPLayer.name(index, "relu"), dtypes: [.uint8], default: 0)
        guard reluFlag == 0 || reluFlag == 1 else { throw .invalidAttribute("'\(MLPLayer.name(index, "relu"))' is \(reluFlag), must be 0 or 1") }
        relu = reluFlag == 1
    }

    private static func requiredScalar(_ checks: ArrayChecks, _ name: String, _ dtype: DType) throws(KernelError) -> Int32 {
        _ = try checks.required(name)
        return try checks.scalar(name, dtypes: [dtype], default: 0)
    }

    /// Output columns `columns` of `rows` rows of this layer from its input rows `x` [rows, D_i]; `weights` is the
    /// whole weight matrix [D_i, D_i+1].
    func forward(
        _ x: [UInt8], rows: Int, inputZeroPoint: Int32, weights: [UInt8], columns: Range<Int>, implementation: Implementation
    ) -> [UInt8] {
        let xOperand = MatrixOperand(dtype: .int8, zeroPoint: inputZeroPoint)
        let weightOperand = MatrixOperand(dtype: .int8, zeroPoint: 0)
        let block = ColumnBlock.extract(weights, rows: inputWidth, columns: outputWidth, range: columns)
        let accumulators: [Int32]
        switch implementation {
        case .reference:
            accumulators = GemmCore.reference(
                a: x, xOperand, b: block, weightOperand, m: rows, n: columns.count, k: inputWidth)
        case let .optimised(threads):
            accumulators = GemmCore.optimised(
                a: x, xOperand, b: block, weightOperand, m: rows, n: columns.count, k: inputWidth, threads: threads)
        }
        return requantize(accumulators, columns: columns)
    }

    /// Adds the bias and maps each accumulator of rows of output columns `columns` to int8 (docs/kernels.md,
    /// "Requantization").
    func requantize(_ accumulators: [Int32], columns: Range<Int>) -> [UInt8] {
        let lower = relu ? max(-128, outputZeroPoint) : -128
        return accumulators.indices.map { index in
            let acc = accumulators[index] &+ bias[columns.lowerBound + index % columns.count]
            let scaled = FixedPoint.roundingDivideByPOT(FixedPoint.saturatingRoundingDoublingHighMul(acc, multiplier), shift)
            let shifted = Int64(scaled) + Int64(outputZeroPoint)
            return UInt8(bitPattern: Int8(min(127, max(Int64(lower), shifted))))
        }
    }
}

/// gemmlowp's fixed-point primitives (fixedpoint.h), as TFLite uses them for requantization.
enum FixedPoint {
    /// floor((a x b + 2^30) / 2^31): a x b / 2^31 rounded to nearest, ties upward. The one overflowing case,
    /// INT32_MIN x INT32_MIN, gives INT32_MAX.
    static func saturatingRoundingDoublingHighMul(_ a: Int32, _ b: Int32) -> Int32 {
        if a == Int32.min && b == Int32.min { return Int32.max }
        let product = Int64(a) * Int64(b)
        let nudge: Int64 = product >= 0 ? 1 << 30 : 1 - (1 << 30)
        // Int64 division truncates toward zero, like C's.
        return Int32(truncatingIfNeeded: (product + nudge) / (1 << 31))
    }

    /// x / 2^exponent rounded to nearest, ties away from zero (exponent in 0...31).
    static func roundingDivideByPOT(_ x: Int32, _ exponent: Int32) -> Int32 {
        let mask: Int32 = Int32(truncatingIfNeeded: (Int64(1) << Int64(exponent)) - 1)
        let remainder = x & mask
        let threshold = (mask >> 1) + (x < 0 ? 1 : 0)
        return (x >> exponent) + (remainder > threshold ? 1 : 0)
    }
}
