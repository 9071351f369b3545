import AssayKernels
import Foundation
import SwiftProtobuf
import Testing
@testable import AssayONNX

/// The digits models of Tools/models/fixtures (float, int8 QOperator, int8 QDQ), imported and run.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Tools/models/fixtures").standardized

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func proto(_ name: String) throws -> Onnx_ModelProto { try Onnx_ModelProto(serializedBytes: try bytes(name)) }

    /// ONNX Runtime's outputs for the first test digits (Tools/models/make_expected.py).
    static func expected() throws -> Model { try NPZ.decode(try bytes("digits_int8_expected.npz")) }
}

@Suite struct ONNXImportTests {
    static let cnnKinds = ["conv", "conv", "max pool", "conv", "global average pool", "reshape", "linear", "add"]
    static let mlpKinds = ["reshape", "linear", "add", "linear", "add", "linear", "add"]

    @Test(arguments: [("cnn", cnnKinds), ("mlp", mlpKinds)])
    func bothFormatsImportToTheSameModel(name: String, kinds: [String]) throws {
        let qop = try ONNXImport.importModel(try Fixtures.bytes("digits_\(name)_int8_qop.onnx"))
        let qdq = try ONNXImport.importModel(try Fixtures.bytes("digits_\(name)_int8_qdq.onnx"))
        #expect(qop.model == qdq.model, "QDQ fuses into the same layers as QOperator")
        let layers = try QNNSummary.layers(model: qop.model, input: qop.inputSpec)
        #expect(layers.map(\.kind) == kinds)
        #expect(layers.map(\.workUnits).reduce(0, +) == (try QNN.cost(model: qop.model, input: qop.inputSpec, limits: .default)))
        #expect(qop.inputSpec == TensorSpec(dtype: .uint8, shape: [1, 1, 8, 8]))
        #expect(qop.input.shape == ["N", "1", "8", "8"])
        #expect(qop.input.quantization == Quantization(scale: 0.003921569, zeroPoint: 0))
        #expect(qop.output.name == "logits" && qop.output.dtype == .uint8)
    }

    @Test(arguments: ["cnn_qop", "cnn_qdq", "mlp_qop", "mlp_qdq"])
    func importedModelsGiveOnnxRuntimesInt8Outputs(fixture: String) throws {
        let expected = try Fixtures.expected()
        let imported = try ONNXImport.importModel(try Fixtures.bytes("digits_\(fixture.replacingOccurrences(of: "_", with: "_int8_")).onnx"))
        let input = try #require(expected["input"])
        let output = try QNN.execute(model: imported.model, input: input, limits: .default).output
        let reference = try #require(expected[fixture])
        #expect(output.shape == reference.shape)
        let differences = zip(output.data, reference.data).map { abs(Int($0) - Int($1)) }
        #expect(differences.allSatisfy { $0 == 0 }, "\(differences.filter { $0 > 0 }.count) of \(differences.count) logits differ")
    }

    /// Strided, grouped and dilated conv, add of two activations, average and max pool, concat of two scales,
    /// transpose, flatten and Gemm with transB, per-channel weights (Tools/models/make_op_fixtures.py).
    @Test(arguments: [("qop", 0), ("qdq", 1)])
    func everyOtherLayerKindImports(format: String, unitsMax: Int) throws {
        let expected = try NPZ.decode(try Fixtures.bytes("ops_expected.npz"))
        let imported = try ONNXImport.importModel(try Fixtures.bytes("ops_int8_\(format).onnx"))
        let kinds = try QNNSummary.layers(model: imported.model, input: imported.inputSpec).map(\.kind)
        #expect(Set(kinds) == ["conv", "add", "average pool", "max pool", "concat", "transpose", "flatten", "linear"])
        let output = try QNN.execute(model: imported.model, input: try #require(expected["input"]), limits: .default).output
        let differences = zip(output.data, try #require(expected[format]).data).map { abs(Int($0) - Int($1)) }
        // ONNX Runtime runs the QDQ form's AveragePool in float (DequantizeLinear, mean, QuantizeLinear): one unit
        // of rounding apart at most; the QOperator form's integer kernels are matched exactly.
        #expect(differences.max() ?? 0 <= unitsMax)
    }

    /// QuantizeLinear -> MatMulInteger/ConvInteger -> Cast -> Mul(scale) -> QuantizeLinear, one layer each.
    @Test(arguments: [("matmulinteger", "linear"), ("convinteger", "conv")])
    func integerProductsImport(name: String, kind: String) throws {
        let expected = try NPZ.decode(try Fixtures.bytes("ops_expected.npz"))
        let imported = try ONNXImport.importModel(try Fixtures.bytes("ops_\(name).onnx"))
        #expect(try QNNSummary.layers(model: imported.model, input: imported.inputSpec).map(\.kind) == [kind])
        let output = try QNN.execute(model: imported.model, input: try #require(expected["\(name)_input"]), limits: .default).output
        #expect(output.data == (try #require(expected[name])).data)
    }

    @Test func theModelFileRoundTrips() throws {
        let imported = try ONNXImport.importModel(try Fixtures.bytes("digits_cnn_int8_qop.onnx"))
        #expect(try NPZ.decode(try NPZ.encode(imported.model)) == imported.model)
    }

    // MARK: Refusals: one line naming the node, its op type and why.

    func refusal(_ bytes: [UInt8]) throws -> String {
        do {
            _ = try ONNXImport.importModel(bytes)
        } catch {
            #expect(!error.description.contains("\n"))
            return error.description
        }
        Issue.record("the model was imported")
        return ""
    }

    func refusal(_ fixture: String, _ change: (inout Onnx_GraphProto) -> Void) throws -> String {
        var proto = try Fixtures.proto(fixture)
        change(&proto.graph)
        return try refusal(try proto.serializedBytes())
    }

    @Test func aFloatModelIsRefused() throws {
        let message = try refusal(try Fixtures.bytes("digits_cnn.onnx"))
        #expect(message.hasPrefix("node 'conv1' (Conv): reads the float tensor 'input'"), "\(message)")
        #expect(message.contains("not quantized"))
    }

    @Test func anUnsupportedOpIsRefused() throws {
        let message = try refusal("digits_mlp_int8_qop.onnx") { graph in graph.node[2].opType = "Softmax" }
        #expect(message.hasPrefix("node 'fc1_matmul_quant' (Softmax): unsupported op"), "\(message)")
    }

    @Test func anUnsupportedAttributeIsRefused() throws {
        let message = try refusal("digits_cnn_int8_qop.onnx") { graph in
            var attribute = Onnx_AttributeProto()
            attribute.name = "auto_pad"
            attribute.type = .string
            attribute.s = Data("SAME_UPPER".utf8)
            graph.node[1].attribute.append(attribute)
        }
        #expect(message == "node 'conv1_quant' (QLinearConv): auto_pad SAME_UPPER is not supported (give explicit pads)")
        let unknown = try refusal("digits_cnn_int8_qop.onnx") { graph in
            var attribute = Onnx_AttributeProto()
            attribute.name = "ceil_mode"
            attribute.type = .int
            attribute.i = 1
            graph.node[3].attribute.append(attribute)
        }
        #expect(unknown == "node 'pool' (MaxPool): ceil_mode 1 is not supported")
    }

    @Test func truncatedAndGarbageBytesAreRefused() throws {
        let bytes = try Fixtures.bytes("digits_cnn_int8_qop.onnx")
        #expect(try refusal(Array(bytes.prefix(bytes.count / 2))).hasPrefix("not an ONNX model: the protobuf does not decode"))
        var state: UInt64 = 12345
        let garbage = (0..<4096).map { _ -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        #expect(try !refusal(garbage).isEmpty)
        #expect(try refusal([]) == "the model has no graph nodes")
    }

    @Test func shapesThatDoNotChainAreRefused() throws {
        let message = try refusal("digits_cnn_int8_qop.onnx") { graph in
            let index = graph.initializer.firstIndex { $0.name == "fc.weight_quantized" }!
            graph.initializer[index].dims = [16, 20]
        }
        #expect(message.hasPrefix("node 'fc_matmul_quant' (QLinearMatMul): qnn/1 refuses the layer: "), "\(message)")
        #expect(message.contains("16 rows; the input has 32 features"), "\(message)")
    }

    @Test func aTensorClaiming2GiBIsRefusedBeforeAnyAllocation() throws {
        let message = try refusal("digits_cnn_int8_qop.onnx") { graph in
            let index = graph.initializer.firstIndex { $0.name == "conv1.weight_quantized" }!
            graph.initializer[index].dims = [1 << 20, 1 << 11]
        }
        #expect(message == "initializer 'conv1.weight_quantized' claims 2147483648 elements, over the limit of 67108864")
    }

    @Test func scalesOfOneOrMoreAreRefusedWithTheNode() throws {
        let message = try refusal("digits_mlp_int8_qop.onnx") { graph in
            let index = graph.initializer.firstIndex { $0.name == "fc1.matmul_scale" }!
            graph.initializer[index].rawData = Data(withUnsafeBytes(of: Float(1e-6).bitPattern.littleEndian) { Array($0) })
        }
        #expect(message.hasPrefix("node 'fc1_matmul_quant' (QLinearMatMul): input scale x weight scale / output scale: scale"), "\(message)")
        #expect(message.hasSuffix("is 1 or more; qnn/1 requantizes only with scales below 1"), "\(message)")
    }
}

@Suite struct FixedPointScaleTests {
    @Test func scalesFrom2ToTheMinus11AreOneRounding() throws {
        #expect(try FixedPointScale(0.5) == FixedPointScale(multiplier: 1 << 30, shift: 0))
        #expect(try FixedPointScale(0.75) == FixedPointScale(multiplier: 3 << 29, shift: 0))
        #expect(try FixedPointScale(0.25) == FixedPointScale(multiplier: 1 << 29, shift: 0))
        #expect(try FixedPointScale(0x1p-11) == FixedPointScale(multiplier: 1 << 20, shift: 0))
        // The digits CNN's first convolution: x_scale x w_scale / y_scale in float, held exactly.
        let conv = Double(Float(0.003921569) * Float(0.014363162) / Float(0.013766299))
        #expect(try FixedPointScale(conv).real == conv)
        #expect(try abs(FixedPointScale(0.3).real - 0.3) <= 0x1p-32)
    }

    @Test func smallerScalesAreTFLitesQuantizeMultiplier() throws {
        #expect(try FixedPointScale(0x1p-12) == FixedPointScale(multiplier: 1 << 30, shift: 11))
        #expect(try FixedPointScale(0x1p-32) == FixedPointScale(multiplier: 1 << 30, shift: 31))
        #expect(try FixedPointScale(0x1.8p-20) == FixedPointScale(multiplier: 3 << 29, shift: 19))
        // q x 2^31 rounding to 2^31 becomes 2^30 with one shift less.
        #expect(try FixedPointScale(0x1p-13 - 0x1p-50) == FixedPointScale(multiplier: 1 << 30, shift: 12))
    }

    @Test(arguments: [1.0, 1.5, 0, -0.25, 0x1p-33, 1 - 0x1p-40, Double.nan])
    func unrepresentableScalesAreRefused(real: Double) {
        #expect(throws: ONNXImportError.self) { try FixedPointScale(real) }
    }
}
