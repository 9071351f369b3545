import AssayTracing
import Foundation
import Logging

extension TracingBackend {
    /// Runs a command's `body` traced when `OTEL_EXPORTER_OTLP_ENDPOINT` names a collector (docs/rpc.md, Tracing).
    /// swift-otel's own warnings go to standard error, never into the command's output.
    static func runCommand<T: Sendable>(
        service: String, instance: String, _ body: (JobTracer) async throws -> T
    ) async throws -> T {
        let settings = TracingSettings.fromEnvironment(
            ProcessInfo.processInfo.environment, serviceName: service, instance: instance)
        let logger = Logger(label: "assay.tracing") { StreamLogHandler.standardError(label: $0) }
        return try await run(settings, logger: logger, body)
    }
}
