import AssayCodec
import PropertyBased
import Testing

/// A value exercising every encoding rule: fixed-width integers, booleans, text, bytes, nested arrays,
/// optionals and a tagged enum.
struct Sample: Equatable, CanonicalCodable {
    enum Shape: Equatable, CanonicalCodable {
        case point
        case circle(radius: UInt32)
        case label(String)

        func encode(to writer: inout CanonicalWriter) {
            switch self {
            case .point: writer.writeULEB128(0)
            case let .circle(radius): writer.writeULEB128(1); writer.write(radius)
            case let .label(text): writer.writeULEB128(2); writer.write(text)
            }
        }

        init(from reader: inout CanonicalReader) throws(CodecError) {
            switch try reader.readTag() {
            case 0: self = .point
            case 1: self = .circle(radius: try reader.readUInt32())
            case 2: self = .label(try reader.readString(bound: 16))
            case let tag: throw .unknownTag(tag, type: "Shape")
            }
        }
    }

    var small: UInt8
    var medium: UInt16
    var large: UInt64
    var signed: Int64
    var signed32: Int32
    var flag: Bool
    var name: String
    var blob: [UInt8]
    var shapes: [Shape]
    var extra: UInt32?

    func encode(to writer: inout CanonicalWriter) {
        writer.write(small)
        writer.write(medium)
        writer.write(large)
        writer.write(signed)
        writer.write(signed32)
        writer.write(flag)
        writer.write(name)
        writer.writeBytes(blob)
        writer.write(shapes)
        writer.write(extra)
    }

    init(from reader: inout CanonicalReader) throws(CodecError) {
        small = try reader.readUInt8()
        medium = try reader.readUInt16()
        large = try reader.readUInt64()
        signed = try reader.readInt64()
        signed32 = try reader.readInt32()
        flag = try reader.readBool()
        name = try reader.readString(bound: 64)
        blob = try reader.readBytes(bound: 300)
        shapes = try reader.readArray(bound: 8)
        extra = try reader.readOptional()
    }

    init(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        small = UInt8(truncatingIfNeeded: random.next())
        medium = UInt16(truncatingIfNeeded: random.next())
        // Mix tiny and huge values so that both short and long encodings appear.
        large = random.next() >> (random.next() % 64)
        signed = Int64(bitPattern: random.next())
        signed32 = Int32(truncatingIfNeeded: random.next())
        flag = random.next() & 1 == 1
        name = String((0..<Int(random.next() % 12)).map { _ in
            "aé€𝄞z".randomElement(using: &random)!
        })
        blob = (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        shapes = (0..<Int(random.next() % 9)).map { _ in
            switch random.next() % 3 {
            case 0: .point
            case 1: .circle(radius: UInt32(truncatingIfNeeded: random.next()))
            default: .label(String(repeating: "x", count: Int(random.next() % 17)))
            }
        }
        extra = random.next() & 1 == 1 ? UInt32(truncatingIfNeeded: random.next()) : nil
    }
}

/// A small seeded generator so that a failing seed reproduces exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

@Suite struct CodecPropertyTests {
    @Test func randomValuesRoundTrip() async {
        await propertyCheck(count: 10_000, input: Gen.uint64()) { seed in
            let value = Sample(seed: seed)
            let bytes = value.canonicalBytes
            #expect((try? Sample(canonicalBytes: bytes)) == value, "seed \(seed)")
        }
    }

    /// Any byte string decodes to a value that re-encodes to exactly those bytes, or throws a CodecError.
    @Test func randomBytesDecodeCanonicallyOrThrow() async {
        await propertyCheck(count: 10_000, input: Gen.uint8().array(of: 0...120)) { bytes in
            checkTotal(bytes)
        }
    }

    /// Random bytes rarely get past the first fields, so also corrupt valid encodings in small ways.
    @Test func mutatedEncodingsDecodeCanonicallyOrThrow() async {
        await propertyCheck(count: 10_000, input: Gen.uint64()) { seed in
            var random = SplitMix64(seed: seed)
            var bytes = Sample(seed: random.next()).canonicalBytes
            let position = Int(random.next() % UInt64(bytes.count))
            switch random.next() % 4 {
            case 0: bytes[position] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            case 1: bytes.removeSubrange(position...)
            case 2: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
            default: bytes.remove(at: position)
            }
            checkTotal(bytes)
        }
    }

    private func checkTotal(_ bytes: [UInt8]) {
        do {
            let value = try Sample(canonicalBytes: bytes)
            #expect(value.canonicalBytes == bytes)
        } catch {
            // Typed throws: reaching here means a CodecError, never a trap.
            #expect(!error.description.isEmpty)
        }
    }
}

@Suite struct CodecErrorTests {
    @Test func trailingBytesAreRefused() {
        let bytes = Sample(seed: 1).canonicalBytes + [0]
        #expect(throws: CodecError.trailingBytes(count: 1)) { try Sample(canonicalBytes: bytes) }
    }

    @Test func lengthOverBoundIsRefusedBeforeReading() {
        var writer = CanonicalWriter()
        writer.writeULEB128(1 << 40)
        var reader = CanonicalReader(writer.bytes)
        #expect(throws: CodecError.overLengthBound(length: 1 << 40, bound: 300)) { try reader.readBytes(bound: 300) }
    }

    @Test func unknownTagIsNamed() {
        #expect(throws: CodecError.unknownTag(7, type: "Shape")) { try Sample.Shape(canonicalBytes: [7]) }
    }

    @Test func booleanOtherThanZeroOrOneIsRefused() {
        #expect(throws: CodecError.self) { try Bool(canonicalBytes: [2]) }
    }

    @Test func invalidUTF8IsRefused() {
        var reader = CanonicalReader([2, 0xc3, 0x28])
        #expect(throws: CodecError.invalidValue("text is not UTF-8")) { try reader.readString(bound: 8) }
    }

    @Test func arrayCountBeyondInputIsTruncatedNotAllocated() {
        var reader = CanonicalReader([0x08])
        #expect(throws: CodecError.truncated(needed: 8, remaining: 0)) {
            _ = try reader.readArray(of: UInt8.self, bound: 8)
        }
    }

    @Test func littleEndianLayout() {
        var writer = CanonicalWriter()
        writer.write(UInt32(0x0102_0304))
        writer.write(Int64(-2))
        #expect(writer.bytes == [4, 3, 2, 1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    }
}
