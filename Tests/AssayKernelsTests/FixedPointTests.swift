import Testing
@testable import AssayKernels

@Suite struct FixedPointTests {
    @Test func doublingHighMulSaturatesOnlyMinTimesMin() {
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(Int32.min, Int32.min) == Int32.max)
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(Int32.min, Int32.max) == Int32.min + 1)
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(Int32.max, Int32.max) == Int32.max - 1)
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(Int32.min, 1 << 30) == -(1 << 30))
    }

    @Test func doublingHighMulRoundsTiesUpward() {
        // 2^30 x 1 / 2^31 = 0.5 -> 1; -0.5 -> 0; 1.5 -> 2; -1.5 -> -1; -0.75 -> -1; 0.25 -> 0.
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(1 << 30, 1) == 1)
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(-(1 << 30), 1) == 0)
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(3 << 29, 2) == 2)
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(-(3 << 29), 2) == -1)
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(-(3 << 29), 1) == -1)
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(1 << 29, 1) == 0)
    }

    @Test func doublingHighMulIsFloorOfProductPlusHalf() {
        var random = SeededGenerator(seed: 9)
        for _ in 0..<2000 {
            let a = Int32.random(in: Int32.min...Int32.max, using: &random)
            let b = Int32.random(in: (Int32.min + 1)...Int32.max, using: &random)
            let product = Int64(a) * Int64(b) + (1 << 30)
            let floored = product >= 0 ? product / (1 << 31) : -((-product + (1 << 31) - 1) / (1 << 31))
            #expect(Int64(FixedPoint.saturatingRoundingDoublingHighMul(a, b)) == floored)
        }
    }

    @Test(arguments: [
        (Int32(-3), Int32(1), Int32(-2)), (-1, 1, -1), (-5, 2, -1), (-6, 2, -2), (-7, 2, -2), (5, 2, 1), (6, 2, 2),
        (7, 0, 7), (-7, 0, -7), (Int32.min, 31, -1), (Int32.max, 31, 1), (Int32.min, 30, -2), (-(1 << 30), 31, -1),
        ((1 << 30) - 1, 31, 0),
    ] as [(Int32, Int32, Int32)])
    func roundingDivideByPowerOfTwoRoundsHalfAwayFromZero(x: Int32, exponent: Int32, expected: Int32) {
        #expect(FixedPoint.roundingDivideByPOT(x, exponent) == expected)
    }

    @Test func requantizeClampsAndAppliesRelu() throws {
        // multiplier 2^30 halves (ties up), shift 1 halves again (ties away from zero), then + zero point 10.
        let layer = try MLPLayer(index: 0, inputWidth: 1, checks: ArrayChecks(model: try Model(arrays: [
            ("layer0.weight", try Tensor(int8: [1, 1, 1, 1], shape: [1, 4])),
            ("layer0.bias", try Tensor(int32: [0, 0, 0, 0], shape: [4])),
            ("layer0.multiplier", try Tensor(int32: [1 << 30], shape: [])),
            ("layer0.shift", try Tensor(int32: [1], shape: [])),
            ("layer0.output_zero_point", try Tensor(int8: [10], shape: [])),
            ("layer0.relu", try Tensor(uint8: [1], shape: [1])),
        ]), limits: .default))
        // 1000 -> 500 -> 250 -> 260 -> 127; -6 -> -3 -> -2 -> 8 -> relu 10; 6 -> 3 -> 2 -> 12; -1000 -> ... -> 10.
        let bytes = layer.requantize([1000, -6, 6, -1000], columns: 0..<4)
        #expect(bytes.map { Int8(bitPattern: $0) } == [127, 10, 12, 10])
    }
}
