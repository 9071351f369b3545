import AssayCodec
import AssayCrypto

/// A 32-byte SHA-256 digest: block, transaction, model and state hashes.
public typealias Hash = Digest32

/// Credits in base units (1 credit = 10^6 base units).
public typealias Amount = UInt64

/// Block height; the genesis state is height 0, the first block is height 1.
public typealias Height = UInt64

public enum AmountError: Error, Equatable, Sendable, CustomStringConvertible {
    case overflow
    case underflow

    public var description: String {
        switch self {
        case .overflow: "amount overflows 64 bits"
        case .underflow: "amount would go negative"
        }
    }
}

extension Amount {
    public static let baseUnitsPerCredit: UInt64 = 1_000_000

    public func adding(_ other: Amount) throws(AmountError) -> Amount {
        let (sum, overflow) = addingReportingOverflow(other)
        if overflow { throw .overflow }
        return sum
    }

    public func subtracting(_ other: Amount) throws(AmountError) -> Amount {
        guard other <= self else { throw .underflow }
        return self - other
    }

    public func multiplied(by other: UInt64) throws(AmountError) -> Amount {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        if overflow { throw .overflow }
        return product
    }
}

extension Digest32: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) { writer.writeFixed(bytes) }
    public init(from reader: inout CanonicalReader) throws(CodecError) {
        self.init(try reader.readFixed(count: Digest32.byteCount))
    }
}

extension PublicKey: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) { writer.writeFixed(bytes) }
    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let raw = try reader.readFixed(count: 32)
        do { try self.init(bytes: raw) } catch { throw .invalidValue("\(error)") }
    }
}

extension Signature: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) { writer.writeFixed(bytes) }
    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let raw = try reader.readFixed(count: 64)
        do { try self.init(bytes: raw) } catch { throw .invalidValue("\(error)") }
    }
}

extension Address: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) { writer.writeFixed(bytes) }
    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let raw = try reader.readFixed(count: Address.byteCount)
        do { try self.init(bytes: raw) } catch { throw .invalidValue("\(error)") }
    }
}
