import Testing
@testable import AssayKernels

@Suite struct ValidationTests {
    let limits = KernelLimits.default

    func gemmModel(_ b: Tensor, _ extra: [(String, Tensor)] = []) throws -> Model { try Model(arrays: [("b", b)] + extra) }

    @Test func gemmShapeMismatchIsAClearError() throws {
        let model = try gemmModel(try Tensor(uint8: [UInt8](repeating: 0, count: 6), shape: [3, 2]))
        let a = try Tensor(uint8: [UInt8](repeating: 0, count: 4), shape: [2, 2])
        #expect(throws: KernelError.shapeMismatch("A is 2x2 and b is 3x2: A's columns must equal b's rows")) {
            try Kernels.execute(.gemmI8, model: model, input: a, limits: limits)
        }
    }

    @Test func workAndSizeLimitsAreCheckedBeforeRunning() throws {
        let model = try gemmModel(try Tensor(uint8: [UInt8](repeating: 0, count: 64), shape: [8, 8]))
        let a = try Tensor(uint8: [UInt8](repeating: 0, count: 64), shape: [8, 8])
        var tight = limits
        tight.maxWorkUnits = 511
        #expect(throws: KernelError.limitExceeded(what: "work units", value: 512, limit: 511)) {
            try Kernels.cost(.gemmI8, model: model, input: a, limits: tight)
        }
        #expect(try Kernels.cost(.gemmI8, model: model, input: a, limits: limits) == 512)
        var narrow = limits
        narrow.maxDimension = 7
        #expect(throws: KernelError.self) { try Kernels.execute(.gemmI8, model: model, input: a, limits: narrow) }
        // A convolution whose output would be huge is refused from its shapes alone.
        let x = try Tensor(uint8: [0], shape: [1, 1, 1, 1])
        let conv = try Model(arrays: [
            ("w", try Tensor(uint8: [0], shape: [1, 1, 1, 1])), ("pads", try Tensor(int32: [100_000, 100_000, 100_000, 100_000], shape: [4])),
        ])
        #expect(throws: KernelError.limitExceeded(what: "output elements", value: 200_001 * 200_001, limit: limits.maxElements)) {
            try Kernels.cost(.conv2dI8, model: conv, input: x, limits: limits)
        }
    }

    @Test func wrongDTypesAndStrayArraysAreRefused() throws {
        let b = try Tensor(uint8: [1], shape: [1, 1])
        let a = try Tensor(uint8: [1], shape: [1, 1])
        #expect(throws: KernelError.wrongDType(name: "a_zero_point", expected: "uint8", actual: .int8)) {
            try Kernels.execute(.gemmI8, model: try gemmModel(b, [("a_zero_point", try Tensor(int8: [0], shape: []))]), input: a, limits: limits)
        }
        #expect(throws: KernelError.invalidModel("unexpected array 'bias'")) {
            try Kernels.execute(.gemmI8, model: try gemmModel(b, [("bias", try Tensor(int32: [0], shape: [1]))]), input: a, limits: limits)
        }
        #expect(throws: KernelError.missingArray("b")) {
            try Kernels.execute(.gemmI8, model: try Model([]), input: a, limits: limits)
        }
        #expect(throws: KernelError.self) {
            try Kernels.execute(.gemmI8, model: try gemmModel(b), input: try Tensor(int32: [1], shape: [1, 1]), limits: limits)
        }
    }

    @Test func convAttributesAreChecked() throws {
        let x = try Tensor(uint8: [UInt8](repeating: 0, count: 16), shape: [1, 2, 2, 4])
        func conv(_ arrays: [(String, Tensor)]) throws -> UInt64 {
            try Kernels.cost(.conv2dI8, model: try Model(arrays: arrays), input: x, limits: limits)
        }
        let w = try Tensor(uint8: [0, 0, 0, 0], shape: [2, 1, 1, 2])
        #expect(try conv([("w", w), ("group", try Tensor(int32: [2], shape: []))]) == 1 * 2 * 2 * 3 * 1 * 1 * 2)
        #expect(throws: KernelError.self) { try conv([("w", w)]) }  // group 1 needs 2 input channels per filter
        #expect(throws: KernelError.self) { try conv([("w", w), ("group", try Tensor(int32: [3], shape: []))]) }
        #expect(throws: KernelError.self) { try conv([("w", w), ("group", try Tensor(int32: [2], shape: [])), ("strides", try Tensor(int32: [0, 1], shape: [2]))]) }
        #expect(throws: KernelError.self) { try conv([("w", w), ("group", try Tensor(int32: [2], shape: [])), ("pads", try Tensor(int32: [-1, 0, 0, 0], shape: [4]))]) }
        let tall = try Tensor(uint8: [UInt8](repeating: 0, count: 6), shape: [2, 1, 3, 1])
        #expect(throws: KernelError.shapeMismatch("dilated kernel height 3 exceeds padded input height 2")) {
            try conv([("w", tall), ("group", try Tensor(int32: [2], shape: []))])
        }
    }

    @Test func mlpRequiresEveryLayerArrayAndValidAttributes() throws {
        var random = SeededGenerator(seed: 11)
        let model = try MLPModels.random(widths: [3, 2], using: &random)
        let input = try random.tensor(.int8, [1, 3])
        #expect(try Kernels.cost(.mlpQ8, model: model, input: input, limits: limits) == 6)
        let withoutBias = try Model(model.tensors.filter { $0.name != "layer0.bias" })
        #expect(throws: KernelError.missingArray("layer0.bias")) { try Kernels.cost(.mlpQ8, model: withoutBias, input: input, limits: limits) }
        let badShift = try Model(model.tensors.filter { $0.name != "layer0.shift" } + [try NamedTensor(name: "layer0.shift", tensor: try Tensor(int32: [32], shape: []))])
        #expect(throws: KernelError.self) { try Kernels.cost(.mlpQ8, model: badShift, input: input, limits: limits) }
        let stray = try Model(model.tensors + [try NamedTensor(name: "layer2.weight", tensor: try Tensor(int8: [0], shape: [1, 1]))])
        #expect(throws: KernelError.invalidModel("unexpected array 'layer2.weight'")) { try Kernels.cost(.mlpQ8, model: stray, input: input, limits: limits) }
    }
}
