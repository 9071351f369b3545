import AssayCrypto
import AssayMempool
import AssayTypes

/// Proposal policy for transactions that carry blobs (docs/consensus.md, Blob availability rule): propose only
/// what the committee can already vote for. A validator prevotes nil on a block whose blobs it lacks, so a
/// proposer includes such a transaction once validators with more than 2/3 of the power hold its blobs: itself
/// and the peers that gossiped it (each gossips it only once it holds them). Peers that never report (a
/// partition, an older node) cannot keep it out for long: after `waitBlocksMax` committed blocks in the pool it
/// is included anyway, and the availability rule at prevote decides as before.
///
/// Node-side policy only: it changes what this node proposes, never what a block must be to be valid.
struct BlobQuorum {
    /// Committed blocks a transaction that carries blobs waits for the quorum before it is proposed anyway.
    static let waitBlocksMaxDefault: UInt64 = 32

    let validators: ValidatorSet
    let waitBlocksMax: UInt64

    init(validators: ValidatorSet, waitBlocksMax: UInt64 = waitBlocksMaxDefault) {
        self.validators = validators
        self.waitBlocksMax = waitBlocksMax
    }

    /// `transactions` (each sender's in nonce order, as the pool reaps them) without those that carry blobs the
    /// committee may not yet hold, nor their senders' later nonces, which cannot execute without them.
    /// `holding` answers for the pending transaction of a hash (nil: no longer pending).
    func proposable(
        _ transactions: [Transaction], proposer: PublicKey, holding: (Hash) -> BlobHolding?
    ) -> [Transaction] {
        var heldBack: Set<PublicKey> = []
        return transactions.filter { transaction in
            guard !heldBack.contains(transaction.sender) else { return false }
            guard transaction.body.carriedBlobs.isEmpty
                || isReady(holding(transaction.hash), proposer: proposer)
            else {
                heldBack.insert(transaction.sender)
                return false
            }
            return true
        }
    }

    /// True once the proposer and the recorded holders have more than 2/3 of the power, or the wait is over.
    func isReady(_ holding: BlobHolding?, proposer: PublicKey) -> Bool {
        guard let holding else { return false }
        guard holding.blocksPending < waitBlocksMax else { return true }
        let holders = Set(holding.holders).union([proposer])
        return validators.isQuorum(holders.reduce(0) { $0 + validators.power(of: $1) })
    }
}
