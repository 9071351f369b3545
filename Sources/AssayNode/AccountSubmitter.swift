import AssayCrypto
import AssayLedger
import AssayMempool
import AssayRocksDB
import AssayTypes
import Logging
import Synchronization

/// The node's own account, which signs the transactions the node sends by itself (the replay worker's challenges,
/// the evidence reporter's double-sign evidence) and submits them as any client would: into this node's mempool,
/// then to its peers. One at a time, so that two callers never pick the same nonce. Its key is the account key of
/// `[account] key_file`, never the consensus key.
final class AccountSubmitter: Sendable {
    private let key: SecretKey
    private let chainID: String
    private let store: RocksDBStore
    private let mempool: Mempool
    /// Sends an admitted transaction to the peers.
    private let gossip: @Sendable (Transaction) -> Void
    private let logger: Logger
    private let signing = Mutex(())

    init(
        key: SecretKey, chainID: String, store: RocksDBStore, mempool: Mempool,
        gossip: @escaping @Sendable (Transaction) -> Void, logger: Logger
    ) {
        self.key = key
        self.chainID = chainID
        self.store = store
        self.mempool = mempool
        self.gossip = gossip
        self.logger = logger
    }

    var address: Address { Address(publicKey: key.publicKey) }

    /// Signs `body` after the account's committed and pending transactions, at the fee floor, and submits it.
    /// Returns the admitted transaction, or nil (logged, naming `purpose`) when it could not be signed or admitted.
    func submit(_ body: TransactionBody, purpose: @autoclosure () -> String) -> Transaction? {
        signing.withLock { _ in
            do {
                let query = LedgerQuery(store: store)
                let committedNonce = try query.account(address).nonce
                let nonce = max(committedNonce, mempool.pendingNonce(of: key.publicKey) ?? 0)
                let transaction = try Transaction.signed(
                    chainID: chainID, nonce: nonce, fee: max(try query.params().minFee, mempool.minimumFee),
                    body: body, key: key)
                let admission = try mempool.admit(transaction.canonicalBytes)
                gossip(admission.transaction)
                return transaction
            } catch {
                logger.error("\(purpose()) not submitted: \(error)")
                return nil
            }
        }
    }
}
