import AssayCodec

/// Element type of a tensor; the raw value is its canonical tag.
public enum DType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case int8 = 0
    case uint8 = 1
    case int32 = 2

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .int8, .uint8: 1
        case .int32: 4
        }
    }

    public var description: String {
        switch self {
        case .int8: "int8"
        case .uint8: "uint8"
        case .int32: "int32"
        }
    }
}

extension DType: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) { writer.writeULEB128(UInt64(rawValue)) }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let tag = try reader.readTag()
        guard tag <= UInt64(UInt8.max), let value = DType(rawValue: UInt8(tag)) else {
            throw .unknownTag(tag, type: "DType")
        }
        self = value
    }
}

/// What a kernel's checks and tiling need of a tensor without its elements: its element type and shape.
public struct TensorSpec: Hashable, Sendable {
    public let dtype: DType
    public let shape: [UInt64]

    public init(dtype: DType, shape: [UInt64]) {
        self.dtype = dtype
        self.shape = shape
    }

    /// Bytes of the tensor's canonical encoding before its elements (dtype tag, shape, data length): the offset
    /// of element byte 0 in a blob holding the tensor's canonical bytes.
    public var canonicalHeaderLength: Int { canonicalHeader.count }

    /// Those bytes themselves.
    public var canonicalHeader: [UInt8] {
        var writer = CanonicalWriter()
        writer.write(dtype)
        writer.write(shape)
        let elements = shape.reduce(UInt64(1)) { $0 &* $1 }
        writer.writeULEB128(elements &* UInt64(dtype.size))
        return writer.bytes
    }
}

extension TensorSpec {
    /// The most bytes a canonical header can take: dtype tag (1), rank (1), eight u64 dimensions, a ULEB128 length.
    public static let canonicalHeaderBytesMax = 1 + 1 + 8 * Tensor.maxRank + 10

    /// The spec a tensor's canonical bytes begin with, read from their first bytes (`prefix`, at most
    /// `canonicalHeaderBytesMax` of them are read): lets a tile check locate the input's elements without reading
    /// them. Throws when the header is malformed or its data length is not what dtype and shape need.
    public init(canonicalHeader prefix: [UInt8]) throws(KernelError) {
        var reader = CanonicalReader(Array(prefix.prefix(Self.canonicalHeaderBytesMax)))
        let (dtype, shape, length): (DType, [UInt64], UInt64)
        do {
            (dtype, shape, length) = (
                try reader.read(DType.self), try reader.readArray(of: UInt64.self, bound: Tensor.maxRank),
                try reader.readULEB128()
            )
        } catch { throw .invalidTensor("not a tensor header: \(error)") }
        let expected = try Tensor.byteCount(dtype: dtype, shape: shape)
        guard length == expected else {
            throw .invalidTensor("shape \(shape) of \(dtype) needs \(expected) bytes, the header says \(length)")
        }
        self.init(dtype: dtype, shape: shape)
    }
}

/// A dense array: element type, shape, and the elements' little-endian bytes in C (row-major) order.
/// A rank-0 tensor (shape `[]`) is a scalar holding one element.
public struct Tensor: Hashable, Sendable, CanonicalCodable {
    /// The highest rank any tensor may have (the codec refuses more).
    public static let maxRank = 8
    /// The most data bytes a tensor may hold (the codec refuses more before reading them).
    public static let maxByteCount = 1 << 31

    public let dtype: DType
    public let shape: [UInt64]
    public let data: [UInt8]

    /// Checks that `data` holds exactly `product(shape) x dtype.size` bytes, with overflow checks.
    public init(dtype: DType, shape: [UInt64], data: [UInt8]) throws(KernelError) {
        let expected = try Tensor.byteCount(dtype: dtype, shape: shape)
        guard UInt64(data.count) == expected else {
            throw .invalidTensor("shape \(shape) of \(dtype) needs \(expected) bytes, data has \(data.count)")
        }
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    /// Number of elements of `shape`, or an error when the product overflows 64 bits or the rank is too high.
    public static func elementCount(shape: [UInt64]) throws(KernelError) -> UInt64 {
        guard shape.count <= maxRank else { throw .invalidTensor("rank \(shape.count) is over \(maxRank)") }
        var count: UInt64 = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw .invalidTensor("shape \(shape) has more than 2^64 elements") }
            count = product
        }
        return count
    }

    /// Number of data bytes of a tensor of `dtype` and `shape`, checked against `maxByteCount`.
    public static func byteCount(dtype: DType, shape: [UInt64]) throws(KernelError) -> UInt64 {
        let elements = try elementCount(shape: shape)
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: UInt64(dtype.size))
        guard !overflow, bytes <= UInt64(maxByteCount) else {
            throw .invalidTensor("shape \(shape) of \(dtype) is over \(maxByteCount) bytes")
        }
        return bytes
    }

    public var elementCount: Int { data.count / dtype.size }

    public var spec: TensorSpec { TensorSpec(dtype: dtype, shape: shape) }

    // MARK: Typed construction and access (little-endian, C order).

    public init(int8 values: [Int8], shape: [UInt64]) throws(KernelError) {
        try self.init(dtype: .int8, shape: shape, data: values.map { UInt8(bitPattern: $0) })
    }

    public init(uint8 values: [UInt8], shape: [UInt64]) throws(KernelError) {
        try self.init(dtype: .uint8, shape: shape, data: values)
    }

    public init(int32 values: [Int32], shape: [UInt64]) throws(KernelError) {
        #if _endian(big)
        let values = values.map { $0.littleEndian }
        #endif
        try self.init(dtype: .int32, shape: shape, data: values.withUnsafeBytes { Array($0) })
    }

    /// The elements widened to Int32 (int8 sign-extended, uint8 zero-extended, int32 decoded little-endian).
    public var int32Values: [Int32] {
        switch dtype {
        case .int8: return data.map { Int32(Int8(bitPattern: $0)) }
        case .uint8: return data.map { Int32($0) }
        case .int32:
            return [Int32](unsafeUninitializedCapacity: elementCount) { values, initialized in
                data.withUnsafeBytes { UnsafeMutableRawBufferPointer(values).copyMemory(from: $0) }
                for index in 0..<elementCount { values[index] = Int32(littleEndian: values[index]) }
                initialized = elementCount
            }
        }
    }

    // MARK: Canonical encoding: dtype tag, shape (ULEB128 count then UInt64 each), data (ULEB128 length, bytes).

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(dtype)
        writer.write(shape)
        writer.writeBytes(data)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let dtype = try reader.read(DType.self)
        let shape = try reader.readArray(of: UInt64.self, bound: Tensor.maxRank)
        let data = try reader.readBytes(bound: Tensor.maxByteCount)
        do { try self.init(dtype: dtype, shape: shape, data: data) } catch { throw .invalidValue(error.description) }
    }
}
