import Testing
@testable import AssayKernels

@Suite struct HandCheckedTests {
    @Test func gemmWithZeroPoints() throws {
        // A = [[1, 2], [3, 4]] uint8, za = 1; B = [[5, 6], [7, 8]] uint8, zb = 5.
        // (A - 1) = [[0, 1], [2, 3]]; (B - 5) = [[0, 1], [2, 3]]; product = [[2, 3], [6, 11]].
        let a = try Tensor(uint8: [1, 2, 3, 4], shape: [2, 2])
        let model = try Model(arrays: [
            ("b", try Tensor(uint8: [5, 6, 7, 8], shape: [2, 2])),
            ("a_zero_point", try Tensor(uint8: [1], shape: [])),
            ("b_zero_point", try Tensor(uint8: [5], shape: [])),
        ])
        for threads in [1, 2] {
            let result = try Kernels.execute(.gemmI8, model: model, input: a, limits: .default, threads: threads)
            #expect(result.output.int32Values == [2, 3, 6, 11])
            #expect(result.output.shape == [2, 2])
            #expect(result.workUnits == 8)
        }
    }

    @Test func gemmExtremesDoNotSaturate() throws {
        // uint8 255 x int8 -128 over K = 4: -130560 per element, far past int16 pair sums (where vpmaddubsw saturates).
        let a = try Tensor(uint8: [255, 255, 255, 255], shape: [1, 4])
        let model = try Model(arrays: [("b", try Tensor(int8: [-128, -128, -128, -128], shape: [4, 1]))])
        let result = try Kernels.execute(.gemmI8, model: model, input: a, limits: .default)
        #expect(result.output.int32Values == [-130_560])
        // With zero points: (0 - 255) x (127 - (-128)) x 4 = -260100.
        let centred = try Model(arrays: [
            ("b", try Tensor(int8: [127, 127, 127, 127], shape: [4, 1])),
            ("a_zero_point", try Tensor(uint8: [255], shape: [])), ("b_zero_point", try Tensor(int8: [-128], shape: [])),
        ])
        let zeroA = try Tensor(uint8: [0, 0, 0, 0], shape: [1, 4])
        #expect(try Kernels.execute(.gemmI8, model: centred, input: zeroA, limits: .default).output.int32Values == [-260_100])
    }

    @Test func convWithPaddingStrideAndZeroPoint() throws {
        // X 1x1x3x3 = 1...9 (uint8, zx = 1), w 1x1x2x2 all 1 (zw = 0), pads 1 on every side, stride 2.
        // Centred X = 0...8; output 2x2 at padded positions (0,0), (0,2), (2,0), (2,2):
        // [0], [1 + 2], [3 + 6], [4 + 5 + 7 + 8] = [0, 3, 9, 24].
        let x = try Tensor(uint8: [1, 2, 3, 4, 5, 6, 7, 8, 9], shape: [1, 1, 3, 3])
        let model = try Model(arrays: [
            ("w", try Tensor(uint8: [1, 1, 1, 1], shape: [1, 1, 2, 2])),
            ("x_zero_point", try Tensor(uint8: [1], shape: [])),
            ("pads", try Tensor(int32: [1, 1, 1, 1], shape: [4])),
            ("strides", try Tensor(int32: [2, 2], shape: [2])),
        ])
        let result = try Kernels.execute(.conv2dI8, model: model, input: x, limits: .default)
        #expect(result.output.shape == [1, 1, 2, 2])
        #expect(result.output.int32Values == [0, 3, 9, 24])
        #expect(result.workUnits == 1 * 1 * 2 * 2 * 1 * 2 * 2)
        #expect(try Kernels.executeReference(.conv2dI8, model: model, input: x, limits: .default) == result)
    }

    @Test func mlpTwoLayers() throws {
        // Layer 0: x = [[3, -1]] (zero point 1) -> centred [2, -2]; W = [[1, 2], [3, 4]]; bias [10, 0]:
        // acc = [2 - 6 + 10, 4 - 8] = [6, -4]; multiplier 2^30 (x 1/2), shift 0: [3, -2]; zero point -1: [2, -3];
        // relu clamps at -1: [2, -1].
        // Layer 1 (input zero point -1): centred [3, 0]; W = [[5], [7]]; bias [1]: acc 16; x 1/2 = 8; shift 2: 2; zp 0.
        let model = try Model(arrays: [
            ("input_zero_point", try Tensor(int8: [1], shape: [])),
            ("layer0.weight", try Tensor(int8: [1, 2, 3, 4], shape: [2, 2])),
            ("layer0.bias", try Tensor(int32: [10, 0], shape: [2])),
            ("layer0.multiplier", try Tensor(int32: [1 << 30], shape: [])),
            ("layer0.shift", try Tensor(int32: [0], shape: [])),
            ("layer0.output_zero_point", try Tensor(int8: [-1], shape: [])),
            ("layer0.relu", try Tensor(uint8: [1], shape: [])),
            ("layer1.weight", try Tensor(int8: [5, 7], shape: [2, 1])),
            ("layer1.bias", try Tensor(int32: [1], shape: [1])),
            ("layer1.multiplier", try Tensor(int32: [1 << 30], shape: [])),
            ("layer1.shift", try Tensor(int32: [2], shape: [])),
            ("layer1.output_zero_point", try Tensor(int8: [0], shape: [])),
        ])
        let input = try Tensor(int8: [3, -1], shape: [1, 2])
        let result = try Kernels.execute(.mlpQ8, model: model, input: input, limits: .default)
        #expect(result.output.dtype == .int8)
        #expect(result.output.int32Values == [2])
        #expect(result.workUnits == 1 * 2 * 2 + 1 * 2 * 1)
    }
}
