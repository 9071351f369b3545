import AssayAPI

/// Why a body is not JSON the RPC accepts.
enum JSONParseError: Error, Equatable {
    /// Not JSON (or not UTF-8); `offset` is where parsing stopped.
    case invalid(offset: Int)
    /// Arrays and objects nested deeper than the limit.
    case tooDeep
}

extension JSONValue {
    /// Parses a JSON text in one pass, in time linear in its length, refusing nesting deeper than `depthMax` as
    /// soon as it is reached. Foundation's decoder, driven through `JSONValue`'s `Decodable` conformance, tries
    /// each type in turn at every value and costs orders of magnitude more, more still with depth.
    init(parsing bytes: [UInt8], depthMax: Int) throws(JSONParseError) {
        var parser = JSONParser(bytes: bytes, depthMax: depthMax)
        self = try parser.document()
    }
}

/// RFC 8259 JSON. Integers without fraction or exponent become `.integer` (or `.unsigned` beyond Int64), others
/// `.double`; a repeated object key keeps its last value.
private struct JSONParser {
    let bytes: [UInt8]
    let depthMax: Int
    var index = 0
    var depth = 0

    init(bytes: [UInt8], depthMax: Int) {
        self.bytes = bytes
        self.depthMax = depthMax
    }

    private var invalid: JSONParseError { .invalid(offset: index) }

    mutating func document() throws(JSONParseError) -> JSONValue {
        let value = try value()
        skipWhitespace()
        guard index == bytes.count else { throw invalid }
        return value
    }

    private mutating func value() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw invalid }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default: return try number()
        }
    }

    private mutating func array() throws(JSONParseError) -> JSONValue {
        try enter()
        var items: [JSONValue] = []
        if try closes(UInt8(ascii: "]")) { return .array(items) }
        repeat { items.append(try value()) } while try separated(closing: UInt8(ascii: "]"))
        return .array(items)
    }

    private mutating func object() throws(JSONParseError) -> JSONValue {
        try enter()
        var fields: [String: JSONValue] = [:]
        if try closes(UInt8(ascii: "}")) { return .object(fields) }
        repeat {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw invalid }
            let key = try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw invalid }
            index += 1
            fields[key] = try value()
        } while try separated(closing: UInt8(ascii: "}"))
        return .object(fields)
    }

    /// Steps into an array or object.
    private mutating func enter() throws(JSONParseError) {
        depth += 1
        guard depth <= depthMax else { throw .tooDeep }
        index += 1
    }

    /// True (and steps out) when the container closes right away.
    private mutating func closes(_ closing: UInt8) throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == closing else { return false }
        index += 1
        depth -= 1
        return true
    }

    /// After an element: true on a comma, false (and steps out) on the closing bracket.
    private mutating func separated(closing: UInt8) throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw invalid }
        let byte = bytes[index]
        index += 1
        if byte == UInt8(ascii: ",") { return true }
        guard byte == closing else { throw invalid }
        depth -= 1
        return false
    }

    private mutating func literal(_ word: String, _ value: JSONValue) throws(JSONParseError) -> JSONValue {
        let text = word.utf8
        guard bytes.count - index >= text.count, bytes[index..<(index + text.count)].elementsEqual(text) else {
            throw invalid
        }
        index += text.count
        return value
    }

    /// A string from its opening quote; the result must be valid UTF-8, escapes included.
    private mutating func string() throws(JSONParseError) -> String {
        index += 1
        var utf8: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else { throw invalid }
                return text
            case UInt8(ascii: "\\"): utf8 += try escape()
            case 0..<0x20: throw invalid
            default: utf8.append(byte)
            }
        }
        throw invalid
    }

    /// The UTF-8 bytes of the escape after a backslash.
    private mutating func escape() throws(JSONParseError) -> [UInt8] {
        guard index < bytes.count else { throw invalid }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return [byte]
        case UInt8(ascii: "b"): return [0x08]
        case UInt8(ascii: "f"): return [0x0C]
        case UInt8(ascii: "n"): return [0x0A]
        case UInt8(ascii: "r"): return [0x0D]
        case UInt8(ascii: "t"): return [0x09]
        case UInt8(ascii: "u"):
            var scalar = UInt32(try hexUnit())
            if (0xD800..<0xDC00).contains(scalar) {  // a high surrogate: its low half must follow
                guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                else { throw invalid }
                index += 2
                let low = UInt32(try hexUnit())
                guard (0xDC00..<0xE000).contains(low) else { throw invalid }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw invalid }  // a lone low surrogate
            return Array(String(Character(unicode)).utf8)
        default: throw invalid
        }
    }

    /// Exactly four hex digits (`UInt16(_:radix:)` would also take a sign: `\u+041`).
    private mutating func hexUnit() throws(JSONParseError) -> UInt16 {
        guard bytes.count - index >= 4 else { throw invalid }
        var unit: UInt16 = 0
        for byte in bytes[index..<(index + 4)] {
            guard let digit = Self.hexDigit(byte) else { throw invalid }
            unit = unit << 4 | UInt16(digit)
        }
        index += 4
        return unit
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private mutating func number() throws(JSONParseError) -> JSONValue {
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard digits() > 0 else { throw invalid }
        // No leading zeros: "0" alone, or a digit 1-9 first.
        let first = bytes[start] == UInt8(ascii: "-") ? start + 1 : start
        guard bytes[first] != UInt8(ascii: "0") || index - first == 1 else { throw invalid }
        var integral = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            integral = false
            guard digits() > 0 else { throw invalid }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            integral = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw invalid }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if integral, let value = Int64(text) { return .integer(value) }
        if integral, let value = UInt64(text) { return .unsigned(value) }
        guard let value = Double(text), value.isFinite else { throw invalid }
        return .double(value)
    }

    /// Steps over ASCII digits and counts them.
    private mutating func digits() -> Int {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index - start
    }

    private mutating func skipWhitespace() {
        while index < bytes.count,
            bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09
        {
            index += 1
        }
    }
}

extension JSONValue {
    /// JSON-RPC ids are strings, numbers or null.
    var isValidID: Bool {
        switch self {
        case .null, .integer, .unsigned, .double, .string: true
        case .bool, .array, .object: false
        }
    }
}
