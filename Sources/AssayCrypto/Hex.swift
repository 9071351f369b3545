/// Lower-case hexadecimal, the form keys, hashes and transactions take in JSON and on the command line.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex of either case, with an optional `0x` prefix; nil for odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        guard let count = decodedCount(text) else { return nil }
        var valid = false
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            valid = decode(text, into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
        return valid ? bytes : nil
    }

    /// The number of bytes `text` decodes to, or nil for odd length.
    static func decodedCount(_ text: String) -> Int? {
        let count = digitsOf(text).count
        return count % 2 == 0 ? count / 2 : nil
    }

    /// Decodes straight into `out` (for secrets kept out of arrays); false unless `text` is hex of exactly
    /// `out.count` bytes. On false, `out` may hold part of the value, so callers wipe it either way.
    static func decode(_ text: String, into out: UnsafeMutableRawBufferPointer) -> Bool {
        let utf8 = digitsOf(text)
        guard utf8.count == 2 * out.count else { return false }
        var index = 0
        var high: UInt8?
        for char in utf8 {
            guard let nibble = value(of: char) else { return false }
            if let h = high {
                out[index] = h << 4 | nibble
                index += 1
                high = nil
            } else {
                high = nibble
            }
        }
        return true
    }

    private static func digitsOf(_ text: String) -> Substring.UTF8View {
        let utf8 = Substring(text).utf8
        return utf8.starts(with: "0x".utf8) ? utf8.dropFirst(2) : utf8
    }

    private static func value(of char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): char - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
