import AssayKernels
import Foundation

/// gemm-i8/1 and conv2d-i8/1 throughput (GOPS = 2 x multiply-accumulates per second) at 1 and 2 threads, each beside
/// ONNX Runtime's MatMulInteger / ConvInteger on the same shapes, dtypes and threads, measured just before it in the
/// same run by `Tools/kernel_bench_onnx.py` under `Tools/.venv` (no baseline is shown when that is not installed).
/// Each side's figure is its best of three alternating rounds.
enum KernelBench {
    struct Case {
        let label: String
        let onnxSpec: String
        let kernel: KernelID
        let model: Model
        let input: Tensor
        let threads: Int
    }

    static let rounds = 3

    static func run() throws {
        try compare(try makeCases())
        try TileCheckBench.run()
    }

    /// Prints each case's GOPS beside ONNX Runtime's on its `onnxSpec`.
    static func compare(_ cases: [Case]) throws {
        let onnxRuntime = OnnxRuntimeBaseline.start()
        if onnxRuntime == nil { print("(no ONNX Runtime baseline: run Tools/crosscheck-kernels once to create Tools/.venv)") }
        for item in cases { _ = try gops(item) }  // warm up threads, allocator and caches
        for item in cases {
            // Alternating rounds give both sides the same chances on a machine shared with other work.
            var best = 0.0, baseline: Double? = nil
            for _ in 0..<rounds {
                if let measured = onnxRuntime?.gops(item.onnxSpec) { baseline = max(baseline ?? 0, measured) }
                best = max(best, try gops(item))
            }
            Measure.line(item.label, best, "GOPS", baseline: baseline)
        }
        onnxRuntime?.stop()
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

    /// The best time of the runs in about 0.3 s (at least 5), as the ONNX Runtime script measures: on a shared
    /// machine the fastest run is the one least disturbed by other processes.
    static func gops(_ item: Case) throws -> Double {
        let limits = KernelLimits.default
        let work = try Kernels.cost(item.kernel, model: item.model, input: item.input, limits: limits)
        var best = Double.infinity
        var runs = 0
        let start = Measure.now()
        while runs < 5 || (Measure.now() - start < 0.3 && runs < 200) {
            let begin = Measure.now()
            _ = try Kernels.execute(item.kernel, model: item.model, input: item.input, limits: limits, threads: item.threads)
            best = min(best, Measure.now() - begin)
            runs += 1
        }
        return 2 * Double(work) / best / 1e9
    }

    static func randomTensor(_ dtype: DType, _ shape: [Int], _ generator: inout SplitMix64) throws -> Tensor {
        let count = shape.reduce(1, *)
        let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        return try Tensor(dtype: dtype, shape: shape.map { UInt64($0) }, data: bytes)
    }
}

/// The ONNX Runtime script as a child process that measures one case per request.
final class OnnxRuntimeBaseline {
    static let python = "Tools/.venv/bin/python"
    let process: Process
    let requests: FileHandle
    let replies: FileHandle
    var pending: [UInt8] = []

    private init(process: Process, requests: FileHandle, replies: FileHandle) {
        self.process = process
        self.requests = requests
        self.replies = replies
    }

    /// Nil when the virtual environment is missing or the script cannot start.
    static func start() -> OnnxRuntimeBaseline? {
        guard FileManager.default.isExecutableFile(atPath: python) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["Tools/kernel_bench_onnx.py"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        do { try process.run() } catch { return nil }
        return OnnxRuntimeBaseline(process: process, requests: input.fileHandleForWriting, replies: output.fileHandleForReading)
    }

    /// ONNX Runtime's GOPS for one case, or nil if the script failed.
    func gops(_ spec: String) -> Double? {
        requests.write(Data((spec + "\n").utf8))
        while !pending.contains(UInt8(ascii: "\n")) {
            let chunk = replies.availableData
            if chunk.isEmpty { return nil }
            pending += chunk
        }
        let end = pending.firstIndex(of: UInt8(ascii: "\n"))!
        let reply = try? JSONSerialization.jsonObject(with: Data(pending[..<end])) as? [String: Any]
        pending.removeSubrange(...end)
        return reply?["gops"] as? Double
    }

    func stop() {
        try? requests.close()
        process.waitUntilExit()
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
