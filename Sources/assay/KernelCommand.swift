import ArgumentParser
import AssayBlobs
import AssayKernels
import Foundation

/// `assay kernel run|cost`: executes or meters a catalogue kernel on NumPy files. Every failure (bad files, bad
/// options, a kernel's refusal) reaches ArgumentParser as an error: one line on stderr, exit status 1.
struct KernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel",
        abstract: "Run or meter a deterministic integer kernel on .npy/.npz files (docs/kernels.md).",
        subcommands: [Run.self, Cost.self]
    )

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Execute a kernel; write the output .npy and print its work units and output hash.")

        @OptionGroup var job: KernelJobOptions
        @Option(help: "Where to write the output tensor (.npy).") var out: String
        @Option(help: "Threads to use (the output never depends on it).") var threads: Int = 1
        @Option(help: "Also write the trace blob (every layer's output) here and print its trace root.")
        var trace: String?
        @Option(help: "The chain's max_tile_work_units, which fixes the tiles of the trace root.")
        var maxTileWorkUnits: UInt64 = TraceLayout.defaultMaxTileWorkUnits

        func run() throws {
            let (kernel, model, input) = try job.load()
            let traced = try Kernels.executeTraced(
                kernel, model: model, input: input, limits: job.limits, maxTileWorkUnits: maxTileWorkUnits,
                threads: threads)
            let result = traced.output
            try KernelFiles.write(NPY.encode(result.output), to: out)
            print("work_units \(result.workUnits)")
            print("output_hash \(result.outputHash)")
            // What a result on chain names the output by (its blob id).
            print("output_blob \(BlobRef(of: result.output.canonicalBytes).id)")
            guard let trace else { return }
            try KernelFiles.write(traced.blobBytes, to: trace)
            print("trace_blob \(BlobRef(of: traced.blobBytes).id)")
            print("trace_root \(traced.root)")
        }
    }

    struct Cost: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a job and print its work units.")

        @OptionGroup var job: KernelJobOptions

        func run() throws {
            let (kernel, model, input) = try job.load()
            print(try Kernels.cost(kernel, model: model, input: input, limits: job.limits))
        }
    }
}

/// The kernel, its input and its model, from a `.npz` and/or single-array options.
struct KernelJobOptions: ParsableArguments {
    @Argument(help: "Kernel name: gemm-i8/1, conv2d-i8/1, mlp-q8/1 or qnn/1.") var kernel: String
    @Option(help: "The input tensor (.npy): A for gemm, X for conv2d, the batch for mlp and qnn.") var input: String
    @Option(help: "Model arrays (.npz written by np.savez; names in docs/kernels.md).") var model: String?
    @Option(help: "gemm-i8/1: the B matrix (.npy).") var b: String?
    @Option(help: "conv2d-i8/1: the weights (.npy).") var w: String?
    @Option(name: .customLong("a-zero-point"), parsing: .unconditional, help: "gemm-i8/1: A's zero point.") var aZeroPoint: Int?
    @Option(name: .customLong("b-zero-point"), parsing: .unconditional, help: "gemm-i8/1: B's zero point.") var bZeroPoint: Int?
    @Option(name: .customLong("x-zero-point"), parsing: .unconditional, help: "conv2d-i8/1: X's zero point.") var xZeroPoint: Int?
    @Option(name: .customLong("w-zero-point"), parsing: .unconditional, help: "conv2d-i8/1: w's zero point.") var wZeroPoint: Int?
    @Option(help: "conv2d-i8/1: top,left,bottom,right.") var pads: String?
    @Option(help: "conv2d-i8/1: height,width.") var strides: String?
    @Option(help: "conv2d-i8/1: height,width.") var dilations: String?
    @Option(help: "conv2d-i8/1: number of groups.") var group: Int?
    @Option(name: .customLong("max-work-units"), help: "Refuse jobs above this many multiply-accumulates.")
    var maxWorkUnits: UInt64?

    var limits: KernelLimits {
        var limits = KernelLimits.default
        if let maxWorkUnits { limits.maxWorkUnits = maxWorkUnits }
        return limits
    }

    func load() throws -> (KernelID, Model, Tensor) {
        let kernel = try KernelID(self.kernel)
        let inputTensor = try KernelFiles.tensor(at: input)
        var arrays = try model.map { try KernelFiles.model(at: $0).tensors } ?? []
        func add(_ name: String, _ tensor: Tensor) throws { arrays.append(try NamedTensor(name: name, tensor: tensor)) }
        func dtype(of name: String) -> DType? { arrays.first { $0.name == name }?.tensor.dtype }
        if let b { try add("b", try KernelFiles.tensor(at: b)) }
        if let w { try add("w", try KernelFiles.tensor(at: w)) }
        for (flag, name, value, operand) in [
            ("--a-zero-point", "a_zero_point", aZeroPoint, inputTensor.dtype), ("--b-zero-point", "b_zero_point", bZeroPoint, dtype(of: "b")),
            ("--x-zero-point", "x_zero_point", xZeroPoint, inputTensor.dtype), ("--w-zero-point", "w_zero_point", wZeroPoint, dtype(of: "w")),
        ] {
            guard let value else { continue }
            guard let operand else { throw CommandFailure("\(flag) needs the array it applies to (--b or --w, or in --model)") }
            try add(name, try KernelOptionArrays.scalar(value, dtype: operand, flag: flag))
        }
        for (flag, name, text, count) in [("--pads", "pads", pads, 4), ("--strides", "strides", strides, 2), ("--dilations", "dilations", dilations, 2)] {
            guard let text else { continue }
            try add(name, try KernelOptionArrays.int32List(text, count: count, flag: flag))
        }
        if let group {
            guard let value = Int32(exactly: group) else { throw CommandFailure("--group \(group) does not fit int32") }
            try add("group", try Tensor(int32: [value], shape: []))
        }
        return (kernel, try Model(arrays), inputTensor)
    }
}

/// Model arrays given as command-line options.
enum KernelOptionArrays {
    static func scalar(_ value: Int, dtype: DType, flag: String) throws -> Tensor {
        switch dtype {
        case .int8 where Int8(exactly: value) != nil: return try Tensor(int8: [Int8(value)], shape: [])
        case .uint8 where UInt8(exactly: value) != nil: return try Tensor(uint8: [UInt8(value)], shape: [])
        default: throw CommandFailure("\(flag) \(value) does not fit \(dtype)")
        }
    }

    static func int32List(_ text: String, count: Int, flag: String) throws -> Tensor {
        let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Int32($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == count, values.allSatisfy({ $0 != nil }) else {
            throw CommandFailure("\(flag) needs \(count) comma-separated integers, got '\(text)'")
        }
        return try Tensor(int32: values.map { $0! }, shape: [UInt64(count)])
    }
}

/// File access for the kernel commands; parsing itself is AssayKernels' pure NPY/NPZ code.
enum KernelFiles {
    /// Refuses files larger than any tensor could be, before reading them.
    static let maxFileBytes = Tensor.maxByteCount + (1 << 20)

    static func tensor(at path: String) throws -> Tensor {
        do { return try NPY.decode(try read(path)) } catch let error as NumPyError { throw CommandFailure("\(path): \(error)") }
    }

    static func model(at path: String) throws -> Model {
        do { return try NPZ.decode(try read(path)) } catch let error as NumPyError { throw CommandFailure("\(path): \(error)") }
    }

    static func read(_ path: String) throws -> [UInt8] {
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: path) } catch {
            throw CommandFailure("\(path): cannot read the file")
        }
        if let size = attributes[.size] as? Int, size > maxFileBytes {
            throw CommandFailure("\(path): \(size) bytes is over the \(maxFileBytes)-byte limit")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("\(path): cannot read the file") }
        return [UInt8](data)
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        do { try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw CommandFailure("\(path): cannot write the file (\(error.localizedDescription))")
        }
    }
}
