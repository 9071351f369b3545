import AssayCrypto

/// The OpenTelemetry ids of a job's trace, derived from the job id (the hash of its `job` transaction) alone.
///
/// The processes a job passes through (the client, the nodes, the provider, the validators' replay) share no memory,
/// and trace context never goes into a transaction's canonical bytes, so each process derives the same ids: the
/// trace id is the first 16 bytes of SHA-256("assay/job-trace/1" ‖ job id), the root span id the first 8 bytes of
/// SHA-256("assay/job-trace-root/1" ‖ job id). Every process starts its spans of the job under that root span, as a
/// remote parent named in a W3C `traceparent`; no process emits the root itself (docs/rpc.md, Tracing).
public struct JobTraceIDs: Equatable, Sendable {
    static let traceTag = "assay/job-trace/1"
    static let rootTag = "assay/job-trace-root/1"

    public let traceID: [UInt8]
    public let rootSpanID: [UInt8]

    public init(job: Digest32) {
        traceID = Array(SHA256.hash(parts: [Array(Self.traceTag.utf8), job.bytes]).bytes.prefix(16))
        rootSpanID = Array(SHA256.hash(parts: [Array(Self.rootTag.utf8), job.bytes]).bytes.prefix(8))
    }

    /// The W3C trace context of the root span, sampled: what the tracer extracts as every job span's parent.
    public var traceparent: String { "00-\(Hex.encode(traceID))-\(Hex.encode(rootSpanID))-01" }
}
