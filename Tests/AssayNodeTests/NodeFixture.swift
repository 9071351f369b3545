import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayEngine
import AssayKernels
import AssayLedger
import AssayMempool
import AssayP2P
import AssayRPC
import AssayRocksDB
import AssayStorage
import AssayTypes
import Foundation
import Logging
import Synchronization

@testable import AssayNode

func testKey(_ n: UInt8) -> SecretKey { try! SecretKey(bytes: [UInt8](repeating: 0, count: 31) + [n]) }
func address(_ key: SecretKey) -> Address { Address(publicKey: key.publicKey) }

/// A gemm-i8/1 job small enough to replay in microseconds: A [2x4] times the model's b [4x3].
enum GemmJob {
    static let model = try! Model(arrays: [("b", try! Tensor(int8: [1, -2, 3, 4, 5, -6, 7, 8, 9, -10, 11, 12], shape: [4, 3]))])
    static let modelBytes = model.canonicalBytes
    static let modelBlob = BlobRef(of: modelBytes)
    static let modelHash = modelBlob.id.digest
    static let input = try! Tensor(int8: [1, 2, 3, 4, -1, -2, -3, -4], shape: [2, 4]).canonicalBytes
    static let inputBlob = BlobRef(of: input)
    static let honest = try! Kernels.execute(
        .gemmI8, model: model, input: try! Tensor(canonicalBytes: input), limits: .default)
    /// Under the fixture's T = 8: four tiles of two columns of one row; the output's last byte is in tile 3.
    static let trace = try! Kernels.executeTraced(
        .gemmI8, model: model, input: try! Tensor(canonicalBytes: input), limits: .default,
        maxTileWorkUnits: NodeFixture.params().maxTileWorkUnits)

    /// The result naming `output` and the honest trace.
    static func result(job: Hash, output: BlobRef) -> JobResult {
        JobResult(
            jobID: job, outputBlob: output, traceBlob: BlobRef(of: trace.blobBytes), traceRoot: trace.root,
            workUnits: honest.workUnits)
    }

    /// The output bytes an honest provider posts, or a wrong one.
    static func output(wrong: Bool = false) -> [UInt8] {
        var output = honest.output.canonicalBytes
        if wrong { output[output.count - 1] ^= 1 }
        return output
    }
}

/// One validator node's state without its network: a real RocksDB in a temporary directory, the ledger as the
/// engine's application, a real mempool and the RPC-facing `NodeService`. `commit` does what the engine does on a
/// decision: execute, write state, index and block in one batch, then publish.
final class NodeFixture: @unchecked Sendable {
    static let chainID = "assay-test"
    let validator = testKey(1)
    let provider = testKey(2)
    let client = testKey(3)
    /// The node's own account (`[account]`), which signs its challenges and evidence: funded, never the validator.
    let accountKey = testKey(4)
    /// The validator's node key (P2P).
    static let nodeKey = testKey(5)
    let directory: URL
    let genesis: Genesis
    let store: RocksDBStore
    let blobs: BlobStore
    let mempool: Mempool
    let application: LedgerApplication
    let service: NodeService
    private let log = OutcomeLog()
    private var previousBlockHash: Hash = .zero

    /// The outcomes of the committed blocks, in order, as the node's commit callback receives them.
    final class OutcomeLog: Sendable {
        let outcomes = Mutex<[BlockOutcome]>([])
        /// The blobs the application asked to fetch, in order.
        let requestedBlobs = Mutex<[BlobRef]>([])
    }

    var outcomes: [BlockOutcome] { log.outcomes.withLock { $0 } }
    var requestedBlobs: [BlobRef] { log.requestedBlobs.withLock { $0 } }

    static func params() -> Params {
        var params = Params()
        params.minFee = 1
        params.unbondingBlocks = 30
        params.minProviderStake = 1_000
        params.challengeWindowBlocks = 3
        params.challengeBondMin = 10
        params.maxJobDeadlineBlocks = 10
        params.maxJobWorkUnits = 10_000
        params.blockWorkBudget = 100_000
        params.maxTileWorkUnits = 8
        params.blobRetentionBlocks = 2
        return params
    }

    /// `fetchBlob` stands for the node's fetch from peers, which a decided block lacking a blob waits on.
    init(fetchBlob: @escaping @Sendable (BlobRef) async throws -> Void = { _ in throw CancellationError() }) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("assay-node-\(UUID().uuidString)")
        genesis = Genesis(
            chainID: Self.chainID, genesisTimeMs: 0,
            accounts: [
                Genesis.Account(address: address(validator), balance: 100_000, bonded: 10_000),
                Genesis.Account(address: address(provider), balance: 100_000, bonded: 0),
                Genesis.Account(address: address(client), balance: 100_000, bonded: 0),
                Genesis.Account(address: address(accountKey), balance: 100_000, bonded: 0),
            ],
            validators: try ValidatorSet([Validator(publicKey: validator.publicKey, power: 10)]),
            nodeKeys: [validator.publicKey: Self.nodeKey.publicKey], params: Self.params())
        store = try RocksDBStore(path: directory.path, namespaces: Node.namespaces, createIfMissing: true)
        let ledger = Ledger()
        let committed = try Node.reconcile(
            store: store, ledger: ledger, genesis: genesis, logger: Logger(label: "test"))
        let blobs = try Node.openBlobs(dataDir: directory.path, store: store, genesis: genesis)
        self.blobs = blobs
        mempool = Mempool(
            config: MempoolConfig(chainID: Self.chainID, feeMin: 1), accounts: CommittedAccounts(store: store),
            heldBlobLength: { blobs.heldLength($0) })
        application = LedgerApplication(
            chainID: Self.chainID, ledger: ledger, store: store, mempool: mempool,
            committed: committed, blockTransactionsMax: 1_000, proposalBudgetMs: 500, blockBytesMax: 16 << 20,
            blobs: blobs,
            requestBlob: { [log] ref in log.requestedBlobs.withLock { $0.append(ref) } }, fetchBlob: fetchBlob,
            fetchRetryPause: .zero, logger: Logger(label: "test"))
        application.onCommit = { [log] _, outcome in log.outcomes.withLock { $0.append(outcome) } }
        let p2p = P2PService(config: P2PConfig(chainID: Self.chainID, identity: Self.nodeKey, allowedKeys: []))
        service = NodeService(
            chainID: Self.chainID, nodeKey: Self.nodeKey.publicKey, genesisValidators: genesis.validators, store: store,
            mempool: mempool, p2p: p2p, p2pListen: "127.0.0.1:0", application: application, blobs: blobs,
            catchingUp: { false })
        try hold(GemmJob.modelBytes)
        try hold(GemmJob.input)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    var height: Height { application.snapshot.withLock { $0.height } }

    /// The node's own account as the replay worker and the evidence reporter use it (`key`, `accountKey` by
    /// default), handing what it admits to `gossip`.
    func account(_ key: SecretKey? = nil, gossip: @escaping @Sendable (Transaction) -> Void = { _ in })
        -> AccountSubmitter
    {
        AccountSubmitter(
            key: key ?? accountKey, chainID: Self.chainID, store: store, mempool: mempool, gossip: gossip,
            logger: Logger(label: "test"))
    }

    /// Puts `bytes` (at most one chunk) into the node's blob store.
    @discardableResult
    func hold(_ bytes: [UInt8]) throws -> BlobRef {
        let ref = BlobRef(of: bytes)
        precondition(ref.chunkCount == 1, "test blobs are one chunk")
        try blobs.writeChunk(ref: ref, index: 0, bytes: bytes)
        return ref
    }

    /// A result for `job` whose output and trace blobs the node holds (a wrong output differs from the trace).
    func result(job: Hash, wrong: Bool = false) throws -> JobResult {
        try hold(GemmJob.trace.blobBytes)
        return GemmJob.result(job: job, output: try hold(GemmJob.output(wrong: wrong)))
    }

    /// A signed transaction from `key` with its next committed nonce plus `offset`.
    func sign(_ key: SecretKey, _ body: TransactionBody, offset: UInt64 = 0) throws -> Transaction {
        let nonce = try LedgerQuery(store: store).account(address(key)).nonce + offset
        return try Transaction.signed(chainID: Self.chainID, nonce: nonce, fee: 1, body: body, key: key)
    }

    @discardableResult
    func commit(_ transactions: [Transaction]) throws -> Block {
        let height = height + 1
        let context = ExecutionContext(
            height: height, timeMs: 1_000 * height, proposer: validator.publicKey, validators: genesis.validators)
        let root = try application.execute(context, transactions: transactions)
        let header = Header(
            chainID: Self.chainID, height: height, timeMs: context.timeMs, previousBlockHash: previousBlockHash,
            lastCommitHash: .zero, transactionsRoot: Block.transactionsRoot(transactions), stateRoot: root,
            validatorSetHash: genesis.validators.hash, nextValidatorSetHash: genesis.validators.hash,
            proposer: validator.publicKey)
        let block = Block(header: header, transactions: transactions, lastCommit: nil)
        try apply(block)
        return block
    }

    /// A chain of `count` empty blocks from genesis, each carrying the previous one's commit, every commit signed by
    /// the validator: what a node syncing from this one verifies block by block. Commits and returns them.
    func commitSignedEmptyChain(_ count: Int) throws -> [CommittedBlock] {
        precondition(height == 0, "a signed chain starts at genesis")
        var chain: [CommittedBlock] = []
        for height in Height(1)...Height(count) {
            let context = ExecutionContext(
            height: height, timeMs: 1_000 * height, proposer: validator.publicKey, validators: genesis.validators)
            let lastCommit = chain.last?.commit
            let header = Header(
                chainID: Self.chainID, height: height, timeMs: context.timeMs, previousBlockHash: previousBlockHash,
                lastCommitHash: Block.lastCommitHash(lastCommit), transactionsRoot: Block.transactionsRoot([]),
                stateRoot: try application.execute(context, transactions: []),
                validatorSetHash: genesis.validators.hash, nextValidatorSetHash: genesis.validators.hash,
            proposer: validator.publicKey)
            let block = Block(header: header, transactions: [], lastCommit: lastCommit)
            let precommit = Vote.signBytes(
                chainID: Self.chainID, kind: .precommit, height: height, round: 0, blockHash: block.hash)
            let commit = Commit(
                height: height, round: 0, blockHash: block.hash,
                signatures: [CommitSignature(validator: validator.publicKey, signature: try validator.sign(precommit))])
            try apply(block, commit: commit)
            chain.append(CommittedBlock(block: block, commit: commit))
        }
        return chain
    }

    /// What the engine does with a block decided by others: its writes, the block and its commit in one batch.
    /// Without a commit, the block is stored with an unsigned one (enough for what reads blocks back).
    func apply(_ block: Block, commit: Commit? = nil) throws {
        var batch = WriteBatch()
        _ = try application.commitWrites(for: block, validators: genesis.validators, into: &batch)
        try BlockStore<Block, Commit, RocksDBStore>(store, namespace: ChainStore.blocksNamespace)
            .put(
                block, commit: commit ?? Commit(height: block.height, round: 0, blockHash: block.hash, signatures: []),
                into: &batch)
        try store.write(batch, durability: .buffered)
        try application.didCommit(block)
        previousBlockHash = block.hash
    }

    /// The market world: a staked provider with a gemm-i8/1 offer and a client with a registered model.
    /// Returns the offer id.
    func openMarket(capacity: UInt32 = 4) throws -> Hash {
        try commit([
            try sign(provider, .stake(Stake(amount: 5_000))),
            try sign(client, .registerModel(RegisterModel(modelBlob: GemmJob.modelBlob))),
        ])
        let offer = try sign(
            provider,
            .offer(Offer(kernels: [KernelID.gemmI8.rawValue], pricePerWorkUnit: 2, capacity: capacity, expiryHeight: 1_000)))
        try commit([offer])
        return offer.hash
    }

    func job(offer: Hash, offset: UInt64 = 0) throws -> Transaction {
        try sign(
            client,
            .job(Job(
                offerID: offer, kernel: KernelID.gemmI8.rawValue, modelHash: GemmJob.modelHash, inputBlob: GemmJob.inputBlob,
                maxWorkUnits: GemmJob.honest.workUnits * 2, deadline: height + 8)),
            offset: offset)
    }
}
