import AssayCodec
import Testing

@Suite struct ULEB128Tests {
    static let minimalForms: [(UInt64, [UInt8])] = [
        (0, [0x00]), (127, [0x7f]), (128, [0x80, 0x01]), (300, [0xac, 0x02]),
        (UInt64.max, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    ]

    @Test(arguments: minimalForms)
    func encodesMinimally(value: UInt64, expected: [UInt8]) throws {
        var writer = CanonicalWriter()
        writer.writeULEB128(value)
        #expect(writer.bytes == expected)
        var reader = CanonicalReader(expected)
        #expect(try reader.readULEB128() == value)
        try reader.finish()
    }

    @Test(arguments: [
        [UInt8(0x80), 0x00] as [UInt8],  // 0 written in two bytes
        [0xff, 0x80, 0x00],  // trailing zero group
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],  // 65 bits
        [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],  // 11 bytes
    ])
    func refusesNonMinimalOrOverlong(bytes: [UInt8]) {
        var reader = CanonicalReader(bytes)
        #expect(throws: CodecError.nonMinimalLength) { try reader.readULEB128() }
    }

    @Test func refusesTruncated() {
        var reader = CanonicalReader([0x80])
        #expect(throws: CodecError.truncated(needed: 1, remaining: 0)) { try reader.readULEB128() }
    }
}
