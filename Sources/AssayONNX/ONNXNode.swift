/// One ONNX node as the importer reads it: its name and op type for error lines, its inputs and outputs (an
/// optional input left out is the empty name) and its attributes by name.
struct ONNXNode {
    let name: String
    let opType: String
    let domain: String
    let inputs: [String]
    let outputs: [String]
    let attributes: [Onnx_AttributeProto]

    init(_ proto: Onnx_NodeProto, position: Int) {
        name = proto.name.isEmpty ? "#\(position)" : proto.name
        opType = proto.opType
        domain = proto.domain == "ai.onnx" ? "" : proto.domain
        inputs = proto.input
        outputs = proto.output
        attributes = proto.attribute
    }

    /// `node 'conv1' (QLinearConv)`: how every refusal names the node.
    var label: String { "node '\(name)' (\(domain.isEmpty ? "" : domain + ".")\(opType))" }

    /// Refuses any attribute outside `allowed`: an attribute the importer does not read could change the meaning.
    func checkAttributes(_ allowed: Set<String>) throws(ONNXImportError) {
        for attribute in attributes where !allowed.contains(attribute.name) {
            throw .node(self, "attribute '\(attribute.name)' is not supported")
        }
    }

    func attribute(_ name: String) -> Onnx_AttributeProto? { attributes.first { $0.name == name } }

    func int(_ name: String, default value: Int64) throws(ONNXImportError) -> Int64 {
        guard let attribute = attribute(name) else { return value }
        guard attribute.type == .int else { throw .node(self, "attribute '\(name)' must be an integer") }
        return attribute.i
    }

    func float(_ name: String, default value: Float) throws(ONNXImportError) -> Float {
        guard let attribute = attribute(name) else { return value }
        guard attribute.type == .float else { throw .node(self, "attribute '\(name)' must be a float") }
        return attribute.f
    }

    func ints(_ name: String) throws(ONNXImportError) -> [Int64]? {
        guard let attribute = attribute(name) else { return nil }
        guard attribute.type == .ints, attribute.ints.count <= 16 else {
            throw .node(self, "attribute '\(name)' must be a list of at most 16 integers")
        }
        return attribute.ints
    }

    func string(_ name: String, default value: String) throws(ONNXImportError) -> String {
        guard let attribute = attribute(name) else { return value }
        guard attribute.type == .string, let text = String(validating: attribute.s, as: UTF8.self) else {
            throw .node(self, "attribute '\(name)' must be a UTF-8 string")
        }
        return text
    }

    /// Input `index`, or nil when it is absent or left empty (an omitted optional input).
    func input(_ index: Int) -> String? { index < inputs.count && !inputs[index].isEmpty ? inputs[index] : nil }

    /// Requires between `range` inputs and exactly one output.
    func checkArity(_ range: ClosedRange<Int>) throws(ONNXImportError) {
        guard range.contains(inputs.count) else { throw .node(self, "has \(inputs.count) inputs; this op takes \(range)") }
        guard outputs.count == 1 else { throw .node(self, "has \(outputs.count) outputs; only one is supported") }
    }
}
