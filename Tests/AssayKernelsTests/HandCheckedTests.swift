import Testing
@testable import AssayKernels

@Suite struct HandCheckedTests {
    @Test func gemmWithZeroPoints() throws {
        // A = [[1, 2], [3, 4]] uint8, za = 1; B = [[5, 6], [7, 8]] uint8, zb = 5.
        // (A - 1) = [[0, 1], [2, 3]]; (B - 5) = [[0, 1], [2, 3]]; product = [[2, 3], [6, 11]].
        let a = try Tensor(uint8: [1, 2, 3, 4], shape: [2, 2])
        let model = try Model(arrays: [
            ("b", try Tensor(uint8: [5, 6, 7, 8], shape: [2, 2])),
            ("a_zero_point", try Tensor(uint8: [1], shape: [])),
            ("b_zero_point", try Tensor(uint8: [5], shape: [])),
        ])
        for threads in [1, 2] {
            let result = try Kernels.execute(.gemmI8, model: model, input: a, limits: .default, threads: threads)
            #expect(result.output.int32Values == [2, 3, 6, 11])
            #expect(result.output.shape == [2, 2])
            #expect(result.workUnits == 8)
        }
    }
}
