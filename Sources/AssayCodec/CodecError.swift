/// Why a byte string is not the canonical encoding of a value. Decoders throw exactly these.
public enum CodecError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended before the value did.
    case truncated(needed: Int, remaining: Int)
    /// A whole value decoded but bytes were left over.
    case trailingBytes(count: Int)
    /// A length prefix exceeded the bound the field allows.
    case overLengthBound(length: UInt64, bound: Int)
    /// An enum tag that names no case of the type.
    case unknownTag(UInt64, type: String)
    /// A ULEB128 integer written with more bytes than needed, or wider than 64 bits.
    case nonMinimalLength
    /// Bytes of the right length whose content is not allowed (a boolean other than 0 or 1, bad UTF-8, ...).
    case invalidValue(String)

    public var description: String {
        switch self {
        case let .truncated(needed, remaining): "truncated input: needed \(needed) more bytes, \(remaining) left"
        case let .trailingBytes(count): "\(count) trailing bytes after the value"
        case let .overLengthBound(length, bound): "length \(length) is over the bound \(bound)"
        case let .unknownTag(tag, type): "unknown tag \(tag) for \(type)"
        case .nonMinimalLength: "non-minimal or overlong ULEB128 integer"
        case let .invalidValue(reason): "invalid value: \(reason)"
        }
    }
}
