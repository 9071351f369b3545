import AssayAPI
import AssayBlobs
import AssayCrypto
import AssayEngine
import AssayLedger
import AssayMempool
import AssayP2P
import AssayRPC
import AssayRocksDB
import AssayStorage
import AssayTypes
import Foundation
import Synchronization

/// What the RPC methods read and do, over the node's stores, mempool, P2P links and commit stream.
final class NodeService: NodeAPI, @unchecked Sendable {
    let chainID: String
    let nodeKey: PublicKey
    /// The set of heights 1 and 2, and of later heights until a committed change (the chain store keeps those).
    let genesisValidators: ValidatorSet
    let store: RocksDBStore
    let mempool: Mempool
    let p2p: P2PService
    let p2pListen: String
    let application: LedgerApplication
    let blobs: BlobStore
    /// Whether block sync is fetching blocks from peers ahead (`status.catching_up`).
    private let catchingUp: @Sendable () -> Bool
    /// Waiters of `broadcast_tx_commit`, resumed from the commit callback.
    private let waiters = Mutex<[Hash: [CheckedContinuation<Void, Never>]]>([:])
    static let commitWaitSeconds: UInt64 = 30

    init(
        chainID: String, nodeKey: PublicKey, genesisValidators: ValidatorSet, store: RocksDBStore, mempool: Mempool,
        p2p: P2PService, p2pListen: String, application: LedgerApplication, blobs: BlobStore,
        catchingUp: @escaping @Sendable () -> Bool
    ) {
        self.catchingUp = catchingUp
        self.chainID = chainID
        self.nodeKey = nodeKey
        self.genesisValidators = genesisValidators
        self.store = store
        self.mempool = mempool
        self.p2p = p2p
        self.p2pListen = p2pListen
        self.application = application
        self.blobs = blobs
    }

    /// Wakes the waiters of the block's transactions.
    func committed(_ block: Block) {
        let woken = waiters.withLock { waiting in block.transactions.flatMap { waiting.removeValue(forKey: $0.hash) ?? [] } }
        for waiter in woken { waiter.resume() }
    }

    func status() async -> NodeStatus {
        let chain = application.snapshot.withLock { $0 }
        return NodeStatus(
            chainID: chainID, nodeKey: nodeKey, latestHeight: chain.height,
            earliestHeight: (try? ChainStore(store: store).base()) ?? 1, latestBlockHash: chain.blockHash,
            latestStateRoot: chain.stateRoot, latestBlockTimeMs: chain.timeMs, catchingUp: catchingUp(),
            mempoolCount: mempool.count)
    }

    func health() async throws(NodeAPIError) {
        do { _ = try store.get([0], in: .default) } catch { throw .unavailable("storage: \(error)") }
    }

    func networkInfo() async -> NetworkInfo {
        NetworkInfo(
            listenAddress: p2pListen,
            peers: p2p.connectedPeers.map {
                NetworkInfo.Peer(nodeKey: $0.key, address: $0.remoteAddress, outbound: $0.role == .initiator)
            })
    }

    func block(height: Height?) async -> BlockRecord? {
        let target = height ?? application.snapshot.withLock { $0.height }
        guard let stored = try? ChainStore(store: store).block(at: target) else { return nil }
        return BlockRecord(block: stored.block, commit: stored.commit)
    }

    func block(hash: Hash) async -> BlockRecord? {
        guard let stored = try? ChainStore(store: store).block(hash: hash) else { return nil }
        return BlockRecord(block: stored.block, commit: stored.commit)
    }

    /// The set of `height` (default: the next height) for any height from 1 to the committed height + 2, from the
    /// chain store's record of every change.
    func validators(height: Height?) async -> ValidatorsRecord? {
        let target = height ?? application.snapshot.withLock { $0.height } + 1
        guard let set = try? ChainStore(store: store).validators(at: target, genesis: genesisValidators) else {
            return nil
        }
        return ValidatorsRecord(height: target, validators: set)
    }

    func submit(_ transactions: [[UInt8]]) async -> [Result<Hash, AdmissionError>] {
        var accepted: [Transaction] = []
        let results = transactions.map { bytes -> Result<Hash, AdmissionError> in
            do throws(AdmissionError) {
                let admission = try mempool.admit(bytes)
                accepted.append(admission.transaction)
                return .success(admission.hash)
            } catch {
                return .failure(error)
            }
        }
        for batch in WireMessage.transactionBatches(accepted, bytesMax: p2p.config.messageBytesMax) {
            p2p.broadcast(batch.canonicalBytes)
        }
        return results
    }

    func submitAndWaitForCommit(_ transaction: [UInt8]) async throws(NodeAPIError) -> TransactionRecord {
        let hash: Hash
        switch await submit([transaction])[0] {
        case let .success(admitted): hash = admitted
        case let .failure(error): throw .rejected(error)
        }
        await waitForCommit(hash)
        guard let record = await self.transaction(hash: hash) else { throw .timedOut(hash) }
        return record
    }

    /// Returns once `hash` is committed or the wait times out, whichever comes first.
    private func waitForCommit(_ hash: Hash) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    // Checked under the lock the commit callback takes after the index is written, so a
                    // commit is either seen here or sees this waiter.
                    let done = self.waiters.withLock { waiting in
                        if (try? TransactionIndex.transaction(hash, in: self.store)) != nil { return true }
                        waiting[hash, default: []].append(continuation)
                        return false
                    }
                    if done { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(nanoseconds: Self.commitWaitSeconds * 1_000_000_000) }
            await group.next()
            group.cancelAll()
            // A timed-out waiter is resumed here so that no continuation leaks.
            let stale = self.waiters.withLock { $0.removeValue(forKey: hash) ?? [] }
            for waiter in stale { waiter.resume() }
        }
    }

    func transaction(hash: Hash) async -> TransactionRecord? {
        guard let indexed = try? TransactionIndex.transaction(hash, in: store),
            let stored = try? ChainStore(store: store).block(at: indexed.height),
            Int(indexed.index) < stored.block.transactions.count
        else { return nil }
        return TransactionRecord(
            transaction: stored.block.transactions[Int(indexed.index)], height: indexed.height,
            index: Int(indexed.index), code: UInt32(indexed.code), log: indexed.log,
            events: indexed.events.map(EventView.init))
    }

    func blockResults(height: Height?) async throws(NodeAPIError) -> BlockResultsRecord? {
        let target = height ?? application.snapshot.withLock { $0.height }
        do {
            guard let stored = try ChainStore(store: store).block(at: target) else { return nil }
            let entries = try stored.block.transactions.map { transaction in
                let hash = transaction.hash
                guard let indexed = try TransactionIndex.transaction(hash, in: store) else {
                    throw NodeAPIError.unavailable("transaction \(hash) of block \(target) is not in the index")
                }
                return BlockResultsRecord.Entry(
                    hash: hash, code: UInt32(indexed.code), log: indexed.log,
                    events: indexed.events.map(EventView.init))
            }
            let endBlock = try TransactionIndex.endBlockEvents(at: target, in: store)
            return BlockResultsRecord(
                height: target, blockHash: stored.block.hash, transactions: entries,
                endBlockEvents: endBlock.map(EventView.init))
        } catch let error as NodeAPIError {
            throw error
        } catch {
            throw .unavailable("storage: \(error)")
        }
    }

    func account(_ address: Address) async -> AccountRecord {
        let account = (try? LedgerQuery(store: store).account(address)) ?? Account()
        return AccountRecord(address: address, balance: account.balance, nonce: account.nonce)
    }
}
