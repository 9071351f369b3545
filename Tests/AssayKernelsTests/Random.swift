@testable import AssayKernels

/// A seeded generator: every test run draws the same cases, so a failure reproduces.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Random elements, a quarter of them at the dtype's extremes (or zero) to reach the edges of the arithmetic.
    mutating func tensor(_ dtype: DType, _ shape: [Int]) throws -> Tensor {
        let count = shape.reduce(1, *)
        let extremes: [UInt8] = dtype == .int8 ? [0x80, 0x7f, 0] : [0, 255]
        let bytes = (0..<count).map { _ in
            Int.random(in: 0..<4, using: &self) == 0 ? extremes.randomElement(using: &self)! : UInt8.random(in: 0...255, using: &self)
        }
        return try Tensor(dtype: dtype, shape: shape.map { UInt64($0) }, data: bytes)
    }

    /// A zero point valid for `dtype` (any value of the type), as a scalar tensor.
    mutating func zeroPoint(_ dtype: DType) throws -> Tensor {
        try Tensor(dtype: dtype, shape: [], data: [UInt8.random(in: 0...255, using: &self)])
    }

    /// Random bytes, or (extreme) only bytes that are 8-bit extremes as uint8 or int8: 0, 255, 128 (-128), 127.
    mutating func bytes(_ count: Int, extreme: Bool) -> [UInt8] {
        (0..<count).map { _ in extreme ? [0, 255, 128, 127].randomElement(using: &self)! : UInt8.random(in: 0...255, using: &self) }
    }

    /// A zero point valid for `dtype`, or (extreme) one of the type's two extremes.
    mutating func zero(_ dtype: DType, extreme: Bool) -> Int32 {
        let range: ClosedRange<Int32> = dtype == .int8 ? -128...127 : 0...255
        return extreme ? [range.lowerBound, range.upperBound].randomElement(using: &self)! : Int32.random(in: range, using: &self)
    }
}
