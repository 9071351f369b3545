import AssayCrypto
import Tracing

/// Starts the spans of jobs, each in its job's trace (`JobTraceIDs`). `off` (the default everywhere) starts none and
/// costs nothing, so code paths are traced unconditionally.
public struct JobTracer: Sendable {
    private let tracer: (any Tracer)?

    public static let off = JobTracer(nil)

    public init(_ tracer: (any Tracer)?) { self.tracer = tracer }

    public var isOn: Bool { tracer != nil }

    /// A span that already happened: `job`'s milestones seen on the commit path, a check timed on a replay thread,
    /// or phases run before the job id existed (the id is the hash of the signed transaction). `children` are
    /// recorded under it.
    public func record(
        _ name: String, job: Digest32, from start: DefaultTracerClock.Timestamp, to end: DefaultTracerClock.Timestamp,
        attributes: SpanAttributes = [:], children: [RecordedSpan] = []
    ) {
        guard let tracer else { return }
        let span = tracer.startAnySpan(name, at: start, context: Self.context(of: job, tracer))
        var spanAttributes = Self.jobAttributes(job)
        spanAttributes.merge(attributes)
        span.attributes = spanAttributes
        for child in children {
            tracer.startAnySpan(child.name, at: child.start, context: span.context).end(at: child.end)
        }
        span.end(at: end)
    }

    /// Runs `body` in a span of `job` directly under the job's root; `withSpan` inside it makes children of it.
    public func withJobSpan<T>(_ name: String, job: Digest32, _ body: () async throws -> T) async rethrows -> T {
        guard let tracer else { return try await body() }
        return try await tracer.withAnySpan(name, context: Self.context(of: job, tracer)) { span in
            span.attributes = Self.jobAttributes(job)
            return try await body()
        }
    }

    /// Runs `body` in a child of the span this task is in (from `withJobSpan`).
    public func withSpan<T>(_ name: String, _ body: () async throws -> T) async rethrows -> T {
        guard let tracer else { return try await body() }
        return try await tracer.withAnySpan(name) { _ in try await body() }
    }

    /// A context whose span is `job`'s root, as the tracer reads it from a W3C `traceparent`.
    private static func context(of job: Digest32, _ tracer: any Tracer) -> ServiceContext {
        var context = ServiceContext.topLevel
        tracer.extract(
            ["traceparent": JobTraceIDs(job: job).traceparent], into: &context, using: DictionaryExtractor())
        return context
    }

    private static func jobAttributes(_ job: Digest32) -> SpanAttributes { ["assay.job.id": .string(job.description)] }
}

/// A span timed before it could be started in its trace.
public struct RecordedSpan: Sendable {
    public let name: String
    public let start: DefaultTracerClock.Timestamp
    public let end: DefaultTracerClock.Timestamp

    /// Times `body` as a span named `name`.
    public static func timing<T>(
        _ name: String, into spans: inout [RecordedSpan], _ body: () async throws -> T
    ) async rethrows -> T {
        let start = DefaultTracerClock.now
        let value = try await body()
        spans.append(RecordedSpan(name: name, start: start, end: DefaultTracerClock.now))
        return value
    }
}

extension DefaultTracerClock.Timestamp {
    /// The instant `milliseconds` after the Unix epoch (a block header's time).
    public init(epochMilliseconds milliseconds: UInt64) {
        self.init(nanosecondsSinceEpoch: milliseconds * 1_000_000)
    }
}

/// Reads the `traceparent` carrier.
private struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}
