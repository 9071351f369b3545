/// Why bytes are not a `.npy` or `.npz` file this module accepts. Raised before any allocation the file's
/// declared sizes would imply.
public enum NumPyError: Error, Equatable, Sendable, CustomStringConvertible {
    case notNPY(String)
    case unsupportedVersion(major: UInt8, minor: UInt8)
    case badHeader(String)
    case unsupportedDType(String)
    case bigEndian(String)
    case fortranOrder
    case dataSizeMismatch(shape: [UInt64], expectedBytes: String, actualBytes: Int)
    case tooLarge(String)
    case notZip(String)
    case compressedEntry(String)
    case badEntry(name: String, reason: String)
    /// Bytes fed to `NPYStream` that are not one tensor's canonical encoding.
    case notTensor(String)

    public var description: String {
        switch self {
        case let .notNPY(reason): "not a .npy file: \(reason)"
        case let .unsupportedVersion(major, minor): ".npy format version \(major).\(minor) is not supported (use 1.0 or 2.0)"
        case let .badHeader(reason): "malformed .npy header: \(reason)"
        case let .unsupportedDType(descr): "dtype '\(descr)' is not supported (use int8 '|i1', uint8 '|u1' or little-endian int32 '<i4')"
        case let .bigEndian(descr): "dtype '\(descr)' is big-endian; only little-endian data is accepted"
        case .fortranOrder: "array is in Fortran order; only C order is accepted (use np.ascontiguousarray)"
        case let .dataSizeMismatch(shape, expected, actual):
            "shape \(shape) needs \(expected) bytes of data but the file holds \(actual)"
        case let .tooLarge(reason): "array too large: \(reason)"
        case let .notZip(reason): "not a readable .npz (zip) file: \(reason)"
        case let .compressedEntry(name):
            "entry '\(name)' is compressed; only stored entries are supported (write with np.savez, not np.savez_compressed)"
        case let .badEntry(name, reason): "bad .npz entry '\(name)': \(reason)"
        case let .notTensor(reason): "not a tensor's encoding: \(reason)"
        }
    }
}
