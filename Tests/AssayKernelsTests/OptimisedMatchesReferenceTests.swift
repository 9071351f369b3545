import CKernels
import Testing
@testable import AssayKernels

/// The optimised kernels (blocked, AVX-512 VNNI or AVX2 when present, split over threads) give the reference's exact bits.
@Suite struct OptimisedMatchesReferenceTests {
    static let threadCounts = [1, 2, 4]

    func expectSame(_ kernel: KernelID, _ model: Model, _ input: Tensor) throws {
        let expected = try Kernels.executeReference(kernel, model: model, input: input, limits: .default)
        for threads in Self.threadCounts {
            let actual = try Kernels.execute(kernel, model: model, input: input, limits: .default, threads: threads)
            #expect(actual == expected, "\(kernel) threads \(threads) input \(input.shape) model \(model.names)")
        }
    }

    @Test func gemmRandomShapesAndDTypes() throws {
        var random = SeededGenerator(seed: 1)
        // Sizes around the micro-tile (6 x 16) and the depth block (256), with primes and ones.
        let sizes = [1, 2, 5, 6, 7, 13, 16, 17, 31, 37, 64, 97]
        for index in 0..<40 {
            let (m, n) = (sizes.randomElement(using: &random)!, sizes.randomElement(using: &random)!)
            let k = index % 8 == 0 ? 263 + index : sizes.randomElement(using: &random)!
            let aType: DType = Bool.random(using: &random) ? .int8 : .uint8
            let bType: DType = Bool.random(using: &random) ? .int8 : .uint8
            var arrays = [("b", try random.tensor(bType, [k, n]))]
            if Bool.random(using: &random) { arrays.append(("a_zero_point", try random.zeroPoint(aType))) }
            if Bool.random(using: &random) { arrays.append(("b_zero_point", try random.zeroPoint(bType))) }
            try expectSame(.gemmI8, try Model(arrays: arrays), try random.tensor(aType, [m, k]))
        }
    }

    @Test func gemmLargeEnoughToSplitAcrossThreads() throws {
        var random = SeededGenerator(seed: 2)
        // 67 x 300 x 131 = 2.6M MACs: above the per-thread minimum, so 2 and 4 threads really split.
        let model = try Model(arrays: [("b", try random.tensor(.uint8, [300, 131])), ("b_zero_point", try random.zeroPoint(.uint8))])
        try expectSame(.gemmI8, model, try random.tensor(.int8, [67, 300]))
        let wide = try Model(arrays: [("b", try random.tensor(.int8, [100, 1000]))])
        try expectSame(.gemmI8, wide, try random.tensor(.int8, [9, 100]))  // split over column panels
    }

    /// Every micro-kernel path this CPU runs (AVX-512 VNNI, AVX2, portable C), forced in turn, gives the reference's
    /// bits for every dtype mix: shapes around the tiles (6 x 16), odd and long K (blocks of 256), random and extreme
    /// values and zero points.
    @Test func everyPathMatchesReference() throws {
        let paths = [CK_PATH_VNNI, CK_PATH_AVX2, CK_PATH_PORTABLE].filter { ck_path_supported($0) != 0 }
        var random = SeededGenerator(seed: 6)
        let shapes = [(1, 1, 1), (7, 300, 19), (13, 5, 33), (6, 3, 16), (5, 257, 17), (12, 513, 32), (37, 7, 1)]
        for (m, k, n) in shapes {
            for (aType, bType) in [(DType.uint8, DType.uint8), (.int8, .int8), (.uint8, .int8), (.int8, .uint8)] {
                for extreme in [false, true] {
                    let a = random.bytes(m * k, extreme: extreme), b = random.bytes(k * n, extreme: extreme)
                    let aOperand = MatrixOperand(dtype: aType, zeroPoint: random.zero(aType, extreme: extreme))
                    let bOperand = MatrixOperand(dtype: bType, zeroPoint: random.zero(bType, extreme: extreme))
                    let expected = GemmCore.reference(a: a, aOperand, b: b, bOperand, m: m, n: n, k: k)
                    for path in paths {
                        for threads in [1, 2] {
                            let actual = GemmCore.optimised(
                                a: a, aOperand, b: b, bOperand, m: m, n: n, k: k, threads: threads, path: path)
                            #expect(actual == expected, "path \(path.rawValue) \(aType) x \(bType) \(m)x\(k)x\(n)")
                        }
                    }
                }
            }
        }
    }

    @Test func convRandomGeometry() throws {
        var random = SeededGenerator(seed: 3)
        for _ in 0..<24 {
            let group = [1, 1, 2, 3].randomElement(using: &random)!
            let channels = group * Int.random(in: 1...3, using: &random)
            let filters = group * Int.random(in: 1...3, using: &random)
            let (kh, kw) = (Int.random(in: 1...3, using: &random), Int.random(in: 1...3, using: &random))
            let dilations = [Int32.random(in: 1...2, using: &random), Int32.random(in: 1...2, using: &random)]
            let pads = (0..<4).map { _ in Int32.random(in: 0...2, using: &random) }
            let strides = [Int32.random(in: 1...3, using: &random), Int32.random(in: 1...3, using: &random)]
            let height = (kh - 1) * Int(dilations[0]) + 1 + Int.random(in: 0...6, using: &random)
            let width = (kw - 1) * Int(dilations[1]) + 1 + Int.random(in: 0...6, using: &random)
            let xType: DType = Bool.random(using: &random) ? .int8 : .uint8
            let wType: DType = Bool.random(using: &random) ? .int8 : .uint8
            let model = try Model(arrays: [
                ("w", try random.tensor(wType, [filters, channels / group, kh, kw])),
                ("x_zero_point", try random.zeroPoint(xType)), ("w_zero_point", try random.zeroPoint(wType)),
                ("pads", try Tensor(int32: pads, shape: [4])), ("strides", try Tensor(int32: strides, shape: [2])),
                ("dilations", try Tensor(int32: dilations, shape: [2])), ("group", try Tensor(int32: [Int32(group)], shape: [])),
            ])
            let batch = Int.random(in: 1...2, using: &random)
            try expectSame(.conv2dI8, model, try random.tensor(xType, [batch, channels, height, width]))
        }
    }

    @Test func convLargeEnoughToSplitAcrossThreads() throws {
        var random = SeededGenerator(seed: 4)
        let model = try Model(arrays: [
            ("w", try random.tensor(.uint8, [8, 8, 3, 3])), ("pads", try Tensor(int32: [1, 1, 1, 1], shape: [4])),
            ("x_zero_point", try random.zeroPoint(.uint8)),
        ])
        // 8 filters x 70 x 69 pixels x 72 = 2.8M MACs: the product splits four ways over columns and the
        // 72 x 4830 lowering splits over rows.
        try expectSame(.conv2dI8, model, try random.tensor(.uint8, [1, 8, 70, 69]))
    }

    @Test func mlpRandomLayers() throws {
        var random = SeededGenerator(seed: 5)
        for _ in 0..<8 {
            let widths = (0...Int.random(in: 1...3, using: &random)).map { _ in Int.random(in: 1...40, using: &random) }
            let batch = Int.random(in: 1...9, using: &random)
            try expectSame(.mlpQ8, try MLPModels.random(widths: widths, using: &random), try random.tensor(.int8, [batch, widths[0]]))
        }
    }
}

enum MLPModels {
    static func random(widths: [Int], using random: inout SeededGenerator) throws -> Model {
        var arrays: [(String, Tensor)] = [("input_zero_point", try random.zeroPoint(.int8))]
        for layer in 0..<(widths.count - 1) {
            let name = { (field: String) in "layer\(layer).\(field)" }
            let bias = (0..<widths[layer + 1]).map { _ in Int32.random(in: -5000...5000, using: &random) }
            arrays += [
                (name("weight"), try random.tensor(.int8, [widths[layer], widths[layer + 1]])),
                (name("bias"), try Tensor(int32: bias, shape: [UInt64(widths[layer + 1])])),
                (name("multiplier"), try Tensor(int32: [Int32.random(in: (1 << 30)...Int32.max, using: &random)], shape: [])),
                (name("shift"), try Tensor(int32: [Int32.random(in: 4...12, using: &random)], shape: [])),
                (name("output_zero_point"), try random.zeroPoint(.int8)),
                (name("relu"), try Tensor(uint8: [UInt8.random(in: 0...1, using: &random)], shape: [])),
            ]
        }
        return try Model(arrays: arrays)
    }
}
