import AssayCrypto
import AssayLedger
import AssayTracing
import AssayTypes
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import AssayNode

/// Tracing on: the spans of one job, exported over OTLP/HTTP (JSON) by swift-otel to a collector on 127.0.0.1,
/// are in the job's trace, under its root span, in the order of the job's life.
@Suite struct JobTracingTests {
    @Test func theTraceIDsAreDerivedFromTheJobID() {
        let ids = JobTraceIDs(job: Digest32([UInt8](repeating: 0, count: 32)))
        // docs/rpc.md, Tracing, gives this vector.
        #expect(Hex.encode(ids.traceID) == "83a049f344d00f46d66c587ad6a889bb")
        #expect(Hex.encode(ids.rootSpanID) == "68b981c1b3c97a3c")
        #expect(ids.traceparent == "00-83a049f344d00f46d66c587ad6a889bb-68b981c1b3c97a3c-01")
    }

    @Test func aJobsSpansFromCommitsReplayAndAProviderShareItsTraceInOrder() async throws {
        let (job, spans) = try await OTLPCollector.collect { endpoint in
            let settings = TracingSettings(
                endpoint: endpoint, otlpProtocol: "http/json", serviceName: "assay-node", instance: "test")
            return try await TracingBackend.run(settings, logger: Logger(label: "test")) { tracer in
                try await Self.runJob(tracer)
            }
        }
        let ids = JobTraceIDs(job: job)
        let ofJob = spans.filter { $0.job == job.description || $0.traceID == Hex.encode(ids.traceID) }
        #expect(!ofJob.isEmpty)
        #expect(ofJob.allSatisfy { $0.traceID == Hex.encode(ids.traceID) }, "one trace per job")
        func span(_ name: String) throws -> CollectedSpan { try #require(ofJob.first { $0.name == name }, "\(name)") }
        let root = Hex.encode(ids.rootSpanID)
        let direct = ["chain.job_created", "provider.job", "chain.result_posted", "replay.spot_check", "chain.job_ended"]
        for name in direct { #expect(try span(name).parentSpanID == root, "\(name) is under the job's root") }
        #expect(try span("provider.compute").parentSpanID == span("provider.job").spanID)
        #expect(try span("provider.post_result").parentSpanID == span("provider.job").spanID)
        #expect(!ofJob.contains { $0.spanID == root }, "no process emits the root")
        // The job's life in this process's time: committed, run by the provider, its result committed, checked, ended.
        // (A chain span starts at its block's header time, which the fixture sets near 1970: only ends are compared.)
        let life = [
            try span("chain.job_created").end, try span("provider.job").start, try span("provider.job").end,
            try span("chain.result_posted").end, try span("replay.spot_check").start, try span("replay.spot_check").end,
            try span("chain.job_ended").end,
        ]
        #expect(life == life.sorted())
        #expect(try span("chain.job_ended").attributes["assay.outcome"] == "settled")
        #expect(try span("replay.spot_check").attributes["assay.tiles_checked"] != nil)
    }

    /// One job through a node on a fixture: created, run by a "provider" (in this process), its result posted and
    /// spot-checked by the replay worker, settled at the end of its window. Every commit goes through `JobSpans`.
    static func runJob(_ tracer: JobTracer) async throws -> Hash {
        let node = try NodeFixture()
        let spans = JobSpans(tracer: tracer)
        func commit(_ transactions: [Transaction]) throws -> (Block, BlockOutcome) {
            let block = try node.commit(transactions)
            let outcome = try #require(node.outcomes.last)
            spans.committed(block, outcome)
            return (block, outcome)
        }
        let offer = try node.openMarket()
        let job = try node.job(offer: offer)
        _ = try commit([job])
        let result = try await tracer.withJobSpan("provider.job", job: job.hash) {
            await tracer.withSpan("provider.compute") {}
            return try await tracer.withSpan("provider.post_result") {
                try node.sign(node.provider, .result(try node.result(job: job.hash)))
            }
        }
        let (block, outcome) = try commit([result])
        let worker = ReplayWorker(
            policy: SpotCheckPolicy(mode: .all, tilesPerResult: 1), secret: SpotChecker.secret(of: NodeFixture.nodeKey),
            threads: 1, account: node.account(),
            store: node.store, blobs: node.blobs, logger: Logger(label: "test"), tracer: tracer)
        for item in worker.items(in: block, outcome) { worker.replay(item) }
        // Empty blocks until the end of the challenge window settles the job.
        let query = LedgerQuery(store: node.store)
        for _ in 0..<10 {
            guard case .resultPosted? = try query.job(job.hash)?.status else { break }
            _ = try commit([])
        }
        return job.hash
    }
}

/// A span as an OTLP/JSON export carries it (ids in hex).
struct CollectedSpan: Sendable {
    let name: String
    let traceID: String
    let spanID: String
    let parentSpanID: String
    let start: UInt64
    let end: UInt64
    let attributes: [String: String]

    var job: String? { attributes["assay.job.id"] }
}

/// A test-local OpenTelemetry collector: OTLP/HTTP with JSON bodies on 127.0.0.1, keeping every span it is sent.
enum OTLPCollector {
    /// Runs `body` with the collector's base URL; returns its value and the spans sent by the time it returned.
    static func collect<T: Sendable>(
        _ body: @escaping @Sendable (String) async throws -> T
    ) async throws -> (T, [CollectedSpan]) {
        let value = Mutex<T?>(nil)
        let received = Mutex<[CollectedSpan]>([])
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 16 << 20)
            let spans = try Self.spans(in: Data(Array(buffer: bytes)))
            received.withLock { $0 += spans }
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
        }
        let app = Application(router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let result = try await body("http://127.0.0.1:\(try #require(client.port))")
            value.withLock { $0 = result }
        }
        return (try #require(value.withLock { $0 }), received.withLock { $0 })
    }

    static func spans(in json: Data) throws -> [CollectedSpan] {
        try JSONDecoder().decode(Export.self, from: json).resourceSpans.flatMap { resource in
            (resource.scopeSpans ?? []).flatMap { $0.spans ?? [] }.map { span in
                CollectedSpan(
                    name: span.name, traceID: hex(span.traceId), spanID: hex(span.spanId),
                    parentSpanID: span.parentSpanId.map(hex) ?? "", start: UInt64(span.startTimeUnixNano) ?? 0,
                    end: UInt64(span.endTimeUnixNano) ?? 0,
                    attributes: Dictionary((span.attributes ?? []).map { ($0.key, $0.value.text) }, uniquingKeysWith: { $1 }))
            }
        }
    }

    /// Protobuf's JSON mapping writes bytes as base64 (OTLP's own JSON rule says hex): either is read.
    static func hex(_ id: String) -> String {
        if id.count % 2 == 0, Hex.decode(id) != nil { return id.lowercased() }
        return Data(base64Encoded: id).map { Hex.encode($0) } ?? id
    }

    struct Export: Decodable { let resourceSpans: [ResourceSpans] }
    struct ResourceSpans: Decodable { let scopeSpans: [ScopeSpans]? }
    struct ScopeSpans: Decodable { let spans: [Span]? }
    struct Span: Decodable {
        let traceId: String
        let spanId: String
        let parentSpanId: String?
        let name: String
        let startTimeUnixNano: String
        let endTimeUnixNano: String
        let attributes: [Attribute]?
    }
    struct Attribute: Decodable {
        let key: String
        let value: Value
    }
    struct Value: Decodable {
        let stringValue: String?
        let intValue: String?
        var text: String { stringValue ?? intValue ?? "" }
    }
}
