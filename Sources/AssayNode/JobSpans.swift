import AssayLedger
import AssayTracing
import AssayTypes
import Tracing

/// A job's milestones in a committed block, as spans of the job's trace: creation, the posted result, challenges,
/// its end (settlement, refund or slash). Each runs from the block's header time (its proposal) to this node's commit
/// of it, so a trace shows, per node, how long consensus took on each step of the job.
struct JobSpans: Sendable {
    /// One milestone: the job, the span's name and what it adds.
    struct Milestone {
        let job: Hash
        let name: String
        let attributes: [String: String]
    }

    let tracer: JobTracer

    /// Called on the commit path: records a few spans and sends nothing itself (the exporter batches them).
    func committed(_ block: Block, _ outcome: BlockOutcome) {
        guard tracer.isOn else { return }
        let proposed = DefaultTracerClock.Timestamp(epochMilliseconds: block.header.timeMs)
        let committed = DefaultTracerClock.now
        for milestone in Self.milestones(outcome) {
            var attributes: SpanAttributes = ["assay.height": .int64(Int64(block.header.height))]
            for (key, value) in milestone.attributes { attributes[key] = value }
            tracer.record(milestone.name, job: milestone.job, from: proposed, to: committed, attributes: attributes)
        }
    }

    /// The job milestones among a block's events, in block order (end-of-block events last).
    static func milestones(_ outcome: BlockOutcome) -> [Milestone] {
        (outcome.results.flatMap(\.events) + outcome.endBlockEvents).compactMap(milestone)
    }

    private static func milestone(_ event: LedgerEvent) -> Milestone? {
        switch event {
        case let .jobCreated(job, _, provider, _):
            Milestone(job: job, name: "chain.job_created", attributes: ["assay.provider": provider.description])
        case let .resultPosted(job, _, _, _, workUnits, windowEnd):
            Milestone(
                job: job, name: "chain.result_posted",
                attributes: ["assay.work_units": "\(workUnits)", "assay.window_end": "\(windowEnd)"])
        case let .challengeFailed(job, tile, _):
            Milestone(job: job, name: "chain.challenge_failed", attributes: tileAttributes(tile))
        case let .challengeUpheld(job, tile):
            Milestone(job: job, name: "chain.challenge_upheld", attributes: tileAttributes(tile))
        case let .jobEnded(job, outcome, reason, _, _, _):
            Milestone(
                job: job, name: "chain.job_ended",
                attributes: ["assay.outcome": outcome.rawValue, "assay.reason": "\(reason)"])
        default: nil
        }
    }

    private static func tileAttributes(_ tile: ChallengedTile) -> [String: String] {
        ["assay.tile": "\(tile.layer):\(tile.tile)", "assay.challenger": tile.challenger.description]
    }
}
