/// Why a kernel refused to run. Every refusal happens before any large allocation.
public enum KernelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The name is not in the catalogue.
    case unknownKernel(String)
    /// A tensor whose bytes disagree with its dtype and shape, or whose shape is too large.
    case invalidTensor(String)
    /// A model with duplicate, unsorted, missing or unexpected arrays.
    case invalidModel(String)
    /// A required array is absent from the model.
    case missingArray(String)
    /// An array (or the input, named `input`) has a dtype the kernel does not accept.
    case wrongDType(name: String, expected: String, actual: DType)
    /// Shapes that do not fit together (A's K against B's K, channels against groups, ...).
    case shapeMismatch(String)
    /// An attribute out of its allowed range (a zero stride, a shift over 31, a relu flag other than 0/1 ...).
    case invalidAttribute(String)
    /// A size or amount of work over the caller's `KernelLimits`.
    case limitExceeded(what: String, value: UInt64, limit: UInt64)
    /// A tile that does not exist, or tile inputs or a trace of the wrong length.
    case invalidTile(String)

    public var description: String {
        switch self {
        case let .unknownKernel(name):
            "unknown kernel '\(name)'; known: \(KernelID.catalogue.map(\.rawValue).joined(separator: ", "))"
        case let .invalidTensor(reason): "invalid tensor: \(reason)"
        case let .invalidModel(reason): "invalid model: \(reason)"
        case let .missingArray(name): "the model has no array named '\(name)'"
        case let .wrongDType(name, expected, actual): "'\(name)' must be \(expected), not \(actual)"
        case let .shapeMismatch(reason): "shape mismatch: \(reason)"
        case let .invalidAttribute(reason): "invalid attribute: \(reason)"
        case let .limitExceeded(what, value, limit): "\(what) \(value) is over the limit \(limit)"
        case let .invalidTile(reason): "invalid tile: \(reason)"
        }
    }
}
