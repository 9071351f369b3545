/// Every layer's output of one `qnn/1` execution and what each cost; the last layer is the kernel's output.
public struct QNNResult: Sendable, Equatable {
    /// Node i's output (the activation dtype), in node order.
    public let layers: [Tensor]
    /// Node i's work units (docs/kernels.md, "qnn/1"); they add up to `workUnits`.
    public let layerWorkUnits: [UInt64]
    public let workUnits: UInt64

    public var output: Tensor { layers[layers.count - 1] }
}

/// The entry points of `qnn/1` (docs/kernels.md, "qnn/1"): validate and meter a quantized network from shapes alone,
/// or run it and keep every layer's output. Pure, like `Kernels`; `threads` changes only the speed. The same kernel
/// is `KernelID.qnn` in the catalogue, where `Kernels` and `TraceLayout` reach it (one trace layer per node).
public enum QNN {
    /// Validates the model against the input's dtype and shape and the limits; returns the work units.
    public static func cost(model: Model, input: TensorSpec, limits: KernelLimits) throws(KernelError) -> UInt64 {
        try QNNPlan(model: model, input: input, limits: limits).workUnits
    }

    /// Every layer's output dtype and shape, in node order, from shapes alone (what a trace would lay out).
    public static func layerSpecs(model: Model, input: TensorSpec, limits: KernelLimits) throws(KernelError) -> [TensorSpec] {
        try QNNPlan(model: model, input: input, limits: limits).layerSpecs
    }

    /// Validates, then runs linear and conv layers on the optimised integer cores with up to `threads` threads.
    public static func execute(model: Model, input: Tensor, limits: KernelLimits, threads: Int = 1) throws(KernelError) -> QNNResult {
        try run(model: model, input: input, limits: limits, implementation: .optimised(threads: max(1, threads)))
    }

    /// The same on the plain-loop oracles of the GEMM and the convolution: the same bits, no speed.
    public static func executeReference(model: Model, input: Tensor, limits: KernelLimits) throws(KernelError) -> QNNResult {
        try run(model: model, input: input, limits: limits, implementation: .reference)
    }

    private static func run(
        model: Model, input: Tensor, limits: KernelLimits, implementation: Implementation
    ) throws(KernelError) -> QNNResult {
        let plan = try QNNPlan(model: model, input: input.spec, limits: limits)
        let outputs = plan.run(model: model, input: input.data, implementation: implementation)
        let layers = zip(plan.layerSpecs, outputs).map { spec, bytes in
            // The plan derived every shape; a length that disagrees is a bug in the kernel.
            try! Tensor(dtype: spec.dtype, shape: spec.shape, data: bytes)
        }
        return QNNResult(layers: layers, layerWorkUnits: plan.nodes.map(\.workUnits), workUnits: plan.workUnits)
    }
}

extension QNNPlan: KernelPlan {
    /// The last node's output as the kernel's output: what `Kernels.execute` returns for `qnn/1`.
    func run(model: Model, input: Tensor, implementation: Implementation) -> KernelOutput {
        kernelOutput(lastLayer: run(model: model, input: input.data, implementation: implementation).last!)
    }

    func kernelOutput(lastLayer: [UInt8]) -> KernelOutput {
        // The plan derived the shape; a length that disagrees is a bug in the kernel.
        KernelOutput(output: try! Tensor(dtype: activation, shape: layerSpecs.last!.shape, data: lastLayer), workUnits: workUnits)
    }
}
