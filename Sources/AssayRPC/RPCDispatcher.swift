import AssayAPI
import Foundation

/// JSON-RPC 2.0 over any transport: bytes in, bytes out. Single requests, batch arrays and notifications
/// (requests without an id, which get no response); every failure is a JSON-RPC error object.
public struct RPCDispatcher: Sendable {
    /// The most requests one batch array may hold.
    public static let batchRequestsMax = 1_000
    /// Bodies nesting arrays and objects deeper than this are refused: no request needs more than a few levels.
    public static let jsonDepthMax = 64
    public static let responseBytesMaxDefault = 8 << 20

    /// The most bytes one response body may take: a single response beyond it is replaced by an error, and a
    /// batch stops running requests once its responses pass it (each remaining request gets a short error).
    public let responseBytesMax: Int
    private let node: any NodeAPI
    private let methods: [String: RPCMethod]
    /// Every method the node serves, in the order `rpc.discover` lists them: `methods`, then `rpc.discover`, then
    /// the methods served over WebSocket only (`subscribe`, `unsubscribe`).
    public let descriptions: [RPCMethodDescription]

    public init(
        node: any NodeAPI, methods: [RPCMethod] = RPCMethods.all,
        webSocketMethods: [RPCMethodDescription] = SubscriptionMethods.descriptions,
        responseBytesMax: Int = RPCDispatcher.responseBytesMaxDefault
    ) {
        precondition(responseBytesMax > 0)
        self.node = node
        self.responseBytesMax = responseBytesMax
        let descriptions = methods.map(\.description) + [ChainMethods.discover.description] + webSocketMethods
        let document = OpenRPC.document(descriptions)
        let discover = RPCMethod(ChainMethods.discover) { _, _ in document }
        self.methods = Dictionary(uniqueKeysWithValues: (methods + [discover]).map { ($0.name, $0) })
        self.descriptions = descriptions
    }

    /// The response body for a request body, or nil when there is nothing to answer (only notifications).
    public func handle(body: [UInt8]) async -> [UInt8]? {
        switch Self.parse(body) {
        case let .success(request): await handle(request)
        case let .failure(error): Self.errorBody(error)
        }
    }

    /// The body as JSON, parsed in linear time; nesting deeper than `jsonDepthMax` is refused as soon as it is met.
    static func parse(_ body: [UInt8]) -> Result<JSONValue, RPCError> {
        do throws(JSONParseError) { return .success(try JSONValue(parsing: body, depthMax: jsonDepthMax)) } catch {
            switch error {
            case .tooDeep: return .failure(.invalidRequest("JSON nested deeper than \(jsonDepthMax) levels"))
            case let .invalid(offset): return .failure(.parseError("the body is not valid JSON (at byte \(offset))"))
            }
        }
    }

    /// The response body for a parsed request or batch, or nil when there is nothing to answer.
    func handle(_ request: JSONValue) async -> [UInt8]? {
        guard case let .array(batch) = request else {
            return await respond(to: request).map(withinBudget)
        }
        guard !batch.isEmpty else {
            return Self.encode(RPCResponse(id: .null, error: .invalidRequest("empty batch")))
        }
        guard batch.count <= Self.batchRequestsMax else {
            return Self.encode(RPCResponse(
                id: .null, error: .invalidRequest("batch of \(batch.count) requests, at most \(Self.batchRequestsMax)")))
        }
        return await respond(toBatch: batch)
    }

    /// Runs a batch in order until its responses pass the budget; the request that passed it and every later one
    /// are answered with `responseTooLarge` instead (later ones are not run).
    private func respond(toBatch batch: [JSONValue]) async -> [UInt8]? {
        var responses: [[UInt8]] = []
        var byteCount = 2  // the brackets
        for (index, entry) in batch.enumerated() {
            guard let response = await respond(to: entry) else { continue }
            let encoded = Self.encode(response)
            byteCount += encoded.count + 1
            guard byteCount <= responseBytesMax else {
                let error = RPCError.responseTooLarge(responseBytesMax, detail: "the batch was cut off here")
                responses.append(Self.encode(RPCResponse(id: response.id, error: error)))
                responses += batch[(index + 1)...].compactMap { Self.refuse($0, with: error) }.map { Self.encode($0) }
                break
            }
            responses.append(encoded)
        }
        return responses.isEmpty ? nil : Array(responses.joined(separator: [UInt8(ascii: ",")])).bracketed()
    }

    /// A single response's bytes, or an error in its place when they exceed the budget.
    private func withinBudget(_ response: RPCResponse) -> [UInt8] {
        let encoded = Self.encode(response)
        guard encoded.count > responseBytesMax else { return encoded }
        return Self.encode(RPCResponse(
            id: response.id, error: .responseTooLarge(responseBytesMax, detail: "ask for less")))
    }

    /// The body of an error that is not tied to a request, e.g. a body over the size limit.
    public static func errorBody(_ error: RPCError) -> [UInt8] { encode(RPCResponse(id: .null, error: error)) }

    /// A request object that has the shape JSON-RPC 2.0 requires: `jsonrpc` "2.0", a method name, a valid id or
    /// none (a notification).
    struct Call {
        let id: JSONValue?
        let method: String
        let params: JSONValue?
    }

    enum Checked {
        case call(Call)
        /// The answer to an invalid request object: with its id when that is valid, otherwise with id null. It is
        /// answered even without an id, since only a valid request without an id is a notification.
        case invalid(RPCResponse)
    }

    static func check(_ request: JSONValue) -> Checked {
        guard case let .object(fields) = request else {
            return .invalid(RPCResponse(id: .null, error: .invalidRequest("a request must be a JSON object")))
        }
        let id = fields["id"]
        guard id?.isValidID ?? true else {
            return .invalid(RPCResponse(id: .null, error: .invalidRequest("'id' must be a string, a number or null")))
        }
        guard fields["jsonrpc"] == .string("2.0") else {
            return .invalid(RPCResponse(id: id ?? .null, error: .invalidRequest("'jsonrpc' must be \"2.0\"")))
        }
        guard case let .string(method)? = fields["method"] else {
            return .invalid(RPCResponse(id: id ?? .null, error: .invalidRequest("'method' must be a string")))
        }
        return .call(Call(id: id, method: method, params: fields["params"]))
    }

    /// The answer a request gets without being run: `error`, or its own error when it is invalid; nil for a
    /// notification.
    private static func refuse(_ request: JSONValue, with error: RPCError) -> RPCResponse? {
        switch check(request) {
        case let .invalid(response): response
        case let .call(call): call.id.map { RPCResponse(id: $0, error: error) }
        }
    }

    private func respond(to request: JSONValue) async -> RPCResponse? {
        switch Self.check(request) {
        case let .invalid(response): return response
        case let .call(call):
            let outcome: Result<any Encodable & Sendable, RPCError>
            do { outcome = .success(try await run(call)) } catch { outcome = .failure(error) }
            // A notification (no id) gets no response, whatever happened.
            guard let id = call.id else { return nil }
            switch outcome {
            case let .success(result): return RPCResponse(id: id, result: result)
            case let .failure(error): return RPCResponse(id: id, error: error)
            }
        }
    }

    private func run(_ call: Call) async throws(RPCError) -> any Encodable & Sendable {
        guard let method = methods[call.method] else { throw .methodNotFound(call.method) }
        let params = try method.namedParameters(call.params)
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

extension [UInt8] {
    /// `[` + self + `]`: a JSON array of elements already encoded and joined by commas.
    fileprivate func bracketed() -> [UInt8] { [UInt8(ascii: "[")] + self + [UInt8(ascii: "]")] }
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
