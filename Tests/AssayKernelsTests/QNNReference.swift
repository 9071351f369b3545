@testable import AssayKernels

/// qnn/1 written again from docs/kernels.md alone, in Int64 arithmetic, reading the model's arrays by name: the
/// oracle the kernel is compared with. It assumes a valid model (the kernel's validation is tested separately).
struct QNNReference {
    let model: Model
    let signed: Bool

    init(model: Model, dtype: DType) {
        self.model = model
        signed = dtype == .int8
    }

    // MARK: Fixed point, from the documented equivalent forms.

    /// floor((a x b + 2^30) / 2^31), except INT32_MIN x INT32_MIN -> INT32_MAX.
    static func doublingHighMul(_ a: Int64, _ b: Int64) -> Int64 {
        if a == Int64(Int32.min) && b == Int64(Int32.min) { return Int64(Int32.max) }
        let numerator = a * b + (1 << 30)
        return numerator >= 0 ? numerator / (1 << 31) : -((-numerator + (1 << 31) - 1) / (1 << 31))
    }

    /// x / 2^e rounded to nearest, ties away from zero.
    static func divideByPowerOfTwo(_ x: Int64, _ e: Int64) -> Int64 {
        let magnitude = (abs(x) + (e == 0 ? 0 : Int64(1) << (e - 1))) >> e
        return x < 0 ? -magnitude : magnitude
    }

    static func wrap(_ x: Int64) -> Int64 { Int64(Int32(truncatingIfNeeded: x)) }

    // MARK: Arrays.

    func values(_ name: String) -> [Int64]? { model[name].map { $0.int32Values.map(Int64.init) } }
    func field(_ node: Int, _ name: String) -> [Int64]? { values("node\(node).\(name)") }
    func scalar(_ node: Int, _ name: String, _ fallback: Int64 = 0) -> Int64 { field(node, name)?[0] ?? fallback }

    /// Clamp of node `node`: its `clamp` array or the dtype's range.
    func clamp(_ node: Int, _ value: Int64) -> Int64 {
        let bounds = field(node, "clamp") ?? (signed ? [-128, 127] : [0, 255])
        return min(bounds[1], max(bounds[0], value))
    }

    /// zero point + RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc, m), s), clamped.
    func requantize(_ node: Int, _ acc: Int64, channel: Int, multiplier: String = "multiplier", shift: String = "shift") -> Int64 {
        let m = field(node, multiplier)!, s = field(node, shift)!
        let scaled = Self.divideByPowerOfTwo(
            Self.doublingHighMul(acc, m[m.count == 1 ? 0 : channel]), s[s.count == 1 ? 0 : channel])
        return clamp(node, scalar(node, "output_zero_point") + scaled)
    }

    // MARK: The graph.

    /// Every node's output values and shape.
    func run(_ input: Tensor) -> [(values: [Int64], shape: [Int])] {
        var tensors: [(values: [Int64], shape: [Int], zero: Int64)] = [
            (input.int32Values.map(Int64.init), input.shape.map { Int($0) }, values("input_zero_point")?[0] ?? 0)
        ]
        var node = 0
        while let op = field(node, "op")?[0] {
            let inputs = field(node, "inputs")!.map { tensors[Int($0)] }
            let (values, shape) = layer(node, op: op, inputs.map { ($0.values, $0.shape, $0.zero) })
            let requantizing = [0, 1, 2, 4, 5].contains(op)
            tensors.append((values, shape, requantizing ? scalar(node, "output_zero_point") : inputs[0].zero))
            node += 1
        }
        return tensors.dropFirst().map { ($0.values, $0.shape) }
    }

    typealias Operand = (values: [Int64], shape: [Int], zero: Int64)

    func layer(_ node: Int, op: Int64, _ x: [Operand]) -> ([Int64], [Int]) {
        switch op {
        case 0: return linear(node, x[0])
        case 1: return conv(node, x[0])
        case 2: return add(node, x)
        case 3, 4: return pool(node, x[0], max: op == 3)
        case 5: return globalAveragePool(node, x[0])
        case 6: return (x[0].values.map { clamp(node, $0) }, reshaped(node, x[0].shape))
        case 7:
            let axis = Int(scalar(node, "axis", 1))
            return (x[0].values.map { clamp(node, $0) }, [x[0].shape[..<axis].reduce(1, *), x[0].shape[axis...].reduce(1, *)])
        case 8: return transpose(node, x[0])
        default: return concat(node, x)
        }
    }

    func linear(_ node: Int, _ x: Operand) -> ([Int64], [Int]) {
        let w = field(node, "weight")!, wShape = model["node\(node).weight"]!.shape.map { Int($0) }
        let (rows, k, n) = (x.shape[0], wShape[0], wShape[1])
        let bias = field(node, "bias") ?? [Int64](repeating: 0, count: n), wZero = scalar(node, "w_zero_point")
        var out: [Int64] = []
        for row in 0..<rows {
            for column in 0..<n {
                var sum: Int64 = 0
                for i in 0..<k { sum += (x.values[row * k + i] - x.zero) * (w[i * n + column] - wZero) }
                out.append(requantize(node, Self.wrap(Self.wrap(sum) + bias[column]), channel: column))
            }
        }
        return (out, [rows, n])
    }

    /// pads (top, left, bottom, right), strides, dilations with ONNX defaults.
    func window(_ node: Int) -> (pads: [Int], strides: [Int], dilations: [Int]) {
        ((field(node, "pads") ?? [0, 0, 0, 0]).map { Int($0) }, (field(node, "strides") ?? [1, 1]).map { Int($0) },
         (field(node, "dilations") ?? [1, 1]).map { Int($0) })
    }

    static func outputSize(_ input: Int, _ padding: Int, _ kernel: Int, _ stride: Int, _ dilation: Int) -> Int {
        (input + padding - ((kernel - 1) * dilation + 1)) / stride + 1
    }

    func conv(_ node: Int, _ x: Operand) -> ([Int64], [Int]) {
        let w = field(node, "weight")!, ws = model["node\(node).weight"]!.shape.map { Int($0) }
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (m, kh, kw) = (ws[0], ws[2], ws[3])
        let group = Int(scalar(node, "group", 1)), (pads, strides, dilations) = window(node)
        let oh = Self.outputSize(h, pads[0] + pads[2], kh, strides[0], dilations[0])
        let ow = Self.outputSize(wd, pads[1] + pads[3], kw, strides[1], dilations[1])
        let bias = field(node, "bias") ?? [Int64](repeating: 0, count: m), wZero = scalar(node, "w_zero_point")
        let cg = c / group
        var out: [Int64] = []
        for image in 0..<n {
            for filter in 0..<m {
                let g = filter / (m / group)
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var sum: Int64 = 0
                        for ch in 0..<cg {
                            for ky in 0..<kh {
                                for kx in 0..<kw {
                                    let iy = oy * strides[0] - pads[0] + ky * dilations[0]
                                    let ix = ox * strides[1] - pads[1] + kx * dilations[1]
                                    guard (0..<h).contains(iy) && (0..<wd).contains(ix) else { continue }
                                    let xv = x.values[((image * c + g * cg + ch) * h + iy) * wd + ix]
                                    sum += (xv - x.zero) * (w[((filter * cg + ch) * kh + ky) * kw + kx] - wZero)
                                }
                            }
                        }
                        out.append(requantize(node, Self.wrap(Self.wrap(sum) + bias[filter]), channel: filter))
                    }
                }
            }
        }
        return (out, [n, m, oh, ow])
    }

    func add(_ node: Int, _ x: [Operand]) -> ([Int64], [Int]) {
        let a = x[0]
        let b = x.count == 2 ? x[1].values : field(node, "b_constant")!
        let bZero = x.count == 2 ? x[1].zero : scalar(node, "b_zero_point")
        let out = a.values.indices.map { index in
            let sa = Self.divideByPowerOfTwo(
                Self.doublingHighMul((a.values[index] - a.zero) * (1 << 20), scalar(node, "a_multiplier")), scalar(node, "a_shift"))
            let sb = Self.divideByPowerOfTwo(
                Self.doublingHighMul((b[index % b.count] - bZero) * (1 << 20), scalar(node, "b_multiplier")), scalar(node, "b_shift"))
            return requantize(node, sa + sb, channel: 0)
        }
        return (out, a.shape)
    }

    func pool(_ node: Int, _ x: Operand, max isMax: Bool) -> ([Int64], [Int]) {
        let kernel = field(node, "kernel")!.map { Int($0) }, (pads, strides, dilations) = window(node)
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = Self.outputSize(h, pads[0] + pads[2], kernel[0], strides[0], dilations[0])
        let ow = Self.outputSize(w, pads[1] + pads[3], kernel[1], strides[1], dilations[1])
        var out: [Int64] = []
        for plane in 0..<(n * c) {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var taps: [Int64] = []
                    for ky in 0..<kernel[0] {
                        for kx in 0..<kernel[1] {
                            let iy = oy * strides[0] - pads[0] + ky * dilations[0]
                            let ix = ox * strides[1] - pads[1] + kx * dilations[1]
                            if (0..<h).contains(iy) && (0..<w).contains(ix) { taps.append(x.values[(plane * h + iy) * w + ix]) }
                        }
                    }
                    out.append(isMax
                        ? clamp(node, taps.max() ?? (signed ? -128 : 0))
                        : requantize(node, Self.wrap(taps.reduce(0) { $0 + $1 - x.zero }), channel: plane % c))
                }
            }
        }
        return (out, [n, c, oh, ow])
    }

    func globalAveragePool(_ node: Int, _ x: Operand) -> ([Int64], [Int]) {
        let (n, c) = (x.shape[0], x.shape[1]), size = x.shape[2] * x.shape[3]
        let out = (0..<(n * c)).map { plane in
            requantize(node, Self.wrap(x.values[plane * size..<(plane + 1) * size].reduce(0) { $0 + $1 - x.zero }), channel: plane % c)
        }
        return (out, [n, c, 1, 1])
    }

    func reshaped(_ node: Int, _ shape: [Int]) -> [Int] {
        var target = field(node, "shape")!.enumerated().map { axis, value in value == 0 ? shape[axis] : Int(value) }
        if let inferred = target.firstIndex(of: -1) {
            target[inferred] = shape.reduce(1, *) / target.filter { $0 != -1 }.reduce(1, *)
        }
        return target
    }

    func transpose(_ node: Int, _ x: Operand) -> ([Int64], [Int]) {
        let perm = field(node, "perm")!.map { Int($0) }
        let outShape = perm.map { x.shape[$0] }
        var out: [Int64] = []
        for flat in 0..<x.values.count {
            // The output index of `flat`, then the input element it takes.
            var rest = flat, index = [Int](repeating: 0, count: outShape.count)
            for axis in outShape.indices.reversed() {
                index[axis] = rest % outShape[axis]
                rest /= outShape[axis]
            }
            var source = [Int](repeating: 0, count: x.shape.count)
            for axis in perm.indices { source[perm[axis]] = index[axis] }
            let offset = source.indices.reduce(0) { $0 * x.shape[$1] + source[$1] }
            out.append(clamp(node, x.values[offset]))
        }
        return (out, outShape)
    }

    func concat(_ node: Int, _ x: [Operand]) -> ([Int64], [Int]) {
        let axis = Int(scalar(node, "axis"))
        var shape = x[0].shape
        shape[axis] = x.map { $0.shape[axis] }.reduce(0, +)
        let outer = shape[..<axis].reduce(1, *)
        var out: [Int64] = []
        for block in 0..<outer {
            for input in x {
                let chunk = input.shape[axis...].reduce(1, *)
                out += input.values[block * chunk..<(block + 1) * chunk].map { clamp(node, $0) }
            }
        }
        return (out, shape)
    }
}
