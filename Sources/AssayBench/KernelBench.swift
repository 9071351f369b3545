import AssayKernels
import Foundation

/// gemm-i8/1 and conv2d-i8/1 throughput (GOPS = 2 x multiply-accumulates per second) at 1 and 2 threads, each beside
/// ONNX Runtime's MatMulInteger / ConvInteger on the same shapes, dtypes and threads, measured in the same run by
/// `Tools/kernel_bench_onnx.py` under `Tools/.venv` (the line shows no baseline when that is not installed).
enum KernelBench {
    struct Case {
        let label: String
        let onnxSpec: String
        let kernel: KernelID
        let model: Model
        let input: Tensor
        let threads: Int
    }

    static func run() throws {
        let cases = try makeCases()
        let baselines = onnxRuntimeGOPS(cases.map(\.onnxSpec))
        if baselines.isEmpty { print("(ONNX Runtime baseline unavailable: run Tools/crosscheck-kernels once to create Tools/.venv)") }
        for item in cases {
            Measure.line(item.label, try gops(item), "GOPS", baseline: baselines[item.onnxSpec])
        }
    }

    static func makeCases() throws -> [Case] {
        var generator = SplitMix64(seed: 7)
        var cases: [Case] = []
        for size in [256, 1024] {
            for dtype in [DType.uint8, .int8] {
                let a = try randomTensor(dtype, [size, size], &generator)
                let model = try Model(arrays: [("b", try randomTensor(dtype, [size, size], &generator))])
                for threads in [1, 2] {
                    cases.append(Case(
                        label: "gemm-i8 \(dtype)x\(dtype) \(size)^3 \(threads)t",
                        onnxSpec: "gemm,\(dtype),\(dtype),\(size),\(size),\(size),\(threads)",
                        kernel: .gemmI8, model: model, input: a, threads: threads))
                }
            }
        }
        let x = try randomTensor(.uint8, [1, 64, 56, 56], &generator)
        let convModel = try Model(arrays: [
            ("w", try randomTensor(.uint8, [64, 64, 3, 3], &generator)),
            ("pads", try Tensor(int32: [1, 1, 1, 1], shape: [4])),
        ])
        for threads in [1, 2] {
            cases.append(Case(
                label: "conv2d-i8 uint8 1x64x56x56 64x3x3 pad 1 \(threads)t",
                onnxSpec: "conv,uint8,uint8,1,64,56,56,64,3,1,\(threads)",
                kernel: .conv2dI8, model: convModel, input: x, threads: threads))
        }
        return cases
    }

    /// Median over runs of at least half a second (and at least 5 runs), after one warm-up run.
    static func gops(_ item: Case) throws -> Double {
        let limits = KernelLimits.default
        let work = try Kernels.execute(item.kernel, model: item.model, input: item.input, limits: limits, threads: item.threads).workUnits
        var times: [Double] = []
        let start = Measure.now()
        while times.count < 5 || (Measure.now() - start < 0.5 && times.count < 200) {
            let begin = Measure.now()
            _ = try Kernels.execute(item.kernel, model: item.model, input: item.input, limits: limits, threads: item.threads)
            times.append(Measure.now() - begin)
        }
        return 2 * Double(work) / times.sorted()[times.count / 2] / 1e9
    }

    /// Runs the ONNX Runtime script; an empty result when Python or the packages are missing.
    static func onnxRuntimeGOPS(_ specs: [String]) -> [String: Double] {
        let python = "Tools/.venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else { return [:] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["Tools/kernel_bench_onnx.py"] + specs
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch { return [:] }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let parsed = try? JSONSerialization.jsonObject(with: data) as? [String: Double] else { return [:] }
        return parsed
    }

    static func randomTensor(_ dtype: DType, _ shape: [Int], _ generator: inout SplitMix64) throws -> Tensor {
        let count = shape.reduce(1, *)
        let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        return try Tensor(dtype: dtype, shape: shape.map { UInt64($0) }, data: bytes)
    }
}

/// A small seeded generator so that every run benchmarks the same data.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
