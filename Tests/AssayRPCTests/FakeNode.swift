import AssayAPI
import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayLedger
import AssayMempool
import AssayRPC
import AssayTypes
import Foundation
import Synchronization

let chain = "assay-test"

func key(_ seed: UInt8) -> SecretKey { try! SecretKey(bytes: [UInt8](repeating: seed, count: 32)) }

func transfer(_ sender: SecretKey, nonce: UInt64, chainID: String = chain) -> Transaction {
    let body = TransactionBody.transfer(Transfer(recipient: Address(publicKey: key(9).publicKey), amount: 7))
    return try! Transaction.signed(chainID: chainID, nonce: nonce, fee: 10, body: body, key: sender)
}

/// Every account starts with nonce 3 and a large balance.
struct FixedAccounts: AccountStateReader {
    func nonce(of address: Address) -> UInt64 { 3 }
    func balance(of address: Address) -> Amount { 1_000_000 }
}

/// A node with one committed block holding one transaction, and a real mempool for submissions.
final class FakeNode: NodeAPI {
    let mempool = Mempool(config: MempoolConfig(chainID: chain), accounts: FixedAccounts())
    let committed = transfer(key(1), nonce: 2)
    let block: Block
    /// A real store in a fresh temporary directory, deleted with the node.
    let blobs: BlobStore

    /// A job that settled at height 7: 24 work units at 2, 10% of the 48 burned, 48 of the 96 escrow refunded.
    let settledJob: JobEntry = {
        let blob = BlobRef(id: BlobID(SHA256.hash([1])), length: 144)
        let request = Job(
            offerID: SHA256.hash([2]), kernel: "gemm-i8/1", modelHash: SHA256.hash([3]), inputBlob: blob,
            maxWorkUnits: 48, deadline: 17)
        let settlement = JobSettlement(height: 7, paid: 44, burned: 4, refund: 48)
        let record = JobRecord(
            client: Address(publicKey: key(1).publicKey), provider: Address(publicKey: key(2).publicKey),
            request: request, pricePerWorkUnit: 2, escrow: 0, createdHeight: 1,
            status: .settled(.windowPassed, settlement))
        let result = PostedResult(
            outputHash: SHA256.hash([4]), traceBlob: blob, traceRoot: SHA256.hash([5]), workUnits: 24,
            resultTx: SHA256.hash([6]), windowEnd: 7)
        return JobEntry(id: SHA256.hash([7]), record: record, postedResult: result)
    }()

    init(maxBlobBytes: UInt64 = 256 << 20, blobDirectory: String? = nil) {
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("assay-rpc-blobs-\(UUID().uuidString)")
        blobs = try! BlobStore(directory: blobDirectory ?? temporary.path, maxBlobBytes: maxBlobBytes)
        let header = Header(
            chainID: chain, height: 1, timeMs: 1_700_000_000_000, previousBlockHash: .zero, lastCommitHash: .zero,
            transactionsRoot: .zero, stateRoot: .zero, validatorSetHash: .zero, nextValidatorSetHash: .zero, proposer: key(5).publicKey)
        block = Block(header: header, transactions: [committed], lastCommit: nil)
    }

    func status() async -> NodeStatus {
        NodeStatus(
            chainID: chain, nodeKey: key(5).publicKey, latestHeight: 1, earliestHeight: 1, latestBlockHash: block.hash,
            latestStateRoot: .zero, latestBlockTimeMs: block.header.timeMs, catchingUp: false,
            mempoolCount: mempool.count)
    }

    func health() async throws(NodeAPIError) {}

    func networkInfo() async -> NetworkInfo { NetworkInfo(listenAddress: "127.0.0.1:26656", peers: []) }

    func block(height: Height?) async -> BlockRecord? {
        (height ?? 1) == 1 ? BlockRecord(block: block, commit: nil) : nil
    }

    func block(hash: Hash) async -> BlockRecord? { hash == block.hash ? BlockRecord(block: block, commit: nil) : nil }

    func validators(height: Height?) async -> ValidatorsRecord? {
        ValidatorsRecord(height: height ?? 2, validators: try! ValidatorSet([Validator(publicKey: key(5).publicKey, power: 10)]))
    }

    func submit(_ transactions: [[UInt8]]) async -> [Result<Hash, AdmissionError>] {
        transactions.map { bytes in Result { () throws(AdmissionError) in try mempool.admit(bytes).hash } }
    }

    func submitAndWaitForCommit(_ transaction: [UInt8]) async throws(NodeAPIError) -> TransactionRecord {
        let hash: Hash
        do { hash = try mempool.admit(transaction).hash } catch { throw .rejected(error) }
        throw .timedOut(hash)
    }

    func transaction(hash: Hash) async -> TransactionRecord? {
        guard hash == committed.hash else { return nil }
        let event = EventView(type: "transfer", attributes: [.init(key: "amount", value: "7")])
        return TransactionRecord(transaction: committed, height: 1, index: 0, code: 0, log: "", events: [event])
    }

    /// Block 1: the committed transfer, and a release at the end of the block.
    func blockResults(height: Height?) async throws(NodeAPIError) -> BlockResultsRecord? {
        guard (height ?? 1) == 1, let record = await transaction(hash: committed.hash) else { return nil }
        let released = EventView(
            type: "unbonding_released", attributes: [.init(key: "account", value: "assay1x"), .init(key: "amount", value: "5")])
        return BlockResultsRecord(
            height: 1, blockHash: block.hash,
            transactions: [.init(hash: committed.hash, code: record.code, log: record.log, events: record.events)],
            endBlockEvents: [released])
    }

    func account(_ address: Address) async -> AccountRecord { AccountRecord(address: address, balance: 5, nonce: 3) }

    // No ledger state here but one settled job: the market reads are tested against a real ledger in AssayNodeTests.
    func offers(provider: Address?, kernel: String?) async throws(NodeAPIError) -> [OfferEntry] { [] }
    func job(id: Hash) async throws(NodeAPIError) -> JobEntry? { id == settledJob.id ? settledJob : nil }
    func jobs(_ filter: JobFilter) async throws(NodeAPIError) -> [JobEntry] {
        filter.matches(settledJob.record) && filter.isAfterCursor(settledJob.id) ? [settledJob] : []
    }
    func provider(_ address: Address) async throws(NodeAPIError) -> ProviderRecord {
        ProviderRecord(address: address, stake: StakeRecord(), offers: [], jobCounts: [:])
    }
    func query(key: [UInt8], prove: Bool) async throws(NodeAPIError) -> StateQueryRecord {
        throw .unavailable("no ledger state")
    }
    func supply() async throws(NodeAPIError) -> SupplyRecord { throw .unavailable("no ledger state") }
    func params() async throws(NodeAPIError) -> Params { Params() }
    deinit { try? FileManager.default.removeItem(atPath: blobs.directory) }

    func unconfirmedTransactions(limit: Int) async -> UnconfirmedRecord {
        UnconfirmedRecord(
            count: mempool.count, totalBytes: mempool.byteCount, transactions: mempool.reap(maxBytes: .max, maxCount: limit))
    }
}

extension JSONValue {
    subscript(_ key: String) -> JSONValue? {
        if case let .object(fields) = self { fields[key] } else { nil }
    }

    subscript(_ index: Int) -> JSONValue? {
        if case let .array(items) = self, items.indices.contains(index) { items[index] } else { nil }
    }

    static func parse(_ bytes: [UInt8]?) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(bytes ?? []))
    }
}
