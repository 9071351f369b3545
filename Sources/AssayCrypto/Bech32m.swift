/// Bech32m (BIP-350) encoding of byte strings, the form addresses take for people.
public enum Bech32m {
    public enum Error: Swift.Error, Equatable, Sendable, CustomStringConvertible {
        case tooLong, mixedCase, missingSeparator, invalidHumanReadablePart, invalidCharacter
        case invalidChecksum, invalidPadding, tooShortChecksum

        public var description: String {
            switch self {
            case .tooLong: "bech32m string is longer than 90 characters"
            case .mixedCase: "bech32m string mixes upper and lower case"
            case .missingSeparator: "bech32m string has no '1' separator"
            case .invalidHumanReadablePart: "bech32m human-readable part is empty or has characters outside 33...126"
            case .invalidCharacter: "bech32m data has a character outside the bech32 alphabet"
            case .invalidChecksum: "bech32m checksum does not match (a typo?)"
            case .invalidPadding: "bech32m data has non-zero or excess padding bits"
            case .tooShortChecksum: "bech32m data is shorter than its 6-character checksum"
            }
        }
    }

    private static let alphabet = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let checksumConstant: UInt32 = 0x2bc8_30a3
    public static let maximumLength = 90

    private static func polymod(_ values: [UInt8]) -> UInt32 {
        let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]
        var checksum: UInt32 = 1
        for value in values {
            let top = checksum >> 25
            checksum = (checksum & 0x1ff_ffff) << 5 ^ UInt32(value)
            for bit in 0..<5 where (top >> UInt32(bit)) & 1 == 1 { checksum ^= generator[bit] }
        }
        return checksum
    }

    private static func expand(_ hrp: [UInt8]) -> [UInt8] {
        hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 }
    }

    /// Encodes 5-bit groups under a lower-case human-readable part.
    public static func encode(hrp: String, data5: [UInt8]) -> String {
        let hrpBytes = Array(hrp.utf8)
        let mod = polymod(expand(hrpBytes) + data5 + [0, 0, 0, 0, 0, 0]) ^ checksumConstant
        let checksum = (0..<6).map { UInt8((mod >> UInt32(5 * (5 - $0))) & 31) }
        return hrp + "1" + String(decoding: (data5 + checksum).map { alphabet[Int($0)] }, as: UTF8.self)
    }

    /// Decodes to the lower-case human-readable part and the 5-bit data groups (checksum removed).
    public static func decode(_ text: String) throws(Error) -> (hrp: String, data5: [UInt8]) {
        let bytes = Array(text.utf8)
        guard bytes.count <= maximumLength else { throw .tooLong }
        guard bytes.allSatisfy({ (33...126).contains($0) }) else { throw .invalidHumanReadablePart }
        let hasLower = bytes.contains { (97...122).contains($0) }
        let hasUpper = bytes.contains { (65...90).contains($0) }
        guard !(hasLower && hasUpper) else { throw .mixedCase }
        let lower = bytes.map { (65...90).contains($0) ? $0 + 32 : $0 }
        guard let separator = lower.lastIndex(of: UInt8(ascii: "1")) else { throw .missingSeparator }
        guard separator >= 1 else { throw .invalidHumanReadablePart }
        guard lower.count - separator - 1 >= 6 else { throw .tooShortChecksum }
        let hrp = Array(lower[..<separator])
        var data: [UInt8] = []
        for char in lower[(separator + 1)...] {
            guard let value = alphabet.firstIndex(of: char) else { throw .invalidCharacter }
            data.append(UInt8(value))
        }
        guard polymod(expand(hrp) + data) == checksumConstant else { throw .invalidChecksum }
        return (String(decoding: hrp, as: UTF8.self), Array(data.dropLast(6)))
    }

    /// Regroups bits, e.g. 8-bit bytes into 5-bit groups (`pad: true`) and back (`pad: false`).
    public static func convertBits(_ data: [UInt8], from: Int, to: Int, pad: Bool) throws(Error) -> [UInt8] {
        var accumulator = 0
        var bits = 0
        var out: [UInt8] = []
        let maxValue = (1 << to) - 1
        for value in data {
            guard Int(value) >> from == 0 else { throw .invalidCharacter }
            accumulator = (accumulator << from) | Int(value)
            bits += from
            while bits >= to {
                bits -= to
                out.append(UInt8((accumulator >> bits) & maxValue))
            }
        }
        if pad {
            if bits > 0 { out.append(UInt8((accumulator << (to - bits)) & maxValue)) }
        } else if bits >= from || (accumulator << (to - bits)) & maxValue != 0 {
            throw .invalidPadding
        }
        return out
    }
}
