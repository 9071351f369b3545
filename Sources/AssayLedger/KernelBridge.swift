import AssayBlobs
import AssayCodec
import AssayKernels
import AssayTypes

/// The ledger's use of AssayKernels: which kernel names exist, which model bytes are valid, what a job costs,
/// and what re-executing it produces. Limits come from the chain parameters so that every node refuses the same.
enum KernelBridge {
    static func isKnown(_ name: String) -> Bool { (try? KernelID(name)) != nil }

    static func isValidModel(_ bytes: [UInt8]) -> Bool { (try? Model(canonicalBytes: bytes)) != nil }

    /// The work units the job will cost, or nil when the kernel refuses its model or input.
    static func cost(_ job: Job, model: [UInt8], input: [UInt8]) -> UInt64? {
        guard let prepared = prepare(job, model: model, input: input) else { return nil }
        return try? Kernels.cost(
            prepared.kernel, model: prepared.model, input: prepared.input,
            limits: .forJob(maxWorkUnits: job.maxWorkUnits))
    }

    /// Re-executes the job: the output hash (the output blob's id) and work units an honest provider reports,
    /// or nil on refusal.
    static func execute(_ job: Job, model: [UInt8], input: [UInt8]) -> (outputHash: Hash, workUnits: UInt64)? {
        guard let prepared = prepare(job, model: model, input: input),
            let output = try? Kernels.execute(
                prepared.kernel, model: prepared.model, input: prepared.input,
                limits: .forJob(maxWorkUnits: job.maxWorkUnits))
        else { return nil }
        return (BlobRef(of: output.output.canonicalBytes).id.digest, output.workUnits)
    }

    private static func prepare(_ job: Job, model: [UInt8], input: [UInt8])
        -> (kernel: KernelID, model: Model, input: Tensor)?
    {
        guard let kernel = try? KernelID(job.kernel), let model = try? Model(canonicalBytes: model),
            let input = try? Tensor(canonicalBytes: input)
        else { return nil }
        return (kernel, model, input)
    }
}

/// A validator's replay of a posted result, outside block execution: the same re-execution a challenge triggers,
/// so a replay that disagrees with a result predicts exactly what the ledger will decide.
public enum JobReplay {
    /// The output blob id and work units an honest provider reports, or nil when the kernel refuses the job.
    public static func execute(_ job: Job, model: [UInt8], input: [UInt8]) -> (outputHash: Hash, workUnits: UInt64)? {
        KernelBridge.execute(job, model: model, input: input)
    }
}
