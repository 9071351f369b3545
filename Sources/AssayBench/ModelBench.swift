import AssayKernels
import AssayONNX
import Foundation

/// `Tools/bench models`: qnn/1 on the digits CNN of Tools/models at batch 1024, and on a CNN of the size ONNX
/// Runtime's int8 benchmarks use (uint8 1x64x56x56 through three 3x3 convolutions of 64 filters with pad 1, each
/// requantized and clamped as a relu), at 1 and 2 threads, beside ONNX Runtime running the same model on the same
/// input in the same run: the digits model's own .onnx file, and the random CNN as QLinearConv nodes with the same
/// weights, biases and scales (its arrays and input go to ONNX Runtime as one .npy each in a temporary directory).
/// GOPS = 2 x work units (the job's multiply-accumulates) per second, on both sides.
enum ModelBench {
    static let layers = 3

    static func run() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("assay-model-bench-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (model, input) = try makeCNN()
        for named in model.tensors { try write(NPY.encode(named.tensor), directory, named.name) }
        try write(NPY.encode(input), directory, "input")
        let random = [1, 2].map { threads in
            KernelBench.Case(
                label: "qnn/1 CNN uint8 1x64x56x56, \(layers) x conv 64x3x3 pad 1 + relu \(threads)t",
                onnxSpec: "qnn,\(directory.path),\(threads)", kernel: .qnn, model: model, input: input, threads: threads)
        }
        try KernelBench.compare(try digitsCases(directory) + random)
    }

    static let digitsModel = "Tools/models/fixtures/digits_cnn_int8_qop.onnx"
    static let digitsBatch = 1024

    /// The digits CNN of Tools/models, imported as `assay model import` does, on 1024 random 8x8 images. ONNX
    /// Runtime runs the .onnx file itself on those images dequantized, so its own QuantizeLinear gives back the same
    /// bytes; both sides count the job's work units.
    static func digitsCases(_ directory: URL) throws -> [KernelBench.Case] {
        let imported = try ONNXImport.importModel([UInt8](try Data(contentsOf: URL(fileURLWithPath: digitsModel))))
        var generator = SplitMix64(seed: 13)
        let input = try KernelBench.randomTensor(.uint8, [digitsBatch, 1, 8, 8], &generator)
        try write(NPY.encode(input), directory, "digits")
        let work = try Kernels.cost(.qnn, model: imported.model, input: input, limits: .default)
        let inputPath = directory.appendingPathComponent("digits.npy").path
        return [1, 2].map { threads in
            KernelBench.Case(
                label: "qnn/1 digits CNN (Tools/models) batch \(digitsBatch) \(threads)t",
                onnxSpec: "onnx,\(digitsModel),\(inputPath),\(work),\(threads)", kernel: .qnn, model: imported.model,
                input: input, threads: threads)
        }
    }

    static func makeCNN() throws -> (Model, Tensor) {
        var generator = SplitMix64(seed: 12)
        let channels = 64
        var arrays: [(String, Tensor)] = [("input_zero_point", try Tensor(uint8: [0], shape: []))]
        for node in 0..<layers {
            let biases = (0..<channels).map { _ in Int32(truncatingIfNeeded: generator.next() % 2001) - 1000 }
            let fields: [(String, Tensor)] = [
                ("op", try Tensor(uint8: [1], shape: [])),
                ("inputs", try Tensor(int32: [Int32(node)], shape: [1])),
                ("weight", try KernelBench.randomTensor(.int8, [channels, channels, 3, 3], &generator)),
                ("bias", try Tensor(int32: biases, shape: [UInt64(channels)])),
                ("pads", try Tensor(int32: [1, 1, 1, 1], shape: [4])),
                // About 2^-13: keeps the sums of 576 products mostly inside uint8 once centred at 0.
                ("multiplier", try Tensor(int32: [1 << 30], shape: [])),
                ("shift", try Tensor(int32: [12], shape: [])),
                ("output_zero_point", try Tensor(uint8: [0], shape: [])),
            ]
            arrays += fields.map { ("node\(node).\($0.0)", $0.1) }
        }
        return (try Model(arrays: arrays), try KernelBench.randomTensor(.uint8, [1, channels, 56, 56], &generator))
    }

    private static func write(_ bytes: [UInt8], _ directory: URL, _ name: String) throws {
        try Data(bytes).write(to: directory.appendingPathComponent(name + ".npy"))
    }
}
