import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayKernels
import AssayLedger
import AssayStorage
import AssayTypes
import Testing

/// Fixed test keys: scalar n for key n (n >= 1).
func testKey(_ n: UInt8) -> SecretKey {
    try! SecretKey(bytes: [UInt8](repeating: 0, count: 31) + [n])
}

func address(_ key: SecretKey) -> Address { Address(publicKey: key.publicKey) }

/// Parameters scaled down so that every timeout is reached within a few blocks.
func testParams() -> Params {
    var params = Params()
    params.minFee = 1
    params.unbondingBlocks = 30
    params.minProviderStake = 1_000
    params.challengeWindowBlocks = 3
    params.challengeBondMin = 10
    params.takeRateBps = 1_000
    params.fraudSlashFraction = 5_000
    params.challengerRewardFraction = 5_000
    params.nondeliveryPenalty = 100
    params.doubleSignSlashFraction = 1_000
    params.governanceVotingBlocks = 5
    params.maxJobDeadlineBlocks = 10
    params.maxJobWorkUnits = 10_000
    params.blockWorkBudget = 100_000
    // Below the genesis minimum (2^26), so that small jobs have several tiles: the gemm fixture has four.
    params.maxTileWorkUnits = 8
    // Balances in the scenarios are checked to the unit; the blob fee has its own tests.
    params.blobByteFee = 0
    return params
}

/// A small gemm-i8/1 job: A [2x4] times the model's b [4x3].
enum GemmFixture {
    static let kernel = KernelID.gemmI8.rawValue
    static let model = try! Model(arrays: [("b", try! Tensor(int8: [1, -2, 3, 4, 5, -6, 7, 8, 9, -10, 11, 12], shape: [4, 3]))])
    static let modelBytes = model.canonicalBytes
    static let modelBlob = BlobRef(of: modelBytes)
    static let modelHash = modelBlob.id.digest
    static let input = try! Tensor(int8: [1, 2, 3, 4, -1, -2, -3, -4], shape: [2, 4])
    static let inputBytes = input.canonicalBytes
    static let inputBlob = BlobRef(of: inputBytes)
    static let honest = try! Kernels.execute(.gemmI8, model: model, input: input, limits: .default)
    static var workUnits: UInt64 { honest.workUnits }
    /// Under the test parameters' T = 8: tiles of two columns of one row (K = 4), tiles 0-1 row 0, 2-3 row 1.
    static let trace = try! Kernels.executeTraced(
        .gemmI8, model: model, input: input, limits: .default, maxTileWorkUnits: testParams().maxTileWorkUnits)

    /// Holds the model and the input in `blobs`.
    static func hold(in blobs: MemoryBlobs) {
        blobs.add(modelBytes)
        blobs.add(inputBytes)
    }

    /// The result, its output and trace held in `blobs`. A wrong output differs from the (honest) trace in its
    /// last byte, which is in the last tile; a corrupted tile differs in the trace and the output alike (gemm has
    /// one layer, so nothing downstream is recomputed) and hashes into the trace root as posted.
    static func result(
        job: Hash, wrongOutput: Bool = false, corruptTile: Int? = nil, workUnits: UInt64? = nil, blobs: MemoryBlobs
    ) -> JobResult {
        var output = honest.output.canonicalBytes
        var traceBytes = trace.blobBytes
        if let corruptTile {
            let position = Int(try! trace.layout.tileRange(layer: 0, tile: corruptTile).lowerBound)
            traceBytes[position] ^= 0x40
            output[output.count - traceBytes.count + position] ^= 0x40
        }
        if wrongOutput { output[output.count - 1] ^= 1 }
        return JobResult(
            jobID: job, outputBlob: blobs.add(output), traceBlob: blobs.add(traceBytes),
            traceRoot: try! trace.layout.traceRoot(ofTrace: traceBytes), workUnits: workUnits ?? honest.workUnits)
    }
}

/// A chain on one store: executes and commits blocks, keeps validator sets per height (updates apply at H+2),
/// and checks the ledger's invariants after every block.
final class Chain<Store: KeyValueStore> {
    let chainID = "assay-test"
    let store: Store
    let ledger = Ledger()
    let genesis: Genesis
    /// The blobs every block of this chain reads; the gemm fixture's model and input are held from the start.
    let blobs: MemoryBlobs
    private(set) var root: Hash
    private(set) var height: Height = 0
    private(set) var validatorSets: [Height: ValidatorSet] = [:]
    var proposer: PublicKey

    /// `blobs` may be shared with another chain that replays the same blocks.
    init(store: Store, genesis: Genesis, blobs: MemoryBlobs = MemoryBlobs()) throws {
        self.store = store
        self.genesis = genesis
        self.blobs = blobs
        let (changes, root) = try ledger.genesis(genesis, store: store)
        try store.write(changes, durability: .buffered)
        self.root = root
        validatorSets[1] = genesis.validators
        validatorSets[2] = genesis.validators
        proposer = genesis.validators.validators[0].publicKey
        GemmFixture.hold(in: blobs)
    }

    var query: LedgerQuery<Store> { LedgerQuery(store: store) }

    func validators(at height: Height) -> ValidatorSet {
        validatorSets[height] ?? validatorSets[validatorSets.keys.filter { $0 <= height }.max()!]!
    }

    func nonce(_ key: SecretKey) throws -> UInt64 { try query.account(address(key)).nonce }

    /// A signed transaction with the sender's next nonce (plus `offset` for several in one block).
    func sign(_ key: SecretKey, _ body: TransactionBody, fee: Amount = 1, offset: UInt64 = 0) throws -> Transaction {
        try Transaction.signed(chainID: chainID, nonce: try nonce(key) + offset, fee: fee, body: body, key: key)
    }

    @discardableResult
    func commit(_ transactions: [Transaction], checkSignatures: Bool = true) throws -> BlockOutcome {
        let next = height + 1
        let context = BlockContext(
            chainID: chainID, height: next, timeMs: 1_000 * next, proposer: proposer,
            validators: validators(at: next), checkSignatures: checkSignatures, blobs: blobs)
        let outcome = try ledger.execute(parentRoot: root, store: store, context: context, transactions: transactions)
        try store.write(outcome.changes, durability: .buffered)
        root = outcome.stateRoot
        height = next
        var members = Dictionary(uniqueKeysWithValues: validators(at: next + 1).validators.map { ($0.publicKey, $0.power) })
        for update in outcome.validatorUpdates { members[update.publicKey] = update.power }
        validatorSets[next + 2] = try ValidatorSet(members.filter { $0.value > 0 }.map { Validator(publicKey: $0.key, power: $0.value) })
        try checkInvariants()
        return outcome
    }

    /// Empty blocks until `height` has been executed.
    func advance(to target: Height) throws {
        while height < target { try commit([]) }
    }

    /// Conservation of credits, released escrow of ended jobs, and no job left open past its end height.
    func checkInvariants() throws {
        let accounts = try query.accounts()
        let stakes = try query.stakes()
        let jobs = try query.jobs()
        var sum: UInt64 = 0
        for (_, account) in accounts { sum = try sum.adding(account.balance) }
        for (_, stake) in stakes { sum = try sum.adding(stake.slashable) }
        for (_, job) in jobs { sum = try sum.adding(job.escrow) }
        let totals = try query.totals()
        sum = try sum.adding(totals.burned)
        #expect(sum == totals.genesisSupply, "conservation broken at height \(height)")
        #expect(totals.genesisSupply == genesis.totalSupply)
        for (id, job) in jobs {
            switch job.status {
            case .open: #expect(job.request.deadline > height, "job \(id) open past its deadline")
            case let .resultPosted(_, _, _, _, _, windowEnd): #expect(windowEnd > height, "job \(id) open past its window")
            case .settled, .refunded, .slashed: #expect(job.escrow == 0)
            }
        }
    }

    func included(_ outcome: BlockOutcome, _ index: Int = 0) -> ResultCode? {
        if case let .included(code) = outcome.results[index].status { return code }
        return nil
    }
}

/// The standard test world: validators 1...4 (power 10 each, bonded 10,000), accounts 5...12 funded.
func makeGenesis(validatorCount: UInt8 = 4, accountCount: UInt8 = 8, params: Params = testParams()) throws -> Genesis {
    let validatorKeys = (1...validatorCount).map(testKey)
    let accountKeys = (0..<accountCount).map { testKey(validatorCount + 1 + $0) }
    let accounts = validatorKeys.map { Genesis.Account(address: address($0), balance: 100_000, bonded: 10_000) }
        + accountKeys.map { Genesis.Account(address: address($0), balance: 1_000_000, bonded: 0) }
    return Genesis(
        chainID: "assay-test", genesisTimeMs: 0, accounts: accounts,
        validators: try ValidatorSet(validatorKeys.map { Validator(publicKey: $0.publicKey, power: 10) }),
        nodeKeys: Dictionary(uniqueKeysWithValues: (1...validatorCount).map { (testKey($0).publicKey, nodeKey($0)) }),
        params: params)
}

/// Validator n's node key (P2P): a key of its own, outside the range of test keys.
func nodeKey(_ n: UInt8) -> PublicKey { testKey(200 + n).publicKey
}

func inMemoryChain(_ genesis: Genesis? = nil) throws -> Chain<InMemoryStore> {
    try Chain(store: InMemoryStore(), genesis: genesis ?? makeGenesis())
}
