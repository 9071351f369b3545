import AssayCrypto
import AssayEngine
import AssayLedger
import AssayMempool
import AssayRocksDB
import AssayTypes
import Dispatch
import Logging
import Synchronization

/// Turns the double-sign evidence the consensus core finds into `evidence` transactions from the node's account,
/// as CometBFT's evidence reactor does with its evidence pool: each equivocation once, and none when the validator
/// is already tombstoned or an evidence transaction against it is already pending here (another node's, gossiped).
///
/// Every honest validator sees the same two votes at about the same time. So that one of them, not all, pays the
/// fee, each waits `staggerMs` times its rank after the offender in the key order before looking at the pool: the
/// first submits at once, the others find its transaction and stand down, and the next in rank steps in when it
/// is missing (its node down, its account empty). A node without an account (`[account]`) only logs what it found.
final class EvidenceReporter: Sendable {
    static let staggerMs = 1_000
    /// Equivocations remembered as reported; beyond it the oldest are forgotten (only a flood of distinct double
    /// signs gets there, and a forgotten one is at worst reported twice).
    static let rememberedMax = 4_096

    private let account: AccountSubmitter?
    /// This node's validator (consensus) key: its rank among the reporters.
    private let validator: PublicKey
    private let store: RocksDBStore
    private let mempool: Mempool
    /// The committed chain's tip (nil before block 1): its height for the age limit, its set for the ranks.
    private let tip: @Sendable () -> ChainTip?
    private let logger: Logger
    private let queue = DispatchQueue(label: "assay.evidence", qos: .utility)
    private let reported = Mutex<[Hash]>([])

    init(
        account: AccountSubmitter?, validator: PublicKey, store: RocksDBStore, mempool: Mempool,
        tip: @escaping @Sendable () -> ChainTip?, logger: Logger
    ) {
        self.account = account
        self.validator = validator
        self.store = store
        self.mempool = mempool
        self.tip = tip
        self.logger = logger
    }

    /// Called on the engine's queue: only schedules the reports.
    func found(_ evidence: [DoubleSignEvidence]) {
        for item in evidence where remember(item) {
            let offender = item.first.validator
            let unreported = account == nil ? "; not reported: no [account] key" : ""
            logger.warning(
                "validator \(offender) signed two \(item.first.kind)s at height \(item.first.height) round \(item.first.round)\(unreported)")
            guard account != nil else { continue }
            queue.asyncAfter(deadline: .now() + delay(reportingOn: offender)) { self.report(item) }
        }
    }

    /// Submits `evidence` unless it is already being punished, or too old to be. Returns the transaction, if sent.
    @discardableResult
    func report(_ evidence: DoubleSignEvidence) -> Transaction? {
        guard let account else { return nil }
        let offender = evidence.first.validator
        let query = LedgerQuery(store: store)
        do {
            if try query.validator(offender)?.tombstoned == true { return nil }
            let height = tip()?.height ?? 0
            guard height < evidence.first.height + (try query.params().unbondingBlocks) else {
                logger.warning("evidence against \(offender) from height \(evidence.first.height) is too old to submit")
                return nil
            }
        } catch {
            logger.error("evidence against \(offender) not submitted: \(error)")
            return nil
        }
        if mempool.containsTransaction(where: { $0.body.isEvidence(against: offender) }) { return nil }
        return account.submit(.evidence(evidence), purpose: "evidence against \(offender)")
    }

    /// False when this equivocation was seen before.
    private func remember(_ evidence: DoubleSignEvidence) -> Bool {
        let id = SHA256.hash(evidence.canonicalBytes)
        return reported.withLock { reported in
            guard !reported.contains(id) else { return false }
            if reported.count == Self.rememberedMax { reported.removeFirst() }
            reported.append(id)
            return true
        }
    }

    /// This node's turn among the current validators to report on `offender`: the one after it in key order reports
    /// at once, the next one `staggerMs` later, and so on; a node outside the set comes last.
    private func delay(reportingOn offender: PublicKey) -> DispatchTimeInterval {
        let keys = (tip()?.nextRotation.validators.validators.map(\.publicKey) ?? []).sorted()
        let theirs = keys.firstIndex(of: offender) ?? 0
        let rank = keys.firstIndex(of: validator).map { ($0 - theirs - 1 + keys.count) % keys.count }
        return .milliseconds(Self.staggerMs * (rank ?? keys.count))
    }
}

extension TransactionBody {
    fileprivate func isEvidence(against validator: PublicKey) -> Bool {
        if case let .evidence(evidence) = self { evidence.first.validator == validator } else { false }
    }
}
