import AssayAPI
import AssayBlobs
import AssayCrypto
import AssayMempool
import AssayTypes
import Dispatch
import Foundation
@testable import AssayRPC

/// The JSON-RPC entry: the node's JSON parser and the whole dispatcher (request checks, batches, every method's
/// parameter decoding and the parsing its body does before it asks the node), over `FuzzNode`.
enum RPCHarnesses {
    static let all: [Harness] = [
        Harness("json", "the RPC's JSON parser (JSONValue(parsing:depthMax:)) on any bytes") { bytes in
            _ = try? JSONValue(parsing: bytes, depthMax: RPCDispatcher.jsonDepthMax)
        },
        Harness("json-rpc", "RPCDispatcher.handle(body:): any HTTP body; the answer must be JSON") { bytes in
            answer(bytes)
        },
        Harness("rpc-params", "one call of a method chosen by the first byte, the rest as its params") { bytes in
            guard let choice = bytes.first else { return }
            let method = methodNames[Int(choice) % methodNames.count]
            let head = #"{"jsonrpc":"2.0","id":1,"method":"\#(method)","params":"#
            answer(Array(head.utf8) + bytes.dropFirst() + [UInt8(ascii: "}")])
        },
    ]

    static let dispatcher = RPCDispatcher(node: FuzzNode.shared)
    static let methodNames = dispatcher.descriptions.map(\.name)

    /// Dispatches `body` and checks the one invariant every answer has: it is JSON (or absent for notifications).
    private static func answer(_ body: [UInt8]) {
        guard let response = waitFor({ await dispatcher.handle(body: body) }) else { return }
        do { _ = try JSONValue(parsing: response, depthMax: 1_000) } catch {
            fatalError("the dispatcher answered with bytes that are not JSON: \(String(decoding: response, as: UTF8.self))")
        }
    }

    /// Runs `operation` to completion from libFuzzer's synchronous callback.
    private static func waitFor<T: Sendable>(_ operation: @escaping @Sendable () async -> T) -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            box.value = await operation()
            done.signal()
        }
        done.wait()
        return box.value!
    }
}

/// Written by one task before the semaphore is signalled, read after it is waited for.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// A node with an empty chain, a real mempool (fresh for each submission, so every input replays alike) and a
/// real blob store in a temporary directory: what the RPC asks of it is answered the way an empty node would.
final class FuzzNode: NodeAPI {
    static let chainID = "assay-fuzz"
    static let shared = FuzzNode()

    let blobs: BlobStore
    private let key = try! SecretKey(bytes: [UInt8](repeating: 0, count: 31) + [1])

    private init() {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("assay-fuzz-blobs-\(getpid())")
        blobs = try! BlobStore(directory: directory.path, maxBlobBytes: 1 << 20)
        blobDirectory = directory.path
        atexit { if let path = blobDirectory { try? FileManager.default.removeItem(atPath: path) } }
    }

    private func mempool() -> Mempool {
        Mempool(config: MempoolConfig(chainID: Self.chainID), accounts: FundedAccounts())
    }

    func status() async -> NodeStatus {
        NodeStatus(
            chainID: Self.chainID, nodeKey: key.publicKey, latestHeight: 0, earliestHeight: 1, latestBlockHash: nil, latestStateRoot: nil,
            latestBlockTimeMs: 0, catchingUp: false, mempoolCount: 0)
    }
    func health() async throws(NodeAPIError) {}
    func networkInfo() async -> NetworkInfo { NetworkInfo(listenAddress: "127.0.0.1:0", peers: []) }
    func block(height: Height?) async -> BlockRecord? { nil }
    func block(hash: Hash) async -> BlockRecord? { nil }
    func validators(height: Height?) async -> ValidatorsRecord? { nil }
    func submit(_ transactions: [[UInt8]]) async -> [Result<Hash, AdmissionError>] {
        let pool = mempool()
        return transactions.map { bytes in Result { () throws(AdmissionError) in try pool.admit(bytes).hash } }
    }
    func submitAndWaitForCommit(_ transaction: [UInt8]) async throws(NodeAPIError) -> TransactionRecord {
        let hash: Hash
        do { hash = try mempool().admit(transaction).hash } catch { throw .rejected(error) }
        throw .timedOut(hash)
    }
    func transaction(hash: Hash) async -> TransactionRecord? { nil }
    func blockResults(height: Height?) async throws(NodeAPIError) -> BlockResultsRecord? { nil }
    func account(_ address: Address) async -> AccountRecord { AccountRecord(address: address, balance: 0, nonce: 0) }
    func offers(provider: Address?, kernel: String?) async throws(NodeAPIError) -> [OfferEntry] { [] }
    func job(id: Hash) async throws(NodeAPIError) -> JobEntry? { nil }
    func jobs(_ filter: JobFilter) async throws(NodeAPIError) -> [JobEntry] { [] }
    func provider(_ address: Address) async throws(NodeAPIError) -> ProviderRecord {
        throw .unavailable("an empty chain has no providers")
    }
    func query(key: [UInt8], prove: Bool) async throws(NodeAPIError) -> StateQueryRecord {
        throw .unavailable("an empty chain has no state")
    }
    func supply() async throws(NodeAPIError) -> SupplyRecord { throw .unavailable("an empty chain has no state") }
    func params() async throws(NodeAPIError) -> Params { Params() }
    func unconfirmedTransactions(limit: Int) async -> UnconfirmedRecord {
        UnconfirmedRecord(count: 0, totalBytes: 0, transactions: [])
    }
}

nonisolated(unsafe) private var blobDirectory: String?

/// Every account holds plenty and expects nonce 0, so a well-formed signed transaction passes admission.
private struct FundedAccounts: AccountStateReader {
    func nonce(of address: Address) -> UInt64 { 0 }
    func balance(of address: Address) -> Amount { 1 << 40 }
}
