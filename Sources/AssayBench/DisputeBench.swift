import AssayBlobs
import AssayCrypto
import AssayKernels
import AssayLedger
import AssayStorage
import AssayTypes
import Foundation

/// `Tools/bench dispute`: what the ledger spends, inside one block, on the issue-11 job (mlp-q8/1, batch 8192, six
/// layers of width 2048: 2.06 x 10^11 work units, a 100 MiB trace): accepting the job, accepting its result (lengths
/// only), and a challenge of one tile of a middle layer and of the last layer, each beside an empty block. The trace
/// is the honest one (the provider's run is timed too), so both challenges fail and the job stays open.
enum DisputeBench {
    static let (batch, width, layers) = (8192, 2048, 6)
    static let chainID = "assay-bench"

    static func run() throws {
        let (model, input) = try makeJob()
        let blobs = MemoryBlobs()
        let modelBlob = blobs.add(model.canonicalBytes), inputBlob = blobs.add(input.canonicalBytes)
        var start = Measure.now()
        let trace = try Kernels.executeTraced(
            .mlpQ8, model: model, input: input, limits: .forJob(maxWorkUnits: .max), threads: 2)
        Measure.line("provider: traced run, 2 threads (\(trace.output.workUnits) work units)", Measure.now() - start, "s")
        let traceBlob = blobs.add(trace.blobBytes), outputBlob = blobs.add(trace.output.output.canonicalBytes)
        Measure.line("trace blob", Double(traceBlob.length) / 1_048_576, "MiB")

        let (provider, client, challenger) = (key(1), key(2), key(3))
        var chain = try BenchChain(accounts: [provider, client, challenger], blobs: blobs)
        let offer = Offer(kernels: [KernelID.mlpQ8.rawValue], pricePerWorkUnit: 1, capacity: 1, expiryHeight: 1_000)
        let offerTx = try chain.sign(provider, .offer(offer), nonce: 1)
        _ = try chain.block([
            try chain.sign(provider, .stake(Stake(amount: 10_000 * Amount.baseUnitsPerCredit)), nonce: 0), offerTx,
            try chain.sign(client, .registerModel(RegisterModel(modelBlob: modelBlob)), nonce: 0),
        ])
        Measure.line("empty block", try chain.block([]), "ms")
        let job = try chain.sign(client, .job(Job(
            offerID: offerTx.hash, kernel: KernelID.mlpQ8.rawValue, modelHash: modelBlob.id.digest, inputBlob: inputBlob,
            maxWorkUnits: trace.output.workUnits, deadline: 100)), nonce: 1)
        Measure.line("block with the job (model and input parsed whole)", try chain.block([job]), "ms")
        let result = JobResult(
            jobID: job.hash, outputBlob: outputBlob, traceBlob: traceBlob, traceRoot: trace.root,
            workUnits: trace.output.workUnits)
        Measure.line("block with its result (lengths only)", try chain.block([try chain.sign(provider, .result(result), nonce: 2)]), "ms")
        Measure.line("empty block", try chain.block([]), "ms")
        for (layer, nonce) in [(3, UInt64(0)), (layers - 1, 1)] {
            let tile = try trace.layout.tileCount(layer: layer) / 2
            let challenge = Challenge(jobID: job.hash, layer: UInt32(layer), tile: UInt32(tile), bond: Amount.baseUnitsPerCredit)
            let work = try trace.layout.tileWorkUnits(layer: layer, tile: tile)
            let elapsed = try chain.block([try chain.sign(challenger, .challenge(challenge), nonce: nonce)])
            Measure.line("block with a challenge of tile \(tile) of layer \(layer) (\(work) work units)", elapsed, "ms")
        }
        start = Measure.now()
        _ = try Kernels.execute(.mlpQ8, model: model, input: input, limits: .forJob(maxWorkUnits: .max))
        Measure.line("full replay, 1 thread (what a whole-job challenge cost)", Measure.now() - start, "s")
    }

    static func key(_ n: UInt8) -> SecretKey { try! SecretKey(bytes: [UInt8](repeating: 0, count: 31) + [n]) }

    /// Random int8 weights with a multiplier that keeps activations spread (not all clamped).
    static func makeJob() throws -> (Model, Tensor) {
        var generator = SplitMix64(seed: 11)
        func bytes(_ count: Int) -> [Int8] { (0..<count).map { _ in Int8(truncatingIfNeeded: generator.next()) } }
        var arrays: [(String, Tensor)] = [("input_zero_point", try Tensor(int8: [0], shape: []))]
        for layer in 0..<layers {
            let name = "layer\(layer)"
            arrays += [
                ("\(name).weight", try Tensor(int8: bytes(width * width), shape: [UInt64(width), UInt64(width)])),
                ("\(name).bias", try Tensor(int32: [Int32](repeating: 0, count: width), shape: [UInt64(width)])),
                ("\(name).multiplier", try Tensor(int32: [1 << 30], shape: [])),
                ("\(name).shift", try Tensor(int32: [12], shape: [])),
                ("\(name).output_zero_point", try Tensor(int8: [0], shape: [])),
                ("\(name).relu", try Tensor(uint8: [layer < layers - 1 ? 1 : 0], shape: [])),
            ]
        }
        return (try Model(arrays: arrays), try Tensor(int8: bytes(batch * width), shape: [UInt64(batch), UInt64(width)]))
    }
}

/// The ledger on an in-memory store, one block at a time, signatures not checked (as the mempool's cache makes
/// them at execution).
private struct BenchChain {
    let ledger = Ledger()
    let store = InMemoryStore()
    let validators: ValidatorSet
    let blobs: MemoryBlobs
    var root: Hash
    var height: Height = 0

    init(accounts: [SecretKey], blobs: MemoryBlobs) throws {
        validators = try ValidatorSet([Validator(publicKey: accounts[0].publicKey, power: 1)])
        let genesis = Genesis(
            chainID: DisputeBench.chainID, genesisTimeMs: 0,
            accounts: accounts.map { Genesis.Account(address: Address(publicKey: $0.publicKey), balance: 1 << 50) },
            validators: validators, nodeKeys: [accounts[0].publicKey: accounts[1].publicKey], params: Params())
        let (changes, root) = try ledger.genesis(genesis, store: store)
        try store.write(changes, durability: .buffered)
        self.root = root
        self.blobs = blobs
    }

    func sign(_ key: SecretKey, _ body: TransactionBody, nonce: UInt64) throws -> Transaction {
        try Transaction.signed(chainID: DisputeBench.chainID, nonce: nonce, fee: Params().minFee, body: body, key: key)
    }

    /// Executes and commits one block; returns the execution time in milliseconds. Every transaction must succeed.
    mutating func block(_ transactions: [Transaction]) throws -> Double {
        height += 1
        let context = BlockContext(
            chainID: DisputeBench.chainID, height: height, timeMs: 0, proposer: validators.validators[0].publicKey,
            validators: validators, checkSignatures: false, blobs: blobs)
        let start = Measure.now()
        let outcome = try ledger.execute(parentRoot: root, store: store, context: context, transactions: transactions)
        let elapsed = (Measure.now() - start) * 1_000
        precondition(outcome.results.allSatisfy { $0.status == .included(.ok) }, "\(outcome.results.map(\.status))")
        try store.write(outcome.changes, durability: .buffered)
        root = outcome.stateRoot
        return elapsed
    }
}
