/// Shared validation of a kernel's input and model arrays against the kernel's rules and the limits.
struct ArrayChecks {
    let model: Model
    let limits: KernelLimits

    /// The name errors use for the kernel's input tensor.
    static let inputName = "input"

    /// Refuses any array the kernel does not read, so that a model means exactly one thing.
    func rejectUnknownArrays(allowed: (String) -> Bool) throws(KernelError) {
        if let stray = model.names.first(where: { !allowed($0) }) {
            throw .invalidModel("unexpected array '\(stray)'")
        }
    }

    func required(_ name: String) throws(KernelError) -> Tensor {
        guard let tensor = model[name] else { throw .missingArray(name) }
        return tensor
    }

    func dimensions(of tensor: Tensor, named name: String, rank: Int, dtypes: [DType]) throws(KernelError) -> [Int] {
        try dimensions(of: tensor.spec, named: name, rank: rank, dtypes: dtypes)
    }

    /// Checks dtype, rank and every dimension against the limits; returns the shape as Ints.
    func dimensions(
        of tensor: TensorSpec, named name: String, rank: Int, dtypes: [DType]
    ) throws(KernelError) -> [Int] {
        try Self.check(tensor, named: name, dtypes: dtypes)
        guard tensor.shape.count <= limits.maxRank else {
            throw .limitExceeded(what: "rank of '\(name)'", value: UInt64(tensor.shape.count), limit: UInt64(limits.maxRank))
        }
        guard tensor.shape.count == rank else {
            throw .shapeMismatch("'\(name)' must have rank \(rank), has shape \(tensor.shape)")
        }
        for dimension in tensor.shape {
            try checkDimension(dimension, what: "a dimension of '\(name)'")
        }
        try checkElements(try Tensor.elementCount(shape: tensor.shape), what: "elements of '\(name)'")
        return tensor.shape.map { Int($0) }
    }

    /// An optional scalar (shape `[]` or `[1]`) of one of `dtypes`, widened to Int32.
    func scalar(_ name: String, dtypes: [DType], default value: Int32) throws(KernelError) -> Int32 {
        guard let tensor = model[name] else { return value }
        try Self.check(tensor, named: name, dtypes: dtypes)
        guard tensor.shape == [] || tensor.shape == [1] else {
            throw .shapeMismatch("'\(name)' must be a scalar (shape [] or [1]), has shape \(tensor.shape)")
        }
        return tensor.int32Values[0]
    }

    /// An optional int32 vector of exactly `count` entries.
    func int32Vector(_ name: String, count: Int) throws(KernelError) -> [Int32]? {
        guard let tensor = model[name] else { return nil }
        try Self.check(tensor, named: name, dtypes: [.int32])
        guard tensor.shape == [UInt64(count)] else {
            throw .shapeMismatch("'\(name)' must have shape [\(count)], has shape \(tensor.shape)")
        }
        return tensor.int32Values
    }

    static func check(_ tensor: Tensor, named name: String, dtypes: [DType]) throws(KernelError) {
        try check(tensor.spec, named: name, dtypes: dtypes)
    }

    static func check(_ tensor: TensorSpec, named name: String, dtypes: [DType]) throws(KernelError) {
        guard dtypes.contains(tensor.dtype) else {
            throw .wrongDType(name: name, expected: dtypes.map(\.description).joined(separator: " or "), actual: tensor.dtype)
        }
    }

    /// Ceilings under any caller's limits, so that sizes and their products always fit `Int` arithmetic.
    static let dimensionCeiling: UInt64 = 1 << 31
    static let elementCeiling: UInt64 = 1 << 40

    func checkDimension(_ value: UInt64, what: String) throws(KernelError) {
        let limit = min(limits.maxDimension, ArrayChecks.dimensionCeiling)
        guard value <= limit else { throw .limitExceeded(what: what, value: value, limit: limit) }
    }

    func checkElements(_ value: UInt64, what: String) throws(KernelError) {
        let limit = min(limits.maxElements, ArrayChecks.elementCeiling)
        guard value <= limit else { throw .limitExceeded(what: what, value: value, limit: limit) }
    }

    /// Product of non-negative sizes with overflow reported as a limit error.
    static func product(_ factors: [Int], what: String) throws(KernelError) -> UInt64 {
        var result: UInt64 = 1
        for factor in factors {
            let (next, overflow) = result.multipliedReportingOverflow(by: UInt64(factor))
            guard !overflow else { throw .limitExceeded(what: what, value: UInt64.max, limit: UInt64.max) }
            result = next
        }
        return result
    }

    func checkWork(_ units: UInt64) throws(KernelError) {
        guard units <= limits.maxWorkUnits else {
            throw .limitExceeded(what: "work units", value: units, limit: limits.maxWorkUnits)
        }
    }
}
