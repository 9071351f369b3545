import AssayCodec
import AssayCrypto
import Testing
@testable import AssayKernels

@Suite struct CodecTests {
    @Test func tensorRoundTripsAndHasDocumentedBytes() throws {
        let tensor = try Tensor(int32: [1, -1], shape: [2])
        // dtype tag 2, shape count 1, dimension 2 as UInt64 LE, data length 8, data LE.
        let expected: [UInt8] = [2, 1, 2, 0, 0, 0, 0, 0, 0, 0, 8, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]
        #expect(tensor.canonicalBytes == expected)
        #expect(try Tensor(canonicalBytes: expected) == tensor)
        let scalar = try Tensor(uint8: [7], shape: [])
        #expect(try Tensor(canonicalBytes: scalar.canonicalBytes) == scalar)
    }

    @Test(arguments: [
        [UInt8(3), 0, 0],  // unknown dtype tag
        [1, 1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 5],  // shape [2] of uint8 but one data byte
        [1, 9] + [UInt8](repeating: 1, count: 72) + [1, 0],  // rank 9
        [1, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0],  // shape [2^40, 2^56]: product over the byte limit
        [1, 1, 2, 0, 0, 0],  // truncated shape
    ])
    func tensorRejectsBadBytes(bytes: [UInt8]) {
        #expect(throws: CodecError.self) { try Tensor(canonicalBytes: bytes) }
    }

    @Test func tensorInitChecksDataLength() {
        #expect(throws: KernelError.self) { try Tensor(dtype: .int32, shape: [2], data: [0, 0, 0, 0]) }
        #expect(throws: KernelError.self) { try Tensor(dtype: .uint8, shape: [1 << 40, 1 << 40], data: []) }
    }

    @Test func modelSortsRoundTripsAndHashesItsBytes() throws {
        let b = try Tensor(int8: [1, 2], shape: [1, 2])
        let zero = try Tensor(int8: [0], shape: [])
        let model = try Model(arrays: [("b_zero_point", zero), ("b", b)])
        #expect(model.names == ["b", "b_zero_point"])
        #expect(try Model(canonicalBytes: model.canonicalBytes) == model)
        #expect(model.hash == SHA256.hash(model.canonicalBytes))
        #expect(throws: KernelError.self) { try Model(arrays: [("b", b), ("b", zero)]) }
    }

    @Test func modelDecoderRejectsUnsortedAndDuplicateNames() throws {
        let b = try NamedTensor(name: "b", tensor: try Tensor(int8: [1], shape: []))
        let a = try NamedTensor(name: "a", tensor: try Tensor(int8: [1], shape: []))
        for order in [[b, a], [a, a]] {
            var writer = CanonicalWriter()
            writer.write(order)
            #expect(throws: CodecError.self) { try Model(canonicalBytes: writer.bytes) }
        }
    }

    @Test func kernelIDCodecAcceptsOnlyTheCatalogue() throws {
        for kernel in KernelID.catalogue {
            #expect(try KernelID(canonicalBytes: kernel.canonicalBytes) == kernel)
            #expect(try KernelID(kernel.rawValue) == kernel)
        }
        var writer = CanonicalWriter()
        writer.write("gemm-i8/2")
        #expect(throws: CodecError.self) { try KernelID(canonicalBytes: writer.bytes) }
        #expect(throws: KernelError.unknownKernel("gemm-i8/2")) { try KernelID("gemm-i8/2") }
        #expect(KernelID.catalogue == KernelID.catalogue.sorted())
    }

    @Test func outputHashIsSHA256OfTheOutputsCanonicalBytes() throws {
        let model = try Model(arrays: [("b", try Tensor(uint8: [2], shape: [1, 1]))])
        let result = try Kernels.execute(.gemmI8, model: model, input: try Tensor(uint8: [3], shape: [1, 1]), limits: .default)
        #expect(result.outputHash == SHA256.hash(try Tensor(int32: [6], shape: [1, 1]).canonicalBytes))
    }
}
