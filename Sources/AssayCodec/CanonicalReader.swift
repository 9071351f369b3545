/// Reads canonical encodings back. Every read either returns a value or throws a `CodecError`;
/// it never traps, whatever the input bytes.
public struct CanonicalReader {
    private let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        offset = 0
    }

    public var remaining: Int { bytes.count - offset }

    /// Throws unless every byte has been consumed: a canonical value has no trailing bytes.
    public func finish() throws(CodecError) {
        if remaining != 0 { throw .trailingBytes(count: remaining) }
    }

    public mutating func readUInt8() throws(CodecError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func readUInt16() throws(CodecError) -> UInt16 { try readLittleEndian() }
    public mutating func readUInt32() throws(CodecError) -> UInt32 { try readLittleEndian() }
    public mutating func readUInt64() throws(CodecError) -> UInt64 { try readLittleEndian() }
    public mutating func readInt32() throws(CodecError) -> Int32 { Int32(bitPattern: try readLittleEndian()) }
    public mutating func readInt64() throws(CodecError) -> Int64 { Int64(bitPattern: try readLittleEndian()) }

    public mutating func readBool() throws(CodecError) -> Bool {
        switch try readUInt8() {
        case 0: return false
        case 1: return true
        case let other: throw .invalidValue("boolean byte \(other) is neither 0 nor 1")
        }
    }

    /// Minimal ULEB128 of at most 64 bits; a redundant final zero byte or an overflow is refused.
    public mutating func readULEB128() throws(CodecError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readUInt8()
            let payload = UInt64(byte & 0x7f)
            if shift == 63 && payload > 1 { throw .nonMinimalLength }
            result |= payload << shift
            if byte & 0x80 == 0 {
                if byte == 0 && shift > 0 { throw .nonMinimalLength }
                return result
            }
            shift += 7
            if shift > 63 { throw .nonMinimalLength }
        }
    }

    /// A length prefix checked against `bound` before anything is allocated.
    public mutating func readLength(bound: Int) throws(CodecError) -> Int {
        let length = try readULEB128()
        guard length <= UInt64(bound) else { throw .overLengthBound(length: length, bound: bound) }
        return Int(length)
    }

    /// An enum tag; the caller maps it to a case and throws `unknownTag` for others.
    public mutating func readTag() throws(CodecError) -> UInt64 { try readULEB128() }

    public mutating func readFixed(count: Int) throws(CodecError) -> [UInt8] {
        try need(count)
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    public mutating func readBytes(bound: Int) throws(CodecError) -> [UInt8] {
        let count = try readLength(bound: bound)
        return try readFixed(count: count)
    }

    public mutating func readString(bound: Int) throws(CodecError) -> String {
        let raw = try readBytes(bound: bound)
        guard let text = String(validating: raw, as: UTF8.self) else { throw .invalidValue("text is not UTF-8") }
        return text
    }

    /// A sequence of at most `bound` elements. The bound is checked before any element is read.
    public mutating func readArray<Element: CanonicalDecodable>(
        of _: Element.Type = Element.self, bound: Int
    ) throws(CodecError) -> [Element] {
        let count = try readLength(bound: bound)
        // Each element takes at least one byte, so a count above `remaining` is truncated input.
        guard count <= remaining else { throw .truncated(needed: count, remaining: remaining) }
        var values: [Element] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try Element(from: &self)) }
        return values
    }

    public mutating func readOptional<Value: CanonicalDecodable>(
        _: Value.Type = Value.self
    ) throws(CodecError) -> Value? {
        try readBool() ? try Value(from: &self) : nil
    }

    public mutating func read<Value: CanonicalDecodable>(_: Value.Type = Value.self) throws(CodecError) -> Value {
        try Value(from: &self)
    }

    private func need(_ count: Int) throws(CodecError) {
        if count > remaining { throw .truncated(needed: count, remaining: remaining) }
    }

    private mutating func readLittleEndian<T: FixedWidthInteger & UnsignedInteger>() throws(CodecError) -> T {
        let size = MemoryLayout<T>.size
        try need(size)
        var value: T = 0
        for index in 0..<size { value |= T(bytes[offset + index]) << (8 * index) }
        offset += size
        return value
    }
}
