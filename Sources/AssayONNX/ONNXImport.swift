import AssayKernels
import SwiftProtobuf

/// A float tensor's affine quantization: `float = (q - zeroPoint) x scale`.
public struct Quantization: Sendable, Equatable, CustomStringConvertible {
    public let scale: Float
    public let zeroPoint: Int32

    public var description: String { "scale \(scale), zero point \(zeroPoint)" }
}

/// The model's input or output as a client sees it: the quantized tensor qnn/1 reads or writes, and how it maps to
/// the ONNX model's float tensor.
public struct ImportedEndpoint: Sendable {
    /// The ONNX graph's name for the float tensor.
    public let name: String
    public let dtype: DType
    /// Dimensions as the ONNX graph states them (a symbolic batch dimension by its name).
    public let shape: [String]
    public let quantization: Quantization
}

/// An ONNX model imported to qnn/1: the model arrays (what `.qnn` files and `register_model` hold), what its
/// input and output are, and which ONNX nodes each qnn/1 node came from.
public struct ImportedModel: Sendable {
    public let model: Model
    public let input: ImportedEndpoint
    public let output: ImportedEndpoint
    /// The job input of one item of the batch: the ONNX input's shape with its symbolic batch dimension 1.
    public let inputSpec: TensorSpec
    /// For qnn/1 node i, the ONNX nodes (`node 'name' (OpType)`) it implements.
    public let sources: [[String]]
}

/// ONNX `ModelProto` -> qnn/1 `Model` (docs/models.md): accepts what ONNX Runtime's `quantize_static` writes for MLPs
/// and CNNs, in QOperator form (QLinearConv, QLinearMatMul, QLinearAdd, ...) and in QDQ form (DequantizeLinear ->
/// op -> QuantizeLinear, fused here into one layer). Refusals are one line naming the ONNX node and why.
public enum ONNXImport {
    /// The largest ONNX file read (protobuf itself stops at 2 GiB; qnn/1 models are far smaller).
    public static let maxFileBytes = 1 << 30

    public static func importModel(_ bytes: [UInt8]) throws(ONNXImportError) -> ImportedModel {
        guard bytes.count <= maxFileBytes else {
            throw ONNXImportError("the file is \(bytes.count) bytes, over the \(maxFileBytes)-byte limit")
        }
        let proto: Onnx_ModelProto
        do { proto = try Onnx_ModelProto(serializedBytes: bytes) } catch {
            throw ONNXImportError("not an ONNX model: the protobuf does not decode (\(error))")
        }
        var reader = try GraphReader(proto.graph)
        return try reader.read()
    }
}
