/// Appends the canonical encoding of values to a byte buffer (docs/encoding.md).
///
/// Fixed-width integers are little-endian; lengths and enum tags are minimal ULEB128;
/// composite values are their fields in declaration order.
public struct CanonicalWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ value: UInt8) { bytes.append(value) }
    public mutating func write(_ value: UInt16) { writeLittleEndian(value) }
    public mutating func write(_ value: UInt32) { writeLittleEndian(value) }
    public mutating func write(_ value: UInt64) { writeLittleEndian(value) }
    public mutating func write(_ value: Int32) { writeLittleEndian(UInt32(bitPattern: value)) }
    public mutating func write(_ value: Int64) { writeLittleEndian(UInt64(bitPattern: value)) }
    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// Minimal unsigned LEB128: seven bits a byte, low bits first, high bit set on all but the last byte.
    public mutating func writeULEB128(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Bytes whose length the type fixes (hashes, keys, signatures): no length prefix.
    public mutating func writeFixed(_ value: some Collection<UInt8>) { bytes.append(contentsOf: value) }

    /// Variable-length bytes: ULEB128 length, then the bytes.
    public mutating func writeBytes(_ value: some Collection<UInt8>) {
        writeULEB128(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// UTF-8 text: encoded as variable-length bytes.
    public mutating func write(_ value: String) { writeBytes(Array(value.utf8)) }

    /// A sequence: ULEB128 count, then each element.
    public mutating func write<Element: CanonicalEncodable>(_ values: [Element]) {
        writeULEB128(UInt64(values.count))
        for value in values { value.encode(to: &self) }
    }

    /// An optional: one byte 0 (absent) or 1 followed by the value.
    public mutating func write<Value: CanonicalEncodable>(_ value: Value?) {
        if let value {
            bytes.append(1)
            value.encode(to: &self)
        } else {
            bytes.append(0)
        }
    }

    public mutating func write(_ value: some CanonicalEncodable) { value.encode(to: &self) }

    private mutating func writeLittleEndian<T: FixedWidthInteger & UnsignedInteger>(_ value: T) {
        var v = value.littleEndian
        withUnsafeBytes(of: &v) { bytes.append(contentsOf: $0) }
    }
}
