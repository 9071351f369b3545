import Foundation
import Testing
@testable import AssayKernels

@Suite struct NumPyTests {
    /// The first bytes numpy 2.4 writes for `np.save(f, np.array([[1, 2, 3], [4, 5, -6]], np.int32))`.
    static func numpyInt32File() -> [UInt8] {
        let header = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }"
        let padded = header + String(repeating: " ", count: 118 - header.utf8.count - 1) + "\n"
        return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 118, 0] + Array(padded.utf8)
            + [1, 2, 3, 4, 5, -6].flatMap { (value: Int32) in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    }

    static func npy(descr: String, fortran: Bool = false, shape: String, data: [UInt8], version: UInt8 = 1) -> [UInt8] {
        let header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }\n"
        let length = header.utf8.count
        let lengthBytes: [UInt8] = version == 1 ? [UInt8(length & 0xff), UInt8(length >> 8)]
            : [UInt8(length & 0xff), UInt8(length >> 8), 0, 0]
        return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0] + lengthBytes + Array(header.utf8) + data
    }

    @Test func readsWhatNumpyWrites() throws {
        let tensor = try NPY.decode(Self.numpyInt32File())
        #expect(tensor.dtype == .int32)
        #expect(tensor.shape == [2, 3])
        #expect(tensor.int32Values == [1, 2, 3, 4, 5, -6])
        #expect(NPY.encode(tensor) == Self.numpyInt32File())
    }

    @Test func roundTripsEveryDTypeAndRank() throws {
        let tensors = [
            try Tensor(uint8: [7], shape: []), try Tensor(int8: [-1, 2, -3], shape: [3]),
            try Tensor(int32: [Int32.min, Int32.max], shape: [1, 2, 1]), try Tensor(uint8: [], shape: [0, 4]),
        ]
        for tensor in tensors {
            let bytes = NPY.encode(tensor)
            #expect((bytes.count - tensor.data.count) % 64 == 0)
            #expect(try NPY.decode(bytes) == tensor)
        }
        #expect(try NPY.decode(Self.npy(descr: "|u1", shape: "(2,)", data: [1, 2], version: 2)) == (try Tensor(uint8: [1, 2], shape: [2])))
    }

    @Test func malformedFilesGiveClearErrors() {
        let good = Self.npy(descr: "|u1", shape: "(2, 2)", data: [1, 2, 3, 4])
        let cases: [([UInt8], NumPyError)] = [
            (Array(good.prefix(good.count - 1)), .dataSizeMismatch(shape: [2, 2], expectedBytes: "4", actualBytes: 3)),
            (Array(good.prefix(20)), .notNPY("truncated inside the header")),
            (Array(good.prefix(5)), .notNPY("missing the \\x93NUMPY magic")),
            (Self.npy(descr: "<f4", shape: "(1,)", data: [0, 0, 0, 0]), .unsupportedDType("<f4")),
            (Self.npy(descr: ">i4", shape: "(1,)", data: [0, 0, 0, 1]), .bigEndian(">i4")),
            (Self.npy(descr: "|u1", fortran: true, shape: "(2, 2)", data: [1, 2, 3, 4]), .fortranOrder),
            (Self.npy(descr: "|u1", shape: "(3, 2)", data: [1, 2, 3, 4]), .dataSizeMismatch(shape: [3, 2], expectedBytes: "6", actualBytes: 4)),
            (Self.npy(descr: "|u1", shape: "(1048576, 1048576)", data: [1]), .tooLarge("shape [1048576, 1048576] of uint8 is over 2147483648 bytes")),
            (Self.npy(descr: "|u1", shape: "(99999999999999999999,)", data: []), .tooLarge("a dimension does not fit 64 bits")),
            (Self.npy(descr: "|u1", shape: "(-1,)", data: []), .badHeader("expected a non-negative integer in shape")),
            (Self.npy(descr: "|u1", shape: "(2,)", data: [1, 2], version: 3), .unsupportedVersion(major: 3, minor: 0)),
        ]
        for (bytes, expected) in cases {
            #expect(throws: expected) { try NPY.decode(bytes) }
        }
    }

    /// `np.savez(f, b=np.array([[1, -2], [3, 127]], np.int8), b_zero_point=np.array(-128, np.int8))`.
    static let savez = Data(base64Encoded: "UEsDBC0AAAAAAAAAIQCRwuk3//////////8FABQAYi5ucHkBABAAhAAAAAAAAACEAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJ3xpMScsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgyLCAyKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAf4Df1BLAwQtAAAAAAAAACEAads33v//////////EAAUAGJfemVyb19wb2ludC5ucHkBABAAgQAAAAAAAACBAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJ3xpMScsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKgFBLAQItAy0AAAAAAAAAIQCRwuk3hAAAAIQAAAAFAAAAAAAAAAAAAACAAQAAAABiLm5weVBLAQItAy0AAAAAAAAAIQBp2zfegQAAAIEAAAAQAAAAAAAAAAAAAACAAbsAAABiX3plcm9fcG9pbnQubnB5UEsFBgAAAAACAAIAcQAAAH4BAAAAAA==")!

    /// `np.savez_compressed(f, b=np.array([[1, -2], [3, 127]], np.int8))`.
    static let savezCompressed = Data(base64Encoded: "UEsDBC0AAAAIAAAAIQCRwuk3//////////8FABQAYi5ucHkBABAAhAAAAAAAAABKAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loF6Taaiuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GkY6CkaaOgq1CmQDLsZ/zPUAUEsBAi0DLQAAAAgAAAAhAJHC6TdKAAAAhAAAAAUAAAAAAAAAAAAAAIABAAAAAGIubnB5UEsFBgAAAAABAAEAMwAAAIEAAAAAAA==")!

    @Test func readsNumpySavez() throws {
        let model = try NPZ.decode([UInt8](Self.savez))
        #expect(model.names == ["b", "b_zero_point"])
        #expect(model["b"] == (try Tensor(int8: [1, -2, 3, 127], shape: [2, 2])))
        #expect(model["b_zero_point"] == (try Tensor(int8: [-128], shape: [])))
    }

    @Test func refusesCompressedCorruptAndTruncatedArchives() {
        #expect(throws: NumPyError.compressedEntry("b.npy")) {
            try NPZ.decode([UInt8](Self.savezCompressed))
        }
        var corrupt = [UInt8](Self.savez)
        corrupt[185] ^= 1  // inside the first entry's array data (local header 55 bytes, .npy header 128)
        #expect(throws: NumPyError.badEntry(name: "b.npy", reason: "CRC-32 mismatch")) { try NPZ.decode(corrupt) }
        let bytes = [UInt8](Self.savez)
        for cut in [0, 10, 100, bytes.count / 2, bytes.count - 1] {
            #expect(throws: NumPyError.self) { try NPZ.decode(Array(bytes.prefix(cut))) }
        }
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }
}

/// `assay job output` converts a downloaded tensor encoding to `.npy` in pieces, never holding the data whole.
@Suite struct NPYStreamTests {
    func stream(_ encoding: [UInt8], pieces: Int) throws -> [UInt8] {
        var stream = NPYStream()
        var out: [UInt8] = []
        var start = 0
        while start < encoding.count {
            let end = min(encoding.count, start + pieces)
            out += try stream.npyBytes(Array(encoding[start..<end]))
            start = end
        }
        try stream.finish()
        return out
    }

    @Test func piecesOfAnySizeGiveTheFileEncodeWrites() throws {
        let tensors = [
            try Tensor(int32: (0..<1000).map { Int32($0) - 500 }, shape: [10, 25, 4]), try Tensor(uint8: [7], shape: []),
            try Tensor(uint8: [], shape: [0, 3]),
        ]
        for tensor in tensors {
            for pieces in [1, 3, 64, 5_000] {
                #expect(try stream(tensor.canonicalBytes, pieces: pieces) == NPY.encode(tensor), "\(tensor.shape) in \(pieces)")
            }
        }
    }

    @Test func whatIsNotOneTensorIsRefused() throws {
        let encoding = try Tensor(int8: [1, 2, 3, 4], shape: [2, 2]).canonicalBytes
        #expect(throws: NumPyError.notTensor("the encoding ends early")) { try stream(Array(encoding.dropLast()), pieces: 2) }
        #expect(throws: NumPyError.notTensor("1 bytes after the data")) { try stream(encoding + [0], pieces: 100) }
        #expect(throws: NumPyError.self) { try stream([9, 1, 2], pieces: 1) }  // dtype tag 9
        var wrongLength = encoding
        wrongLength[wrongLength.count - 5] = 5  // the data length byte claims 5 bytes for 2x2 int8
        #expect(throws: NumPyError.self) { try stream(wrongLength, pieces: 100) }
    }
}
