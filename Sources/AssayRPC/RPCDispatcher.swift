import Foundation

/// JSON-RPC 2.0 over any transport: bytes in, bytes out. Single requests, batch arrays and notifications
/// (requests without an id, which get no response); every failure is a JSON-RPC error object.
public struct RPCDispatcher: Sendable {
    /// The most requests one batch array may hold.
    public static let batchRequestsMax = 1_000

    private let node: any NodeAPI
    private let methods: [String: RPCMethod]
    /// Every method the node serves, in the order `rpc.discover` lists them: `methods`, then `rpc.discover`, then
    /// the methods served over WebSocket only (`subscribe`, `unsubscribe`).
    public let descriptions: [RPCMethodDescription]

    public init(
        node: any NodeAPI, methods: [RPCMethod] = RPCMethods.all,
        webSocketMethods: [RPCMethodDescription] = SubscriptionMethods.descriptions
    ) {
        self.node = node
        let descriptions = methods.map(\.description) + [OpenRPC.discover] + webSocketMethods
        let document = OpenRPC.document(descriptions)
        let discover = RPCMethod(OpenRPC.discover.name, OpenRPC.discover.summary, NoParams.self) { _, _ in document }
        self.methods = Dictionary(uniqueKeysWithValues: (methods + [discover]).map { ($0.name, $0) })
        self.descriptions = descriptions
    }

    private struct NoParams: Decodable, Sendable {}

    /// The response body for a request body, or nil when there is nothing to answer (only notifications).
    public func handle(body: [UInt8]) async -> [UInt8]? {
        let request: JSONValue
        do { request = try JSONDecoder().decode(JSONValue.self, from: Data(body)) } catch {
            return Self.encode(RPCResponse(id: .null, error: .parseError("the body is not valid JSON")))
        }
        guard case let .array(batch) = request else {
            return await respond(to: request).flatMap { Self.encode($0) }
        }
        guard !batch.isEmpty else {
            return Self.encode(RPCResponse(id: .null, error: .invalidRequest("empty batch")))
        }
        guard batch.count <= Self.batchRequestsMax else {
            return Self.encode(RPCResponse(
                id: .null, error: .invalidRequest("batch of \(batch.count) requests, at most \(Self.batchRequestsMax)")))
        }
        var responses: [RPCResponse] = []
        for entry in batch {
            if let response = await respond(to: entry) { responses.append(response) }
        }
        return responses.isEmpty ? nil : Self.encode(responses)
    }

    /// The body of an error that is not tied to a request, e.g. a body over the size limit.
    public static func errorBody(_ error: RPCError) -> [UInt8] { encode(RPCResponse(id: .null, error: error)) }

    private func respond(to request: JSONValue) async -> RPCResponse? {
        guard case let .object(fields) = request else {
            return RPCResponse(id: .null, error: .invalidRequest("a request must be a JSON object"))
        }
        let id = fields["id"]
        guard id?.isValidID ?? true else {
            return RPCResponse(id: .null, error: .invalidRequest("'id' must be a string, a number or null"))
        }
        let outcome: Result<any Encodable & Sendable, RPCError>
        do { outcome = .success(try await call(fields)) } catch { outcome = .failure(error) }
        // A notification (no id) gets no response, whatever happened.
        guard let id else { return nil }
        switch outcome {
        case let .success(result): return RPCResponse(id: id, result: result)
        case let .failure(error): return RPCResponse(id: id, error: error)
        }
    }

    private func call(_ fields: [String: JSONValue]) async throws(RPCError) -> any Encodable & Sendable {
        guard fields["jsonrpc"] == .string("2.0") else { throw .invalidRequest("'jsonrpc' must be \"2.0\"") }
        guard case let .string(name)? = fields["method"] else { throw .invalidRequest("'method' must be a string") }
        guard let method = methods[name] else { throw .methodNotFound(name) }
        let params = try method.namedParameters(fields["params"])
        do { return try await method.run(params, node) } catch let error as RPCError { throw error } catch {
            throw .internalError("\(error)")
        }
    }

    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do { return Array(try encoder.encode(value)) } catch {
            return Array(#"{"error":{"code":-32603,"message":"internal error: response not encodable"},"id":null,"jsonrpc":"2.0"}"#.utf8)
        }
    }
}

/// One response object: exactly one of `result` and `error`, and the request's id.
struct RPCResponse: Encodable, Sendable {
    let id: JSONValue
    let result: (any Encodable & Sendable)?
    let error: RPCError?

    init(id: JSONValue, result: any Encodable & Sendable) {
        self.id = id
        self.result = result
        error = nil
    }

    init(id: JSONValue, error: RPCError) {
        self.id = id
        result = nil
        self.error = error
    }

    private enum CodingKeys: String, CodingKey { case jsonrpc, result, error, id }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("2.0", forKey: .jsonrpc)
        if let result { try container.encode(result, forKey: .result) }
        if let error { try container.encode(error, forKey: .error) }
        try container.encode(id, forKey: .id)
    }
}
