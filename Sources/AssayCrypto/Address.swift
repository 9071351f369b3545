/// An account address: the first 20 bytes of SHA-256 of the x-only public key, shown as bech32m
/// under the human-readable part `assay` (for example `assay1...`).
public struct Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let byteCount = 20
    public static let humanReadablePart = "assay"

    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case bech32(Bech32m.Error)
        case wrongPrefix(String)
        case wrongLength(Int)

        public var description: String {
            switch self {
            case let .bech32(error): "not an address: \(error)"
            case let .wrongPrefix(hrp): "not an Assay address: prefix is '\(hrp)', expected 'assay'"
            case let .wrongLength(count): "not an Assay address: \(count) bytes, expected 20"
            }
        }
    }

    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(ParseError) {
        guard bytes.count == Self.byteCount else { throw .wrongLength(bytes.count) }
        self.bytes = bytes
    }

    public init(publicKey: PublicKey) {
        bytes = SHA256.hash(publicKey.bytes).withUnsafeBytes { Array($0.prefix(Self.byteCount)) }
    }

    /// Parses the bech32m form; upper-case input is accepted, as BIP-350 allows.
    public init(_ text: String) throws(ParseError) {
        let decoded: (hrp: String, data5: [UInt8])
        let raw: [UInt8]
        do {
            decoded = try Bech32m.decode(text)
            raw = try Bech32m.convertBits(decoded.data5, from: 5, to: 8, pad: false)
        } catch {
            throw .bech32(error)
        }
        guard decoded.hrp == Self.humanReadablePart else { throw .wrongPrefix(decoded.hrp) }
        try self.init(bytes: raw)
    }

    public var description: String {
        // Padding 8-bit groups into 5-bit groups cannot fail.
        let data5 = (try? Bech32m.convertBits(bytes, from: 8, to: 5, pad: true)) ?? []
        return Bech32m.encode(hrp: Self.humanReadablePart, data5: data5)
    }

    public static func < (lhs: Address, rhs: Address) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}
