import AssayKernels
import Foundation
import Testing
@testable import assay

/// `assay model import` then `inspect`, in-process, on the digits MLP fixture.
@Suite("assay model")
final class ModelCommandTests {
    let directory = NSTemporaryDirectory() + "assay-model-" + UUID().uuidString
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Tools/models/fixtures").standardized.path

    init() throws { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    private func run(_ arguments: [String]) throws {
        var command = try Assay.parseAsRoot(arguments)
        try command.run()
    }

    @Test func importWritesAModelFileThatInspectAndTheKernelsRead() throws {
        let out = directory + "/mlp.qnn"
        try run(["model", "import", fixtures + "/digits_mlp_int8_qop.onnx", "--out", out])
        let model = try KernelFiles.model(at: out)
        #expect(model["node0.op"] != nil && model["input_zero_point"]?.dtype == .uint8)
        #expect(try QNN.cost(model: model, input: TensorSpec(dtype: .uint8, shape: [1, 1, 8, 8]), limits: .default) == 64 + 4096 + 64 + 2048 + 32 + 320 + 10)
        try run(["model", "inspect", out, "--input-shape", "1,1,8,8"])
        try run(["model", "inspect", fixtures + "/digits_mlp_int8_qdq.onnx"])
    }

    @Test func aFloatModelFailsWithOneLineAndWritesNothing() throws {
        let out = directory + "/float.qnn"
        let error = try #require(throws: CommandFailure.self) {
            try run(["model", "import", fixtures + "/digits_mlp.onnx", "--out", out])
        }
        #expect(error.description.contains("node 'fc1_matmul' (MatMul)") && !error.description.contains("\n"))
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(throws: CommandFailure.self) { try run(["model", "inspect", self.directory + "/missing.qnn", "--input-shape", "1"]) }
    }
}
