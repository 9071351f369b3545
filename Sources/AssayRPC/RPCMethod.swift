import AssayAPI
import Foundation

/// One JSON-RPC method: its description and its body, which gets the parameters decoded into a typed value.
public struct RPCMethod: Sendable {
    public let description: RPCMethodDescription
    public var name: String { description.name }
    public var parameterNames: [String] { description.parameters.map(\.name) }
    let run: @Sendable (_ params: [String: JSONValue], _ node: any NodeAPI) async throws -> any Encodable & Sendable

    public init<Params: Decodable & Sendable, Result: Encodable & Sendable>(
        _ name: String, _ summary: String, parameters: [RPCMethodDescription.Parameter] = [],
        _ params: Params.Type = Params.self, body: @escaping @Sendable (Params, any NodeAPI) async throws -> Result
    ) {
        description = RPCMethodDescription(name, summary, parameters: parameters)
        run = { params, node in try await body(try Self.decode(Params.self, from: params), node) }
    }

    /// A method described in AssayAPI: the body must produce the result type clients decode.
    public init<Params, Result>(
        _ method: Method<Params, Result>, body: @escaping @Sendable (Params, any NodeAPI) async throws -> Result
    ) {
        description = method.description
        run = { params, node in try await body(try Self.decode(Params.self, from: params), node) }
    }

    /// Named parameters as given, or positional ones matched to `parameterNames`.
    func namedParameters(_ params: JSONValue?) throws(RPCError) -> [String: JSONValue] {
        switch params {
        case nil: return [:]
        case let .object(named): return named
        case let .array(positional):
            guard positional.count <= parameterNames.count else {
                throw .invalidParams(
                    "\(name) takes at most \(parameterNames.count) parameters (\(parameterNames.joined(separator: ", "))), got \(positional.count)"
                )
            }
            return Dictionary(uniqueKeysWithValues: zip(parameterNames, positional))
        default: throw .invalidRequest("'params' must be an array or an object")
        }
    }

    private static func decode<Params: Decodable>(_: Params.Type, from params: [String: JSONValue]) throws -> Params {
        do {
            return try JSONDecoder().decode(Params.self, from: JSONEncoder().encode(params))
        } catch let DecodingError.typeMismatch(type, context) {
            throw RPCError.invalidParams("'\(path(context))' must be \(describe(type))")
        } catch let DecodingError.valueNotFound(type, context) {
            throw RPCError.invalidParams("'\(path(context))' must be \(describe(type)), not null")
        } catch let DecodingError.keyNotFound(key, _) {
            throw RPCError.invalidParams("missing parameter '\(key.stringValue)'")
        } catch let DecodingError.dataCorrupted(context) {
            throw RPCError.invalidParams("'\(path(context))': \(context.debugDescription)")
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is UInt64.Type, is UInt32.Type, is Int.Type: "an unsigned integer"
        case is Bool.Type: "a boolean"
        case is String.Type: "a string"
        case is [String].Type: "an array of strings"
        default: "of type \(type)"
        }
    }
}
