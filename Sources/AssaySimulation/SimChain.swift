import AssayBlobs
import AssayCrypto
import AssayKernels
import AssayLedger
import AssayTypes

/// The chain every scenario starts from: parameters whose windows end within a few blocks, every validator key and
/// client account funded, and the one tiny job the clients run.
enum SimChain {
    static let chainID = "assay-sim"
    /// Client accounts: the provider is the first, the clients the others.
    static let accountCount = 4
    static let balance: Amount = 1_000_000_000
    /// The provider's bond, above `minProviderStake`.
    static let providerStake: Amount = 10_000

    static let params: Params = {
        var params = Params()
        params.minFee = 1
        params.unbondingBlocks = 30
        params.minProviderStake = 1_000
        params.challengeWindowBlocks = 2
        params.challengeBondMin = 10
        params.takeRateBps = 1_000
        params.nondeliveryPenalty = 100
        params.governanceVotingBlocks = 20
        params.maxJobDeadlineBlocks = 10
        return params
    }()

    /// Validators hold their own accounts (governance transactions pay fees) beside the clients'.
    static func genesis(validators: ValidatorSet) -> Genesis {
        let holders = SimKeys.publicKeys + SimKeys.accountSecrets.map(\.publicKey)
        return Genesis(
            chainID: chainID, genesisTimeMs: 0,
            accounts: holders.map { Genesis.Account(address: Address(publicKey: $0), balance: balance) },
            validators: validators, nodeKeys: SimKeys.nodeKeys(of: validators), params: params)
    }
}

/// A gemm-i8/1 job small enough to run in every scenario: A [2x4] times the model's b [4x3], its honest output and
/// trace. Every node holds all four blobs (blob transfer is not simulated).
struct JobFixture: Sendable {
    static let shared = JobFixture()
    static let kernel = KernelID.gemmI8

    let blobs = MemoryBlobs()
    let model: BlobRef
    let input: BlobRef
    let output: BlobRef
    let trace: BlobRef
    let traceRoot: Hash
    let workUnits: UInt64

    private init() {
        let model = try! Model(arrays: [
            ("b", try! Tensor(int8: [1, -2, 3, 4, 5, -6, 7, 8, 9, -10, 11, 12], shape: [4, 3]))
        ])
        let input = try! Tensor(int8: [1, 2, 3, 4, -1, -2, -3, -4], shape: [2, 4])
        let traced = try! Kernels.executeTraced(
            Self.kernel, model: model, input: input, limits: .default,
            maxTileWorkUnits: SimChain.params.maxTileWorkUnits)
        self.model = blobs.add(model.canonicalBytes)
        self.input = blobs.add(input.canonicalBytes)
        output = blobs.add(traced.output.output.canonicalBytes)
        trace = blobs.add(traced.blobBytes)
        traceRoot = try! traced.layout.traceRoot(ofTrace: traced.blobBytes)
        workUnits = traced.output.workUnits
    }

    /// The length of a fixture blob; nil for any other (the mempool admits only transactions whose blobs it holds).
    func heldLength(_ id: BlobID) -> UInt64? { [model, input, output, trace].first { $0.id == id }?.length }

    func job(offer: Hash, deadline: Height) -> Job {
        Job(
            offerID: offer, kernel: Self.kernel.rawValue, modelHash: model.id.digest, inputBlob: input,
            maxWorkUnits: workUnits, deadline: deadline)
    }

    func result(job: Hash) -> JobResult {
        JobResult(jobID: job, outputBlob: output, traceBlob: trace, traceRoot: traceRoot, workUnits: workUnits)
    }
}
