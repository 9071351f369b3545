/// How many transactions this node proposes in one block: as many as it has recently been able to execute and
/// commit within a time budget, never more than `block_transactions_max`.
///
/// Validators execute a proposal (verifying every signature they have not seen gossiped) before they prevote, and
/// commit it before the next height starts, on the one queue that also carries votes. A proposal that takes longer
/// than the propose timeout to arrive and execute gets nil prevotes, the next round proposes as much or more, and
/// commits stop for tens of seconds (issue 15, defect 7: 100,000 transfers arriving at once). So the proposer sizes
/// blocks by measured cost, not only by a fixed count. Proposer policy only: any size up to the maximum stays valid.
///
/// Pure: the node times its own executions and commits and reports them; no clock is read here.
struct ProposalSizer: Sendable, Equatable {
    /// Execution and commit time one block may take on this node, in nanoseconds.
    let budgetNs: UInt64
    /// The configured ceiling (`[consensus] block_transactions_max`).
    let countMax: Int
    /// The floor: a slow machine still commits work in every block.
    let countMin: Int
    /// Smoothed nanoseconds per transaction; nil until a block large enough to measure was committed.
    private(set) var nsPerTransaction: UInt64?

    /// Blocks with fewer transactions are not measured: their fixed costs would pass for per-transaction ones.
    static let sampleTransactionsMin = 64

    init(budgetNs: UInt64, countMax: Int, countMin: Int = 256) {
        precondition(budgetNs > 0 && countMax > 0)
        self.budgetNs = budgetNs
        self.countMax = countMax
        self.countMin = min(countMin, countMax)
    }

    /// The transaction count for the next proposal.
    var count: Int {
        guard let cost = nsPerTransaction, cost > 0 else { return countMax }
        let affordable = budgetNs / cost
        return affordable >= UInt64(countMax) ? countMax : max(countMin, Int(affordable))
    }

    /// Records that a block of `transactions` took `nanoseconds` to execute and commit. The average follows
    /// recent blocks (each new sample weighs 1/4), so the size falls within a block or two of the machine
    /// becoming busy and recovers as quickly once it is quiet.
    mutating func record(transactions: Int, nanoseconds: UInt64) {
        guard transactions >= Self.sampleTransactionsMin else { return }
        let sample = nanoseconds / UInt64(transactions)
        nsPerTransaction = nsPerTransaction.map { ($0 * 3 + sample) / 4 } ?? sample
    }
}
