/// Bounds checked before a kernel allocates or computes anything: a job or a challenge can never make a node
/// allocate or work more than these allow.
public struct KernelLimits: Sendable, Equatable {
    /// Most multiply-accumulates one execution may perform (the work-unit formula of the kernel).
    public var maxWorkUnits: UInt64
    /// Most elements of any tensor the kernel reads, writes or builds internally.
    public var maxElements: UInt64
    /// Largest single dimension (M, K, N, channels, heights, widths, kernel sizes, pads, strides, dilations).
    public var maxDimension: UInt64
    /// Highest rank of any input or model tensor.
    public var maxRank: Int
    /// Most layers of an `mlp-q8/1` model, and nodes of a `qnn/1` model.
    public var maxLayers: Int

    public init(maxWorkUnits: UInt64, maxElements: UInt64, maxDimension: UInt64, maxRank: Int, maxLayers: Int) {
        self.maxWorkUnits = maxWorkUnits
        self.maxElements = maxElements
        self.maxDimension = maxDimension
        self.maxRank = maxRank
        self.maxLayers = maxLayers
    }

    /// 2^34 MACs (about 0.2 s on two cores), 2^26 elements (256 MiB of int32), dimensions up to 2^20.
    public static let `default` = KernelLimits(
        maxWorkUnits: 1 << 34, maxElements: 1 << 26, maxDimension: 1 << 20, maxRank: 4, maxLayers: 64
    )

    /// The default limits with the work limited to a job's `max_work_units` instead (the chain bounds that by
    /// `max_job_work_units`; a job's disputes cost one tile, not the job): what the ledger, the validators' replay
    /// workers and providers all use, so that they refuse exactly the same jobs.
    public static func forJob(maxWorkUnits: UInt64) -> KernelLimits {
        var limits = KernelLimits.default
        limits.maxWorkUnits = maxWorkUnits
        return limits
    }
}
