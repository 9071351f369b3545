/// Why an ONNX model was not imported: one line naming the ONNX node (its name and op type) when one is at fault.
public struct ONNXImportError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }

    /// A refusal of one node: `node 'conv1' (QLinearConv): <why>`.
    static func node(_ node: ONNXNode, _ why: String) -> ONNXImportError { ONNXImportError("\(node.label): \(why)") }
}
