import AssayAPI
import Foundation

/// One JSON-RPC method as the node serves it: its AssayAPI description and its body, which gets the parameters
/// decoded into the method's `Params` and must produce its `Result`, the type clients decode.
public struct RPCMethod: Sendable {
    public let description: RPCMethodDescription
    public var name: String { description.name }
    public var parameterNames: [String] { description.parameters.map(\.name) }
    let run: @Sendable (_ params: [String: JSONValue], _ node: any NodeAPI) async throws -> any Encodable & Sendable

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

    /// Named parameters as the typed `Params`; a mismatch is -32602 naming the parameter.
    static func decode<Params: Decodable>(_: Params.Type, from params: [String: JSONValue]) throws(RPCError) -> Params {
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
        } catch {
            throw RPCError.invalidParams("\(error)")
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
