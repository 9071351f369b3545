import AssayCrypto
import AssayLedger
import AssayRPC
import AssayTypes

/// A job's state change in a committed block, as the block's events record it: enough to show the job exactly as
/// it stood right after that block, even if later blocks changed it again before anyone looked.
struct JobTransition: Equatable, Sendable {
    let job: Hash
    /// The status after the change; nil when the job ended: a terminal status never changes again, so the job's
    /// current record holds it, with what the ending moved.
    let status: JobStatus?
    /// The escrow after the change: known from the event, or nil for "as at creation" (a posted result).
    let escrow: Amount?

    /// The block's job changes in the order they happened: transaction events, then end-of-block events.
    static func all(in outcome: BlockOutcome) -> [JobTransition] {
        outcome.results.flatMap { result in
            result.events.compactMap { transition($0, transaction: result.transactionHash) }
        } + outcome.endBlockEvents.compactMap { transition($0, transaction: nil) }
    }

    private static func transition(_ event: LedgerEvent, transaction: Hash?) -> JobTransition? {
        switch event {
        case let .jobCreated(job, _, _, escrow): return JobTransition(job: job, status: .open, escrow: escrow)
        case let .resultPosted(job, outputHash, traceBlob, traceRoot, workUnits, windowEnd):
            guard let transaction else { return nil }
            return JobTransition(
                job: job,
                status: .resultPosted(
                    outputHash: outputHash, traceBlob: traceBlob, traceRoot: traceRoot, workUnits: workUnits,
                    resultTx: transaction, windowEnd: windowEnd),
                escrow: nil)
        case let .jobEnded(job, _, _, _, _, _): return JobTransition(job: job, status: nil, escrow: 0)
        default: return nil
        }
    }

    /// The job as it stood after this change, from its current record (whose request and terms never change) and
    /// the result the index keeps for it.
    func entry(from current: JobRecord, postedResult: PostedResult?) -> JobEntry {
        guard let status else { return JobEntry(id: job, record: current, postedResult: postedResult) }
        var record = current
        record.status = status
        // Until a job ends its escrow is what was locked at creation: price x max work units.
        record.escrow =
            escrow ?? current.pricePerWorkUnit.multipliedReportingOverflow(by: current.request.maxWorkUnits).partialValue
        return JobEntry(id: job, record: record, postedResult: nil)
    }
}
