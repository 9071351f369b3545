import AssayCodec
import AssayCrypto
import AssayTypes

/// What one execution produced: the output tensor and the work units (multiply-accumulates) it cost.
public struct KernelOutput: Sendable, Equatable {
    public let output: Tensor
    public let workUnits: UInt64

    public init(output: Tensor, workUnits: UInt64) {
        self.output = output
        self.workUnits = workUnits
    }

    /// SHA-256 of the output tensor's canonical bytes: what a provider commits to and a validator compares.
    public var outputHash: Hash { SHA256.hash(output.canonicalBytes) }
}

/// The entry points: validate, meter, execute. Pure: no I/O, no clock, no global state; `threads` changes only
/// the speed, never a bit of the output.
public enum Kernels {
    /// Validates the model and input against the kernel and the limits and returns the work units an execution
    /// would cost, without computing anything large.
    public static func cost(
        _ kernel: KernelID, model: Model, input: Tensor, limits: KernelLimits
    ) throws(KernelError) -> UInt64 {
        try plan(kernel, model: model, input: input, limits: limits).workUnits
    }

    /// Validates, checks the limits, then runs the optimised implementation on up to `threads` threads.
    public static func execute(
        _ kernel: KernelID, model: Model, input: Tensor, limits: KernelLimits, threads: Int = 1
    ) throws(KernelError) -> KernelOutput {
        let plan = try plan(kernel, model: model, input: input, limits: limits)
        return plan.run(model: model, input: input, implementation: .optimised(threads: max(1, threads)))
    }

    /// The plain-loop oracle: same validation and limits, same output bits, no speed.
    public static func executeReference(
        _ kernel: KernelID, model: Model, input: Tensor, limits: KernelLimits
    ) throws(KernelError) -> KernelOutput {
        let plan = try plan(kernel, model: model, input: input, limits: limits)
        return plan.run(model: model, input: input, implementation: .reference)
    }

    static func plan(
        _ kernel: KernelID, model: Model, input: Tensor, limits: KernelLimits
    ) throws(KernelError) -> any KernelPlan {
        try TracedPlan(kernel, model: model, input: input.spec, limits: limits).plan
    }
}

/// A validated plan of one of the catalogue's kernels, known by its concrete type (tiling and tracing need it).
enum TracedPlan: Sendable {
    case gemm(GemmPlan)
    case conv(ConvPlan)
    case mlp(MLPPlan)
    case qnn(QNNPlan)

    init(_ kernel: KernelID, model: Model, input: TensorSpec, limits: KernelLimits) throws(KernelError) {
        switch kernel {
        case .gemmI8: self = .gemm(try GemmPlan(model: model, input: input, limits: limits))
        case .conv2dI8: self = .conv(try ConvPlan(model: model, input: input, limits: limits))
        case .mlpQ8: self = .mlp(try MLPPlan(model: model, input: input, limits: limits))
        case .qnn: self = .qnn(try QNNPlan(model: model, input: input, limits: limits))
        default: throw .unknownKernel(kernel.rawValue)
        }
    }

    var plan: any KernelPlan {
        switch self {
        case let .gemm(plan): plan
        case let .conv(plan): plan
        case let .mlp(plan): plan
        case let .qnn(plan): plan
        }
    }
}

enum Implementation {
    case reference
    case optimised(threads: Int)
}

/// A validated execution: shapes, attributes and work units known, limits checked, nothing large allocated yet.
protocol KernelPlan {
    var workUnits: UInt64 { get }
    func run(model: Model, input: Tensor, implementation: Implementation) -> KernelOutput
}
