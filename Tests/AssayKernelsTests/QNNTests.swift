import AssayCodec
import Testing
@testable import AssayKernels

@Suite struct QNNTests {
    let limits = KernelLimits.default

    @Test func randomGraphsOfEveryLayerMatchTheReferenceBitForBit() throws {
        var kinds = Set<UInt8>()
        for seed in UInt64(0)..<160 {
            var generator = try QNNGraphGenerator(seed: 7000 + seed)
            let (model, input, ops) = try generator.make()
            kinds.formUnion(ops)
            let expected = QNNReference(model: model, dtype: input.dtype).run(input)
            let oracle = try QNN.executeReference(model: model, input: input, limits: limits)
            #expect(oracle.layers.count == ops.count, "seed \(seed)")
            for (layer, (values, shape)) in zip(oracle.layers, expected) {
                #expect(layer.shape == shape.map { UInt64($0) }, "seed \(seed)")
                #expect(layer.int32Values.map { Int64($0) } == values, "seed \(seed)")
            }
            for threads in [1, 2] {
                #expect(try QNN.execute(model: model, input: input, limits: limits, threads: threads) == oracle, "seed \(seed)")
            }
            #expect(oracle.layerWorkUnits.reduce(0, +) == oracle.workUnits)
            #expect(try QNN.cost(model: model, input: input.spec, limits: limits) == oracle.workUnits)
        }
        #expect(kinds == Set(0...9), "every layer kind was drawn")
    }

    /// qnn/1 in the catalogue: `Kernels` runs, meters and references it exactly as `QNN` and the int64 reference do.
    @Test func theCatalogueRunsQNNAsQNNDoes() throws {
        #expect(try KernelID("qnn/1") == .qnn)
        #expect(KernelID.catalogue == KernelID.catalogue.sorted() && KernelID.catalogue.contains(.qnn))
        for seed in UInt64(0)..<40 {
            var generator = try QNNGraphGenerator(seed: 8000 + seed)
            let (model, input, _) = try generator.make()
            let expected = QNNReference(model: model, dtype: input.dtype).run(input).last!
            let direct = try QNN.execute(model: model, input: input, limits: limits)
            for threads in [1, 2] {
                let output = try Kernels.execute(.qnn, model: model, input: input, limits: limits, threads: threads)
                #expect(output == KernelOutput(output: direct.output, workUnits: direct.workUnits), "seed \(seed)")
            }
            let reference = try Kernels.executeReference(.qnn, model: model, input: input, limits: limits)
            #expect(reference.output.int32Values.map { Int64($0) } == expected.values, "seed \(seed)")
            #expect(reference.output.shape == expected.shape.map { UInt64($0) }, "seed \(seed)")
            #expect(try Kernels.cost(.qnn, model: model, input: input, limits: limits) == direct.workUnits)
        }
    }

    @Test func theModelIsItsCanonicalBytes() throws {
        var generator = try QNNGraphGenerator(seed: 42)
        let (model, input, _) = try generator.make()
        let decoded = try Model(canonicalBytes: model.canonicalBytes)
        #expect(decoded == model)
        #expect(try QNN.execute(model: decoded, input: input, limits: limits) == QNN.execute(model: model, input: input, limits: limits))
        #expect(throws: CodecError.self) { try Model(canonicalBytes: Array(model.canonicalBytes.dropLast())) }
    }

    /// The digits CNN's shape (Tools/models/README.md): conv, conv, max pool, conv, global average pool, reshape,
    /// linear, add of the bias constant.
    func digitsShapedModel(_ dtype: DType = .uint8) throws -> Model {
        var graph = try QNNGraphBuilder(dtype: dtype, inputShape: [1, 1, 8, 8], inputZeroPoint: 0)
        var tensor = 0
        for (channels, filters) in [(1, 8), (8, 16)] {
            tensor = try graph.node(1, [tensor], shape: [1, filters, 8, 8], zeroPoint: 0, try convFields(graph, channels, filters))
        }
        tensor = try graph.node(3, [tensor], shape: [1, 16, 4, 4], zeroPoint: 0, [
            ("kernel", try int32s([2, 2])), ("strides", try int32s([2, 2])),
        ])
        tensor = try graph.node(1, [tensor], shape: [1, 32, 4, 4], zeroPoint: 0, try convFields(graph, 16, 32))
        tensor = try graph.node(5, [tensor], shape: [1, 32, 1, 1], zeroPoint: 3, try scaleFields(graph, zeroPoint: 3))
        tensor = try graph.node(6, [tensor], shape: [1, 32], zeroPoint: 3, [("shape", try int32s([0, -1]))])
        tensor = try graph.node(0, [tensor], shape: [1, 10], zeroPoint: 128, try scaleFields(graph, zeroPoint: 128) + [
            ("weight", try Tensor(int8: [Int8](repeating: 1, count: 320), shape: [32, 10])),
        ])
        try graph.node(2, [tensor], shape: [1, 10], zeroPoint: 128, try scaleFields(graph, zeroPoint: 128, shift: 20) + [
            ("a_multiplier", try int32Scalar(1 << 30)), ("a_shift", try int32Scalar(0)),
            ("b_multiplier", try int32Scalar(1 << 30)), ("b_shift", try int32Scalar(0)),
            ("b_constant", try graph.activation(Array(0..<10), shape: [10])),
        ])
        return try graph.model()
    }

    func scaleFields(_ graph: QNNGraphBuilder, zeroPoint: Int32, shift: Int32 = 8) throws -> [(String, Tensor)] {
        [("multiplier", try int32Scalar(1 << 30)), ("shift", try int32Scalar(shift)),
         ("output_zero_point", try graph.activation([zeroPoint], shape: []))]
    }

    func convFields(_ graph: QNNGraphBuilder, _ channels: Int, _ filters: Int) throws -> [(String, Tensor)] {
        try scaleFields(graph, zeroPoint: 0) + [
            ("weight", try Tensor(int8: [Int8](repeating: 1, count: filters * channels * 9), shape: [UInt64(filters), UInt64(channels), 3, 3])),
            ("pads", try int32s([1, 1, 1, 1])), ("bias", try int32s([Int32](repeating: 5, count: filters))),
        ]
    }

    @Test func workUnitsFollowTheDocumentedFormulas() throws {
        let model = try digitsShapedModel()
        let input = TensorSpec(dtype: .uint8, shape: [1, 1, 8, 8])
        // conv 8x8x8x(1x3x3), conv 16x8x8x(8x3x3), max pool 16x4x4 outputs x 2x2, conv 32x4x4x(16x3x3),
        // global average pool 16x... inputs (32x4x4), reshape 32 outputs, linear 32x10, add 10 outputs.
        let layers: [UInt64] = [4608, 73728, 1024, 73728, 512, 32, 320, 10]
        #expect(try QNN.cost(model: model, input: input, limits: limits) == layers.reduce(0, +))
        let result = try QNN.execute(model: model, input: try Tensor(uint8: [UInt8](repeating: 255, count: 64), shape: [1, 1, 8, 8]), limits: limits)
        #expect(result.layerWorkUnits == layers)
        #expect(try QNN.layerSpecs(model: model, input: input, limits: limits).map(\.shape)
            == [[1, 8, 8, 8], [1, 16, 8, 8], [1, 16, 4, 4], [1, 32, 4, 4], [1, 32, 1, 1], [1, 32], [1, 10], [1, 10]])
        #expect(result.output.dtype == .uint8 && result.output.shape == [1, 10])
    }

    // MARK: Rounding, checked by hand from docs/kernels.md.

    func single(_ op: UInt8, dtype: DType, input: [Int32], shape: [Int], outShape: [Int], zeroPoint: Int32 = 0, _ fields: (QNNGraphBuilder) throws -> [(String, Tensor)]) throws -> [Int32] {
        var graph = try QNNGraphBuilder(dtype: dtype, inputShape: shape, inputZeroPoint: 0)
        try graph.node(op, [0], shape: outShape, zeroPoint: zeroPoint, try fields(graph))
        let x = try graph.activation(input, shape: shape)
        return try QNN.execute(model: try graph.model(), input: x, limits: limits).output.int32Values
    }

    @Test func addRoundsLikeTFLite() throws {
        // Halves of the inputs (each shifted left by 20), summed, halved, divided by 2^20: (a + b) / 4 rounded, ties
        // upward at the first step (exact here) and away from zero at the last.
        let out = try single(2, dtype: .int8, input: [3, -3, 1, 2, -2, 127], shape: [6], outShape: [6]) { graph in
            [("a_multiplier", try int32Scalar(1 << 30)), ("a_shift", try int32Scalar(0)),
             ("b_multiplier", try int32Scalar(1 << 30)), ("b_shift", try int32Scalar(0)),
             ("multiplier", try int32Scalar(1 << 30)), ("shift", try int32Scalar(20)),
             ("output_zero_point", try graph.activation([0], shape: [])),
             ("b_constant", try graph.activation([4], shape: []))]
        }
        // (3+4)/4 = 1.75 -> 2; (-3+4)/4 = 0.25 -> 0; 1.25 -> 1; 1.5 -> 2; 0.5 -> 1; 131/4 = 32.75 -> 33.
        #expect(out == [2, 0, 1, 2, 1, 33])
    }

    @Test func averagePoolsRoundTheSumTimesTheScale() throws {
        // Global average: sum x multiplier (0.5, ties upward) then shift 1 (ties away from zero): sum / 4.
        let gap = try single(5, dtype: .int8, input: [1, 2, 3, 5, -1, -2, -3, -4], shape: [1, 2, 2, 2], outShape: [1, 2, 1, 1], zeroPoint: 10) { graph in
            [("multiplier", try int32Scalar(1 << 30)), ("shift", try int32Scalar(1)), ("output_zero_point", try graph.activation([10], shape: []))]
        }
        // 11 / 4 = 2.75 -> 3; -10 / 4 = -2.5 -> -3 (then + 10).
        #expect(gap == [13, 7])
        // 2x2 windows over a padded 1x1 input: the padding adds nothing and the divisor stays in the multiplier.
        let pooled = try single(4, dtype: .uint8, input: [7], shape: [1, 1, 1, 1], outShape: [1, 1, 2, 2]) { graph in
            [("kernel", try int32s([2, 2])), ("pads", try int32s([1, 1, 1, 1])),
             ("multiplier", try int32Scalar(1 << 30)), ("shift", try int32Scalar(1)), ("output_zero_point", try graph.activation([0], shape: []))]
        }
        // Each window holds the one element and three padded positions: 7 / 4 = 1.75 -> 2.
        #expect(pooled == [2, 2, 2, 2])
    }

    @Test func aMaxPoolWindowWhollyInThePaddingGivesTheLowestValueThenTheClamp() throws {
        // Height 1, kernel 2 with dilation 5 and pads 3 (top) and 2 (bottom): the taps at rows -3 and 2 miss the input.
        let fields: (QNNGraphBuilder) throws -> [(String, Tensor)] = { _ in
            [("kernel", try int32s([2, 1])), ("dilations", try int32s([5, 1])), ("pads", try int32s([3, 0, 2, 0]))]
        }
        #expect(try single(3, dtype: .int8, input: [5], shape: [1, 1, 1, 1], outShape: [1, 1, 1, 1], fields) == [-128])
        let clamped = try single(3, dtype: .int8, input: [5], shape: [1, 1, 1, 1], outShape: [1, 1, 1, 1]) { graph in
            try fields(graph) + [("clamp", try graph.activation([-10, 10], shape: [2]))]
        }
        #expect(clamped == [-10])
    }

    // MARK: Bad models are refused with an error, never a crash.

    /// A one-linear-layer model over input [2, 3] int8, with `change` applied to its arrays.
    func linearModel(_ change: (inout [(String, Tensor)]) throws -> Void = { _ in }) throws -> Model {
        var arrays: [(String, Tensor)] = [
            ("node0.op", try Tensor(uint8: [0], shape: [])), ("node0.inputs", try int32s([0])),
            ("node0.weight", try Tensor(int8: [1, 2, 3, 4, 5, 6], shape: [3, 2])),
            ("node0.multiplier", try int32Scalar(1 << 30)), ("node0.shift", try int32Scalar(2)),
            ("node0.output_zero_point", try Tensor(int8: [0], shape: [])),
        ]
        try change(&arrays)
        return try Model(arrays: arrays)
    }

    func replacing(_ name: String, with tensor: Tensor) -> (inout [(String, Tensor)]) throws -> Void {
        { arrays in arrays = arrays.filter { $0.0 != name } + [(name, tensor)] }
    }

    func refusal(_ model: Model, input: TensorSpec = TensorSpec(dtype: .int8, shape: [2, 3]), limits: KernelLimits = .default) -> KernelError? {
        do {
            _ = try QNN.cost(model: model, input: input, limits: limits)
            return nil
        } catch { return error }
    }

    @Test func aValidModelRuns() throws {
        let x = try Tensor(int8: [1, 1, 1, -1, -1, -1], shape: [2, 3])
        // (9, 12) / 8 and (-9, -12) / 8: 9 x 0.5 -> 5 (ties upward), 5 / 4 -> 1; 12 -> 6 -> 2 (ties away from zero).
        #expect(try QNN.execute(model: try linearModel(), input: x, limits: limits).output.int32Values == [1, 2, -1, -2])
    }

    @Test func shapesThatDoNotChainAreRefused() throws {
        let wide = try linearModel(replacing("node0.weight", with: try Tensor(int8: [1, 2, 3, 4], shape: [4, 1])))
        #expect(refusal(wide) == .shapeMismatch("'node0.weight' has 4 rows; the input has 3 features"))
        #expect(refusal(try linearModel(), input: TensorSpec(dtype: .int8, shape: [2, 3, 1])) != nil)
        let conv = try linearModel(replacing("node0.op", with: try Tensor(uint8: [1], shape: [])))
        #expect(refusal(conv) == .shapeMismatch("node0's input must have rank 4 (conv [N, C, H, W]), has shape [2, 3]"))
        let reshape = try linearModel { arrays in
            arrays += [("node1.op", try Tensor(uint8: [6], shape: [])), ("node1.inputs", try int32s([1])), ("node1.shape", try int32s([3, -1]))]
        }
        #expect(refusal(reshape) == .shapeMismatch("'node1.shape' [3, -1] cannot hold the input's 4 elements"))
    }

    @Test func cyclesAndIndicesOutOfRangeAreRefused() throws {
        for inputs: [Int32] in [[1], [5], [-1], [0, 1]] {
            let model = try linearModel(replacing("node0.inputs", with: try int32s(inputs)))
            guard case let .invalidModel(reason) = refusal(model) else {
                Issue.record("inputs \(inputs) were not refused as an invalid model")
                continue
            }
            #expect(reason.contains("no cycle") || reason.contains("takes"), "\(reason)")
        }
        // Node 1 reads itself.
        let loop = try linearModel { arrays in
            arrays += [("node1.op", try Tensor(uint8: [8], shape: [])), ("node1.inputs", try int32s([2])), ("node1.perm", try int32s([1, 0]))]
        }
        #expect(refusal(loop) == .invalidModel(
            "'node1.inputs' names tensor 2; node 1 may read only tensors 0...1 (the input and earlier nodes' outputs), so that the graph has no cycle"))
    }

    @Test func absurdSizesAreRefusedFromShapesAlone() throws {
        let huge = TensorSpec(dtype: .int8, shape: [1 << 40, 3])
        #expect(refusal(try linearModel(), input: huge) == .limitExceeded(what: "a dimension of 'input'", value: 1 << 40, limit: 1 << 20))
        let reshape = try linearModel { arrays in
            arrays += [("node1.op", try Tensor(uint8: [6], shape: [])), ("node1.inputs", try int32s([1])),
                       ("node1.shape", try int32s([1 << 20, 1 << 20, 1 << 20, -1]))]
        }
        #expect(refusal(reshape) == .shapeMismatch("'node1.shape' [1048576, 1048576, 1048576, -1] cannot hold the input's 4 elements"))
        let overflow = try linearModel { arrays in
            arrays += [("node1.op", try Tensor(uint8: [6], shape: [])), ("node1.inputs", try int32s([1])),
                       ("node1.shape", try int32s([Int32.max, Int32.max, Int32.max, Int32.max]))]
        }
        #expect(refusal(overflow, limits: KernelLimits(maxWorkUnits: 1 << 34, maxElements: 1 << 26, maxDimension: 1 << 40, maxRank: 8, maxLayers: 64))
            == .limitExceeded(what: "elements of 'node1.shape'", value: UInt64.max, limit: UInt64.max))
        var pool = try QNNGraphBuilder(dtype: .uint8, inputShape: [1, 1, 1, 1], inputZeroPoint: 0)
        try pool.node(3, [0], shape: [], zeroPoint: 0, [("kernel", try int32s([1, 1])), ("pads", try int32s([100_000, 100_000, 100_000, 100_000]))])
        #expect(refusal(try pool.model(), input: TensorSpec(dtype: .uint8, shape: [1, 1, 1, 1]))
            == .limitExceeded(what: "elements of 'node0.output'", value: 200_001 * 200_001, limit: 1 << 26))
        var tight = KernelLimits.default
        tight.maxWorkUnits = 11
        #expect(refusal(try linearModel(), limits: tight) == .limitExceeded(what: "work units", value: 12, limit: 11))
        tight = .default
        tight.maxLayers = 0
        #expect(refusal(try linearModel(), limits: tight) == .limitExceeded(what: "layers", value: 1, limit: 0))
    }

    @Test func malformedArraysAreRefused() throws {
        let cases: [((inout [(String, Tensor)]) throws -> Void, KernelError)] = [
            (replacing("node0.op", with: try Tensor(uint8: [12], shape: [])), .invalidAttribute("'node0.op' is 12, not a layer kind (0...9)")),
            (replacing("node0.shift", with: try int32Scalar(32)), .invalidAttribute("'node0.shift' holds 32, must be in 0...31")),
            (replacing("node0.multiplier", with: try int32s([1, 2, 3])),
             .shapeMismatch("'node0.multiplier' must be a scalar or have shape [2], has shape [3]")),
            (replacing("node0.output_zero_point", with: try Tensor(uint8: [0], shape: [])),
             .wrongDType(name: "node0.output_zero_point", expected: "int8", actual: .uint8)),
            (replacing("node0.clamp", with: try Tensor(int8: [5, -5], shape: [2])),
             .invalidAttribute("'node0.clamp' is [5, -5]: the lower bound is above the upper")),
            ({ $0.removeAll { $0.0 == "node0.multiplier" } }, .missingArray("node0.multiplier")),
            ({ $0 += [("node0.kernel", try int32s([1, 1]))] }, .invalidModel("unexpected array 'node0.kernel'")),
            ({ $0 += [("node2.op", try Tensor(uint8: [0], shape: []))] }, .invalidModel("unexpected array 'node2.op'")),
            ({ $0.removeAll { $0.0.hasPrefix("node0.") } }, .missingArray("node0.op")),
        ]
        for (change, error) in cases {
            #expect(refusal(try linearModel(change)) == error)
        }
        #expect(refusal(try linearModel(), input: TensorSpec(dtype: .int32, shape: [2, 3]))
            == .wrongDType(name: "input", expected: "int8 or uint8", actual: .int32))
    }

    @Test func addAndConcatOperandsMustAgree() throws {
        var graph = try QNNGraphBuilder(dtype: .int8, inputShape: [2, 3], inputZeroPoint: 0)
        let transposed = try graph.node(8, [0], shape: [3, 2], zeroPoint: 0, [("perm", try int32s([1, 0]))])
        let scales = [("a_multiplier", try int32Scalar(1 << 30)), ("a_shift", try int32Scalar(0)),
                      ("b_multiplier", try int32Scalar(1 << 30)), ("b_shift", try int32Scalar(0)),
                      ("multiplier", try int32Scalar(1 << 30)), ("shift", try int32Scalar(20)),
                      ("output_zero_point", try Tensor(int8: [0], shape: []))]
        var add = graph
        try add.node(2, [0, transposed], shape: [2, 3], zeroPoint: 0, scales)
        #expect(refusal(try add.model()) == .shapeMismatch("node1 adds [2, 3] to [3, 2]; they must be equal"))
        var constant = graph
        try constant.node(2, [0], shape: [2, 3], zeroPoint: 0, scales + [("b_constant", try Tensor(int8: [1, 2], shape: [2]))])
        #expect(refusal(try constant.model()) == .shapeMismatch("'node1.b_constant' [2] must be a trailing part of the input's shape [2, 3]"))
        var requantized = graph
        let shifted = try requantized.node(6, [0], shape: [6], zeroPoint: 0, [("shape", try int32s([-1]))])
        try requantized.node(0, [0], shape: [2, 1], zeroPoint: 4, [
            ("weight", try Tensor(int8: [1, 1, 1], shape: [3, 1])), ("multiplier", try int32Scalar(1 << 30)),
            ("shift", try int32Scalar(0)), ("output_zero_point", try Tensor(int8: [4], shape: [])),
        ])
        try requantized.node(9, [0, 3], shape: [2, 4], zeroPoint: 0, [("axis", try int32Scalar(1))])
        #expect(shifted == 2)
        #expect(refusal(try requantized.model()) == .invalidModel("'node3.inputs': concatenated tensors must share one zero point (0 and 4)"))
    }
}
