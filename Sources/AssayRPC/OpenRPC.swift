import AssayAPI
import AssayLedger

/// The OpenRPC 1.2 document `rpc.discover` serves, generated from the method descriptions the dispatcher holds,
/// so it cannot drift from what the node answers. Two extension fields list what `tx` and `block_results` carry:
/// `x-result-codes` (the ledger's result codes and their names) and `x-events` (every event type and its attributes).
enum OpenRPC {
    static let version = "1.2.6"

    static func document(_ methods: [RPCMethodDescription]) -> JSONValue {
        .object([
            "openrpc": .string(version),
            "info": .object(["title": .string("Assay node JSON-RPC"), "version": .string("1")]),
            "methods": .array(methods.map(method)),
            "x-result-codes": .array(ResultCode.allCases.map { code in
                .object(["code": .unsigned(UInt64(code.rawValue)), "name": .string("\(code)")])
            }),
            "x-events": .array(EventType.allCases.map { type in
                .object(["type": .string(type.rawValue), "attributes": .array(type.attributeKeys.map(JSONValue.string))])
            }),
        ])
    }

    private static func method(_ method: RPCMethodDescription) -> JSONValue {
        .object([
            "name": .string(method.name),
            "summary": .string(method.summary),
            "params": .array(
                method.parameters.map { parameter in
                    .object([
                        "name": .string(parameter.name), "required": .bool(parameter.required),
                        "schema": .object(["type": .string(parameter.type)]),
                    ])
                }),
            "result": .object(["name": .string("result"), "schema": .object([:])]),
        ])
    }
}
