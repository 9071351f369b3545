/// How deeply a JSON text nests arrays and objects, measured in one pass over its bytes without parsing it, so a
/// hostile body is refused at a cost linear in its length.
enum JSONNesting {
    /// True when some array or object sits more than `limit` levels deep. Brackets inside strings do not count;
    /// text that is not JSON gives an answer of no meaning, and fails when it is parsed.
    static func depth(of bytes: [UInt8], exceeds limit: Int) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return true }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return false
    }
}
