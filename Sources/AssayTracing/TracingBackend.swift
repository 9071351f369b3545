import Foundation
import Logging
import OTel
import ServiceLifecycle

/// Where a process sends its spans: an OpenTelemetry collector's OTLP/HTTP endpoint.
public struct TracingSettings: Equatable, Sendable {
    /// The collector's base URL, as in `OTEL_EXPORTER_OTLP_ENDPOINT`: spans go to `<endpoint>/v1/traces`.
    public var endpoint: String
    /// `http/protobuf` (the OTLP default) or `http/json`.
    public var otlpProtocol: String
    /// The `service.name` resource attribute: `assay-node`, `assay-provider` or `assay-client`.
    public var serviceName: String
    /// The `service.instance.id` resource attribute: a node's moniker, a provider's address.
    public var instance: String

    public static let protocols = ["http/protobuf", "http/json"]

    public init(endpoint: String, otlpProtocol: String = "http/protobuf", serviceName: String, instance: String) {
        self.endpoint = endpoint
        self.otlpProtocol = otlpProtocol
        self.serviceName = serviceName
        self.instance = instance
    }

    /// The settings the standard variable `OTEL_EXPORTER_OTLP_ENDPOINT` turns on (and `OTEL_EXPORTER_OTLP_PROTOCOL`
    /// chooses between), for the command-line client and the provider worker; nil without it.
    public static func fromEnvironment(
        _ environment: [String: String], serviceName: String, instance: String
    ) -> TracingSettings? {
        guard let endpoint = environment["OTEL_EXPORTER_OTLP_ENDPOINT"], !endpoint.isEmpty else { return nil }
        return TracingSettings(
            endpoint: endpoint, otlpProtocol: environment["OTEL_EXPORTER_OTLP_PROTOCOL"] ?? "http/protobuf",
            serviceName: serviceName, instance: instance)
    }
}

public struct TracingError: Error, CustomStringConvertible {
    public let description: String
}

/// swift-otel's tracer with its OTLP/HTTP exporter (the package's `OTLPHTTP` trait only: no gRPC).
public enum TracingBackend {
    /// The tracer and the service that batches and exports its spans: run the service beside the process's other
    /// services; it exports what is left when it is shut down gracefully.
    public static func make(
        _ settings: TracingSettings, logger: Logger
    ) throws -> (tracer: JobTracer, service: any Service) {
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        configuration.resourceAttributes = ["service.instance.id": settings.instance]
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        configuration.propagators = [.traceContext]
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.exporter = .otlp
        // A job's spans reach the collector within a second (the default waits 5 s); a long-running provider that is
        // stopped loses at most that much.
        configuration.traces.batchSpanProcessor.scheduleDelay = .seconds(1)
        configuration.traces.otlpExporter.endpoint = settings.endpoint.trimmingSuffix("/") + "/v1/traces"
        switch settings.otlpProtocol {
        case "http/protobuf": configuration.traces.otlpExporter.protocol = .httpProtobuf
        case "http/json": configuration.traces.otlpExporter.protocol = .httpJSON
        default:
            throw TracingError(
                description: "OTLP protocol \(settings.otlpProtocol) is not one of \(TracingSettings.protocols)")
        }
        // swift-otel lets these variables override the protocol, and stops the process on one it was built without.
        for key in ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"]
        where ProcessInfo.processInfo.environment[key] == "grpc" {
            throw TracingError(description: "\(key)=grpc: this build exports OTLP over HTTP only")
        }
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        return (JobTracer(backend.factory), backend.service)
    }

    /// Runs a command's `body` with a tracer (`.off` without settings), then exports its last spans before returning.
    public static func run<T: Sendable>(
        _ settings: TracingSettings?, logger: Logger, _ body: (JobTracer) async throws -> T
    ) async throws -> T {
        guard let settings else { return try await body(.off) }
        let (tracer, service) = try make(settings, logger: logger)
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: logger)
        async let exporting: Void = group.run()
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body(tracer)) } catch { outcome = .failure(error) }
        await group.triggerGracefulShutdown()
        try await exporting
        return try outcome.get()
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
