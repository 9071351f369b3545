import ArgumentParser
import AssayBlobs
import AssayKernels
import AssayONNX
import Foundation

/// `assay model import|inspect`: quantized ONNX models to qnn/1 model files, and what a model computes
/// (docs/models.md). Every failure is one line on stderr and exit status 1.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Import a quantized ONNX model to a qnn/1 model file, or describe a model (docs/models.md).",
        subcommands: [Import.self, Inspect.self]
    )

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a quantized ONNX model (quantize_static, QOperator or QDQ) to a qnn/1 model file.")

        @Argument(help: "The quantized ONNX model (.onnx).") var onnx: String
        @Option(help: "Where to write the qnn/1 model: a .npz of named arrays (conventionally .qnn), as `assay kernel run qnn/1 --model` and `assay tx register-model` take.")
        var out: String

        func run() throws {
            let imported = try ModelFiles.importONNX(at: onnx)
            let bytes: [UInt8]
            do { bytes = try NPZ.encode(imported.model) } catch { throw CommandFailure("\(out): \(error)") }
            try KernelFiles.write(bytes, to: out)
            print("layers \(imported.sources.count)")
            ModelFiles.printEndpoints(imported)
            print("model_hash \(BlobRef(of: imported.model.canonicalBytes).id)")
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a model's layers, shapes, parameters and the work units of one input (.onnx or .qnn).")

        @Argument(help: "A quantized ONNX model (.onnx) or a qnn/1 model file (.qnn / .npz).") var file: String
        @Option(help: "A .qnn file's input shape for one item, e.g. 1,1,8,8 (an .onnx file states its own).")
        var inputShape: String?
        @Option(help: "A .qnn file's activation dtype, uint8 or int8 (default: that of its input_zero_point).")
        var inputDtype: String?

        func run() throws {
            let bytes = try KernelFiles.read(file)
            let model: Model, input: TensorSpec
            var sources: [[String]] = []
            if bytes.starts(with: [0x50, 0x4B]) {  // "PK": a zip, so a .npz of model arrays
                do { model = try NPZ.decode(bytes) } catch { throw CommandFailure("\(file): \(error)") }
                input = try qnnInput(model)
                print("qnn/1 model \(file)")
            } else {
                let imported = try ModelFiles.importONNX(bytes, path: file)
                (model, input, sources) = (imported.model, imported.inputSpec, imported.sources)
                print("ONNX model \(file), imported to qnn/1")
                ModelFiles.printEndpoints(imported)
            }
            let layers: [QNNLayerSummary]
            do { layers = try QNNSummary.layers(model: model, input: input) } catch { throw CommandFailure("\(file): \(error)") }
            ModelFiles.printLayers(layers, input: input, sources: sources)
            print("model_hash \(BlobRef(of: model.canonicalBytes).id)")
        }

        private func qnnInput(_ model: Model) throws -> TensorSpec {
            guard let inputShape else { throw CommandFailure("a .qnn file does not state its input shape: give --input-shape, e.g. 1,1,8,8") }
            let dims = inputShape.split(separator: ",").map { UInt64($0.trimmingCharacters(in: .whitespaces)) }
            guard !dims.isEmpty, dims.allSatisfy({ $0 != nil }) else { throw CommandFailure("--input-shape needs comma-separated sizes, got '\(inputShape)'") }
            let dtype: DType
            switch inputDtype {
            case "uint8": dtype = .uint8
            case "int8": dtype = .int8
            case nil:
                guard let stated = model["input_zero_point"]?.dtype else { throw CommandFailure("the model has no input_zero_point: give --input-dtype") }
                dtype = stated
            default: throw CommandFailure("--input-dtype must be uint8 or int8")
            }
            return TensorSpec(dtype: dtype, shape: dims.map { $0! })
        }
    }
}

/// File access and printing for the model commands; the import itself is AssayONNX's.
enum ModelFiles {
    static func importONNX(at path: String) throws -> ImportedModel { try importONNX(try KernelFiles.read(path), path: path) }

    static func importONNX(_ bytes: [UInt8], path: String) throws -> ImportedModel {
        do { return try ONNXImport.importModel(bytes) } catch { throw CommandFailure("\(path): \(error)") }
    }

    /// How a client makes the input from floats and reads the output as floats.
    static func printEndpoints(_ imported: ImportedModel) {
        let input = imported.input, output = imported.output
        let range = input.dtype == .int8 ? "-128, 127" : "0, 255"
        print("input '\(input.name)' \(input.dtype) [\(input.shape.joined(separator: ", "))]: q = clamp(round_half_even(x / \(input.quantization.scale)) + \(input.quantization.zeroPoint), \(range))")
        print("output '\(output.name)' \(output.dtype) [\(output.shape.joined(separator: ", "))]: x = (q - \(output.quantization.zeroPoint)) * \(output.quantization.scale)")
    }

    static func printLayers(_ layers: [QNNLayerSummary], input: TensorSpec, sources: [[String]]) {
        print("layers for one input \(input.dtype) \(input.shape):")
        let header = pad("node", 5) + pad("kind", 21) + pad("inputs", 8) + pad("shape", 18) + pad("parameters", 12) + pad("work units", 12)
        print((header + (sources.isEmpty ? "" : "from")).trimmingCharacters(in: .whitespaces))
        for (index, layer) in layers.enumerated() {
            let from = index < sources.count ? sources[index].joined(separator: ", ") : ""
            let row = pad(String(index), 5) + pad(layer.kind, 21) + pad(layer.inputs.map(String.init).joined(separator: ","), 8)
                + pad("\(layer.shape)", 18) + pad(String(layer.parameters), 12) + pad(String(layer.workUnits), 12) + from
            print(row.trimmingCharacters(in: .whitespaces))
        }
        print("total: \(layers.count) layers, \(layers.map(\.parameters).reduce(0, +)) parameters, \(layers.map(\.workUnits).reduce(0, +)) work units per input")
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
