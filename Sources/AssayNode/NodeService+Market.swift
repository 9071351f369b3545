import AssayCrypto
import AssayLedger
import AssayRPC
import AssayRocksDB
import AssayTypes

/// The market and state reads of the node API. Each answer comes from one RocksDB snapshot taken at a committed
/// block, so its parts agree with each other and with the height and state root it reports.
extension NodeService {
    /// How often a read retries when a commit lands between reading the tip and taking the snapshot.
    static let snapshotAttempts = 20

    struct CommittedState {
        let query: LedgerQuery<RocksDBStore.Snapshot>
        let height: Height
        let stateRoot: Hash
        var store: RocksDBStore.Snapshot { query.store }

        /// The job with the result its index keeps once the job has ended.
        func entry(_ id: Hash, _ record: JobRecord) throws -> JobEntry {
            let ended = record.status.isTerminal
            return JobEntry(
                id: id, record: record, postedResult: ended ? try TransactionIndex.postedResult(of: id, in: store) : nil)
        }
    }

    /// A snapshot whose state root is the root of the latest published block (blocks that change nothing keep
    /// the root, so the pair is true for the height reported either way).
    func committedState() async throws(NodeAPIError) -> CommittedState {
        for _ in 0..<Self.snapshotAttempts {
            let chain = application.snapshot.withLock { $0 }
            let snapshot: RocksDBStore.Snapshot
            do { snapshot = try store.snapshot() } catch { throw .unavailable("storage: \(error)") }
            let query = LedgerQuery(store: snapshot)
            let root = try Self.reading { () throws(LedgerError) in try query.stateRoot() }
            if root == chain.stateRoot { return CommittedState(query: query, height: chain.height, stateRoot: root) }
            await Task.yield()
        }
        throw .unavailable("the committed state kept changing during the read; retry")
    }

    static func reading<Value>(_ read: () throws -> Value) throws(NodeAPIError) -> Value {
        do { return try read() } catch { throw .unavailable("reading the committed state: \(error)") }
    }

    func offers(provider: Address?, kernel: String?) async throws(NodeAPIError) -> [OfferEntry] {
        let state = try await committedState()
        return try Self.reading { try state.query.offers() }
            .filter { entry in
                (provider == nil || entry.offer.provider == provider)
                    && (kernel.map { entry.offer.terms.kernels.contains($0) } ?? true)
            }
            .map { OfferEntry(id: $0.id, record: $0.offer) }
    }

    func job(id: Hash) async throws(NodeAPIError) -> JobEntry? {
        let state = try await committedState()
        return try Self.reading { try state.query.job(id).map { try state.entry(id, $0) } }
    }

    /// With a client or provider, walks that address's job index (in id order); otherwise scans the jobs in id
    /// order until `limit` match past the cursor (a state filter or a cursor alone may read every job: fine for a
    /// devnet, documented in docs/rpc.md).
    func jobs(_ filter: JobFilter) async throws(NodeAPIError) -> [JobEntry] {
        let state = try await committedState()
        return try Self.reading {
            let indexed: (Address, TransactionIndex.JobRole)? =
                if let client = filter.client { (client, .client) } else { filter.provider.map { ($0, .provider) } }
            guard let (address, role) = indexed else {
                let jobs =
                    try filter.state == nil && filter.after == nil
                    ? state.query.jobs(limit: filter.limit)
                    : Array(
                        state.query.jobs().lazy.filter { filter.isAfterCursor($0.id) && filter.matches($0.job) }
                            .prefix(filter.limit))
                return try jobs.map { try state.entry($0.id, $0.job) }
            }
            var found: [JobEntry] = []
            for id in try TransactionIndex.jobIDs(of: address, as: role, in: state.store) {
                guard found.count < filter.limit else { break }
                guard filter.isAfterCursor(id) else { continue }
                if let job = try state.query.job(id), filter.matches(job) { found.append(try state.entry(id, job)) }
            }
            return found
        }
    }

    func provider(_ address: Address) async throws(NodeAPIError) -> ProviderRecord {
        let state = try await committedState()
        return try Self.reading {
            var counts: [JobState: Int] = [:]
            for id in try TransactionIndex.jobIDs(of: address, as: .provider, in: state.store) {
                if let job = try state.query.job(id) { counts[JobState(job.status), default: 0] += 1 }
            }
            return ProviderRecord(
                address: address, stake: try state.query.stake(address),
                offers: try state.query.offers().filter { $0.offer.provider == address }
                    .map { OfferEntry(id: $0.id, record: $0.offer) },
                jobCounts: counts)
        }
    }

    func query(key: [UInt8], prove: Bool) async throws(NodeAPIError) -> StateQueryRecord {
        let state = try await committedState()
        return try Self.reading {
            if prove {
                let (value, proof) = try state.query.prove(key)
                return StateQueryRecord(
                    height: state.height, stateRoot: state.stateRoot, key: key, value: value, proof: proof)
            }
            return StateQueryRecord(
                height: state.height, stateRoot: state.stateRoot, key: key, value: try state.query.rawValue(key),
                proof: nil)
        }
    }

    /// Sums every account, stake and escrow: a full scan of the state, meant for audits and tests.
    func supply() async throws(NodeAPIError) -> SupplyRecord {
        let state = try await committedState()
        return try Self.reading {
            let totals = try state.query.totals()
            var balances: Amount = 0, bonded: Amount = 0, unbonding: Amount = 0, escrowed: Amount = 0
            for (_, account) in try state.query.accounts() { balances = try balances.adding(account.balance) }
            for (_, stake) in try state.query.stakes() {
                bonded = try bonded.adding(stake.bonded)
                unbonding = try unbonding.adding(stake.unbondingTotal)
            }
            for (_, job) in try state.query.jobs() { escrowed = try escrowed.adding(job.escrow) }
            return SupplyRecord(
                height: state.height, genesisSupply: totals.genesisSupply, balances: balances, bonded: bonded,
                unbonding: unbonding, escrowed: escrowed, burned: totals.burned)
        }
    }

    func params() async throws(NodeAPIError) -> Params {
        let state = try await committedState()
        return try Self.reading { try state.query.params() }
    }

    func unconfirmedTransactions(limit: Int) async -> UnconfirmedRecord {
        UnconfirmedRecord(
            count: mempool.count, totalBytes: mempool.byteCount,
            transactions: mempool.listing(limit: limit))
    }
}
