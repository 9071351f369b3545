/// `gemm-i8/1`, ONNX `MatMulInteger`: input A [M,K] and model array `b` [K,N], each int8 or uint8, optional scalar
/// zero points `a_zero_point` (A's dtype) and `b_zero_point` (b's dtype); output int32 [M,N] =
/// sum over k of (A[m,k] - a_zero_point) * (b[k,n] - b_zero_point), modulo 2^32. Work units: M x N x K.
struct GemmPlan: KernelPlan, Sendable {
    static let arrayNames: Set<String> = ["b", "a_zero_point", "b_zero_point"]

    let a: MatrixOperand
    let b: MatrixOperand
    let m: Int, k: Int, n: Int
    let workUnits: UInt64

    init(model: Model, input: TensorSpec, limits: KernelLimits) throws(KernelError) {
        let checks = ArrayChecks(model: model, limits: limits)
        try checks.rejectUnknownArrays { GemmPlan.arrayNames.contains($0) }
        let bTensor = try checks.required("b")
        let aShape = try checks.dimensions(of: input, named: ArrayChecks.inputName, rank: 2, dtypes: [.int8, .uint8])
        let bShape = try checks.dimensions(of: bTensor, named: "b", rank: 2, dtypes: [.int8, .uint8])
        guard aShape[1] == bShape[0] else {
            throw .shapeMismatch("A is \(aShape[0])x\(aShape[1]) and b is \(bShape[0])x\(bShape[1]): A's columns must equal b's rows")
        }
        (m, k, n) = (aShape[0], aShape[1], bShape[1])
        try checks.checkElements(ArrayChecks.product([m, n], what: "output elements"), what: "output elements")
        workUnits = try ArrayChecks.product([m, n, k], what: "work units")
        try checks.checkWork(workUnits)
        let aZero = try checks.scalar("a_zero_point", dtypes: [input.dtype], default: 0)
        let bZero = try checks.scalar("b_zero_point", dtypes: [bTensor.dtype], default: 0)
        a = MatrixOperand(dtype: input.dtype, zeroPoint: aZero)
        b = MatrixOperand(dtype: bTensor.dtype, zeroPoint: bZero)
    }

    func run(model: Model, input: Tensor, implementation: Implementation) -> KernelOutput {
        let bData = model["b"]!.data
        let output: Tensor
        switch implementation {
        case .reference:
            output = Tensor.int32Unchecked(GemmCore.reference(a: input.data, a, b: bData, b, m: m, n: n, k: k), shape: [m, n])
        case let .optimised(threads):
            output = Tensor.int32Output(shape: [m, n]) { c in
                GemmCore.optimised(a: input.data, a, b: bData, b, m: m, n: n, k: k, threads: threads, into: c)
            }
        }
        return KernelOutput(output: output, workUnits: workUnits)
    }
}

/// How to read one operand of an integer matrix product: its element type and the zero point subtracted.
struct MatrixOperand: Sendable {
    let dtype: DType
    let zeroPoint: Int32

    var isSigned: Bool { dtype == .int8 }

    /// The element at `index` minus the zero point, exactly (in -255...255).
    func centred(_ bytes: [UInt8], _ index: Int) -> Int32 {
        (isSigned ? Int32(Int8(bitPattern: bytes[index])) : Int32(bytes[index])) - zeroPoint
    }
}

extension Tensor {
    /// Builds an int32 tensor whose shape the caller has already validated.
    static func int32Unchecked(_ values: [Int32], shape: [Int]) -> Tensor {
        // Validated plans produce exactly product(shape) values; a failure here is a bug in the kernel.
        try! Tensor(int32: values, shape: shape.map { UInt64($0) })
    }

    /// An int32 tensor of a validated shape whose elements `fill` writes straight into the tensor's bytes (saving a
    /// copy of large outputs); `fill` must write every element.
    static func int32Output(shape: [Int], fill: (UnsafeMutablePointer<Int32>) -> Void) -> Tensor {
        let count = shape.reduce(1, *)
        let bytes = [UInt8](unsafeUninitializedCapacity: count * 4) { buffer, initialized in
            if count > 0, let base = buffer.baseAddress {
                // Array storage is allocated with at least 16-byte alignment.
                precondition(Int(bitPattern: base) % MemoryLayout<Int32>.alignment == 0)
                let values = UnsafeMutableRawPointer(base).bindMemory(to: Int32.self, capacity: count)
                fill(values)
                #if _endian(big)
                for index in 0..<count { values[index] = values[index].littleEndian }
                #endif
            }
            initialized = count * 4
        }
        return try! Tensor(dtype: .int32, shape: shape.map { UInt64($0) }, data: bytes)
    }
}
