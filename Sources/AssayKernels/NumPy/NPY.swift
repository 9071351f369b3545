/// NumPy `.npy` files (format 1.0 and 2.0) holding int8, uint8 or little-endian int32 arrays in C order.
/// Parsing is pure: bytes in, `Tensor` out; reading the file is the caller's business.
public enum NPY {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"
    /// The longest header accepted; numpy's own headers are under 200 bytes.
    public static let maxHeaderBytes = 65_536

    public static func decode(_ bytes: [UInt8]) throws(NumPyError) -> Tensor {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw .notNPY("missing the \\x93NUMPY magic") }
        let (major, minor) = (bytes[6], bytes[7])
        let headerStart: Int, headerLength: Int
        switch (major, minor) {
        case (1, 0):
            headerStart = 10
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case (2, 0):
            guard bytes.count >= 12 else { throw .notNPY("truncated before the header length") }
            headerStart = 12
            headerLength = (8..<12).reduce(0) { $0 | Int(bytes[$1]) << (8 * ($1 - 8)) }
        default:
            throw .unsupportedVersion(major: major, minor: minor)
        }
        guard headerLength <= maxHeaderBytes else { throw .badHeader("header length \(headerLength) is over \(maxHeaderBytes)") }
        guard bytes.count >= headerStart + headerLength else { throw .notNPY("truncated inside the header") }
        guard let text = String(validating: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self) else {
            throw .badHeader("header is not text")
        }
        let header = try NPYHeader(parsing: text)
        let dataCount = bytes.count - headerStart - headerLength
        let expected: UInt64
        do { expected = try Tensor.byteCount(dtype: header.dtype, shape: header.shape) } catch {
            throw .tooLarge("shape \(header.shape) of \(header.dtype) is over \(Tensor.maxByteCount) bytes")
        }
        guard expected == UInt64(dataCount) else {
            throw .dataSizeMismatch(shape: header.shape, expectedBytes: String(expected), actualBytes: dataCount)
        }
        do {
            return try Tensor(dtype: header.dtype, shape: header.shape, data: Array(bytes[(headerStart + headerLength)...]))
        } catch { throw .tooLarge(error.description) }
    }

    /// Format 1.0 (2.0 when the header would not fit 1.0's 16-bit length), header padded to 64 bytes.
    public static func encode(_ tensor: Tensor) -> [UInt8] {
        header(dtype: tensor.dtype, shape: tensor.shape) + tensor.data
    }

    /// What precedes the data bytes in `encode`: magic, version, header length and the padded header.
    public static func header(dtype: DType, shape: [UInt64]) -> [UInt8] {
        let dims = shape.map(String.init)
        let shape = dims.count == 1 ? "(\(dims[0]),)" : "(\(dims.joined(separator: ", ")))"
        var header = "{'descr': '\(NPYHeader.descr(of: dtype))', 'fortran_order': False, 'shape': \(shape), }"
        let prefix = header.utf8.count + 11 > 0xFFFF ? 12 : 10
        let padded = (prefix + header.utf8.count + 1 + 63) / 64 * 64
        header += String(repeating: " ", count: padded - prefix - header.utf8.count - 1) + "\n"
        let length = header.utf8.count
        var bytes = magic + (prefix == 10 ? [1, 0] : [2, 0])
        bytes += (0..<(prefix - 8)).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
        bytes += Array(header.utf8)
        return bytes
    }
}

/// The Python dict literal of a `.npy` header: `{'descr': ..., 'fortran_order': ..., 'shape': (...), }`.
struct NPYHeader {
    let dtype: DType
    let shape: [UInt64]

    static func descr(of dtype: DType) -> String {
        switch dtype {
        case .int8: "|i1"
        case .uint8: "|u1"
        case .int32: "<i4"
        }
    }

    init(parsing text: String) throws(NumPyError) {
        var scanner = DictScanner(text)
        let entries = try scanner.dictionary()
        guard Set(entries.map(\.key)) == ["descr", "fortran_order", "shape"], entries.count == 3 else {
            throw .badHeader("keys must be exactly descr, fortran_order and shape")
        }
        var descr = "", fortran = false, shape: [UInt64] = []
        for (key, value) in entries {
            switch (key, value) {
            case let ("descr", .text(text)): descr = text
            case let ("fortran_order", .flag(flag)): fortran = flag
            case let ("shape", .tuple(dims)): shape = dims
            default: throw .badHeader("'\(key)' has the wrong kind of value")
            }
        }
        if fortran { throw .fortranOrder }
        dtype = try NPYHeader.dtype(descr)
        guard shape.count <= Tensor.maxRank else { throw .tooLarge("rank \(shape.count) is over \(Tensor.maxRank)") }
        self.shape = shape
    }

    static func dtype(_ descr: String) throws(NumPyError) -> DType {
        switch descr {
        case "|i1", "<i1", "i1": return .int8
        case "|u1", "<u1", "u1": return .uint8
        case "<i4": return .int32
        case ">i4", ">i2", ">i8", ">u2", ">u4", ">u8", ">f4", ">f8": throw .bigEndian(descr)
        default: throw .unsupportedDType(descr)
        }
    }
}

/// A scanner for the small subset of Python literals a `.npy` header uses.
struct DictScanner {
    enum Value { case text(String), flag(Bool), tuple([UInt64]) }

    private let characters: [Character]
    private var index = 0

    init(_ text: String) { characters = Array(text) }

    mutating func dictionary() throws(NumPyError) -> [(key: String, value: Value)] {
        try expect("{")
        var entries: [(key: String, value: Value)] = []
        while true {
            skipSpace()
            if peek() == "}" { break }
            let key = try quoted()
            try expect(":")
            entries.append((key, try value()))
            skipSpace()
            if peek() == "," { index += 1 } else if peek() != "}" { throw .badHeader("expected ',' or '}'") }
        }
        try expect("}")
        skipSpace()
        guard index == characters.count else { throw .badHeader("text after the dictionary") }
        return entries
    }

    private mutating func value() throws(NumPyError) -> Value {
        skipSpace()
        switch peek() {
        case "'", "\"": return .text(try quoted())
        case "(": return .tuple(try tuple())
        default:
            if consume("True") { return .flag(true) }
            if consume("False") { return .flag(false) }
            throw .badHeader("unexpected value at offset \(index)")
        }
    }

    private mutating func tuple() throws(NumPyError) -> [UInt64] {
        try expect("(")
        var values: [UInt64] = []
        while true {
            skipSpace()
            if peek() == ")" { break }
            values.append(try integer())
            skipSpace()
            if peek() == "," { index += 1 } else if peek() != ")" { throw .badHeader("expected ',' or ')' in shape") }
            guard values.count <= 64 else { throw .badHeader("shape has too many dimensions") }
        }
        try expect(")")
        return values
    }

    private mutating func integer() throws(NumPyError) -> UInt64 {
        var value: UInt64 = 0
        var digits = 0
        while let digit = peek()?.wholeNumberValue, peek()!.isASCII {
            let (times, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = times.addingReportingOverflow(UInt64(digit))
            guard !overflowA && !overflowB else { throw .tooLarge("a dimension does not fit 64 bits") }
            value = sum
            digits += 1
            index += 1
        }
        guard digits > 0 else { throw .badHeader("expected a non-negative integer in shape") }
        return value
    }

    private mutating func quoted() throws(NumPyError) -> String {
        skipSpace()
        guard let quote = peek(), quote == "'" || quote == "\"" else { throw .badHeader("expected a quoted string") }
        index += 1
        var text = ""
        while let character = peek(), character != quote {
            text.append(character)
            index += 1
        }
        try expect(quote)
        return text
    }

    private func peek() -> Character? { index < characters.count ? characters[index] : nil }

    private mutating func skipSpace() { while let c = peek(), c == " " || c == "\n" || c == "\t" { index += 1 } }

    private mutating func expect(_ character: Character) throws(NumPyError) {
        skipSpace()
        guard peek() == character else { throw .badHeader("expected '\(character)' at offset \(index)") }
        index += 1
    }

    private mutating func consume(_ word: String) -> Bool {
        let letters = Array(word)
        guard index + letters.count <= characters.count, Array(characters[index..<(index + letters.count)]) == letters else {
            return false
        }
        index += letters.count
        return true
    }
}
