import Foundation

/// What a method is, for `rpc.discover`: its name, a one-line summary and its parameters in positional order.
public struct RPCMethodDescription: Sendable, Equatable {
    public struct Parameter: Sendable, Equatable {
        /// A JSON Schema type name: "string", "integer", "boolean", "array" or "object".
        public let type: String
        public let name: String
        public let required: Bool

        public static func required(_ name: String, _ type: String) -> Parameter {
            Parameter(type: type, name: name, required: true)
        }
        public static func optional(_ name: String, _ type: String) -> Parameter {
            Parameter(type: type, name: name, required: false)
        }
    }

    public let name: String
    public let summary: String
    public let parameters: [Parameter]

    public init(_ name: String, _ summary: String, parameters: [Parameter] = []) {
        self.name = name
        self.summary = summary
        self.parameters = parameters
    }
}

/// One JSON-RPC method as both ends see it: its description and the Swift types of its parameters and result.
/// The node's dispatcher serves it (its body must return a `Result`), `rpc.discover` lists it, and a client calls
/// it through `request(_:id:)` and `result(from:)`, so the two ends cannot disagree on names or shapes.
public struct Method<Params: Codable & Sendable, Result: Codable & Sendable>: Sendable {
    public let description: RPCMethodDescription
    public var name: String { description.name }

    public init(_ name: String, _ summary: String, parameters: [RPCMethodDescription.Parameter] = []) {
        description = RPCMethodDescription(name, summary, parameters: parameters)
    }

    /// The bytes of a JSON-RPC 2.0 request calling this method with named parameters.
    public func request(_ params: Params, id: Int = 1) throws -> Data {
        try JSONEncoder().encode(Request(id: id, method: name, params: params))
    }

    /// The result of a response body, or the node's error (`RPCError`) as a thrown error.
    public func result(from body: Data) throws -> Result {
        let response: Response
        do { response = try JSONDecoder().decode(Response.self, from: body) } catch {
            throw APIDecodingError(method: name, underlying: error)
        }
        if let error = response.error { throw error }
        guard let result = response.result else {
            throw APIDecodingError(method: name, underlying: DecodingError.valueNotFound(
                Result.self, .init(codingPath: [], debugDescription: "neither result nor error")))
        }
        return result
    }

    private struct Request: Encodable {
        let jsonrpc = "2.0"
        let id: Int
        let method: String
        let params: Params
    }

    private struct Response: Decodable {
        let result: Result?
        let error: RPCError?
    }
}

/// Methods that take no parameters send `{}`.
public struct NoParams: Codable, Sendable, Equatable {
    public init() {}
}

/// A JSON-RPC error object: a code, a sentence for people, and a stable machine-readable reason in `data` for the
/// application's refusals (docs/rpc.md, Errors). The node sends it; a client receives it as a thrown error.
public struct RPCError: Error, Equatable, Sendable, Codable, CustomStringConvertible {
    public let code: Int
    public let message: String
    public let data: Reason?

    public struct Reason: Equatable, Sendable, Codable {
        public let reason: String
    }

    public init(code: Int, message: String, reason: String? = nil) {
        self.code = code
        self.message = message
        self.data = reason.map(Reason.init)
    }

    public var description: String { "\(message) (code \(code))" }
}

/// A response that does not have the shape the method's description promises.
public struct APIDecodingError: Error, CustomStringConvertible {
    public let method: String
    public let underlying: any Error
    public var description: String { "the answer to \(method) is not what docs/rpc.md describes: \(underlying)" }
}
