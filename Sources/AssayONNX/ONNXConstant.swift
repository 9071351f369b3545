import AssayKernels
import Foundation

/// An initializer (or a Constant node's value) decoded from its TensorProto. Its claimed size is checked against
/// the kernels' element limit before any element is copied, so a small file claiming a 2 GiB tensor costs nothing.
struct ONNXConstant {
    enum Elements {
        case float([Float])
        /// int8 or uint8 (`dtype` says which), as the bytes qnn/1 stores.
        case bytes([UInt8], DType)
        case int32([Int32])
        case int64([Int64])
    }

    let name: String
    let dims: [Int]
    let elements: Elements
}

extension ONNXConstant {
    /// TensorProto.DataType codes the importer reads.
    private enum DataType: Int32 {
        case float = 1, uint8 = 2, int8 = 3, int32 = 6, int64 = 7
    }

    init(_ proto: Onnx_TensorProto, limits: KernelLimits = .default) throws(ONNXImportError) {
        guard proto.dataLocation != .external else {
            throw ONNXImportError("initializer '\(proto.name)' is stored in an external file; embed it in the model")
        }
        guard proto.dims.count <= Tensor.maxRank, proto.dims.allSatisfy({ $0 >= 0 && UInt64($0) <= UInt64(limits.maxDimension) }) else {
            throw ONNXImportError("initializer '\(proto.name)' has dimensions \(proto.dims), beyond rank \(Tensor.maxRank) or \(limits.maxDimension) per dimension")
        }
        // Each dimension is at most 2^20, so eight of them can overflow 64 bits: saturate instead.
        let count = proto.dims.reduce(UInt64(1)) { product, dimension in
            let (value, overflow) = product.multipliedReportingOverflow(by: UInt64(dimension))
            return overflow ? UInt64.max : value
        }
        guard count <= UInt64(limits.maxElements) else {
            throw ONNXImportError("initializer '\(proto.name)' claims \(count) elements, over the limit of \(limits.maxElements)")
        }
        guard let type = DataType(rawValue: proto.dataType) else {
            throw ONNXImportError("initializer '\(proto.name)' has element type \(proto.dataType); supported are float, uint8, int8, int32 and int64")
        }
        self.init(name: proto.name, dims: proto.dims.map { Int($0) }, elements: try ONNXConstant.elements(proto, type, count: Int(count)))
    }

    private static func elements(_ proto: Onnx_TensorProto, _ type: DataType, count: Int) throws(ONNXImportError) -> Elements {
        let raw = [UInt8](proto.rawData)
        let size = [DataType.float: 4, .uint8: 1, .int8: 1, .int32: 4, .int64: 8][type]!
        if !raw.isEmpty || count == 0 {
            guard raw.count == count * size else {
                throw ONNXImportError("initializer '\(proto.name)' holds \(raw.count) bytes; its shape \(proto.dims) needs \(count * size)")
            }
        } else {
            let stored = type == .float ? proto.floatData.count : (type == .int64 ? proto.int64Data.count : proto.int32Data.count)
            guard stored == count else {
                throw ONNXImportError("initializer '\(proto.name)' holds \(stored) values; its shape \(proto.dims) needs \(count)")
            }
        }
        let fromRaw = !raw.isEmpty
        switch type {
        case .float: return .float(fromRaw ? little(raw, 4).map { Float(bitPattern: UInt32($0)) } : proto.floatData)
        case .uint8, .int8:
            let bytes = fromRaw ? raw : proto.int32Data.map { UInt8(truncatingIfNeeded: $0) }
            return .bytes(bytes, type == .int8 ? .int8 : .uint8)
        case .int32: return .int32(fromRaw ? little(raw, 4).map { Int32(truncatingIfNeeded: $0) } : proto.int32Data)
        case .int64: return .int64(fromRaw ? little(raw, 8).map { Int64(bitPattern: $0) } : proto.int64Data)
        }
    }

    /// Little-endian words of `width` bytes.
    private static func little(_ raw: [UInt8], _ width: Int) -> [UInt64] {
        stride(from: 0, to: raw.count, by: width).map { start in
            (0..<width).reduce(UInt64(0)) { $0 | UInt64(raw[start + $1]) << (8 * $1) }
        }
    }

    /// A float scalar or a list of floats (scales).
    func floats(_ node: ONNXNode) throws(ONNXImportError) -> [Float] {
        guard case let .float(values) = elements else { throw .node(node, "'\(name)' must be float (a scale)") }
        return values
    }

    /// Integer values of any integer type (zero points, shapes, biases).
    func integers(_ node: ONNXNode) throws(ONNXImportError) -> [Int64] {
        switch elements {
        case .float: throw .node(node, "'\(name)' must hold integers")
        case let .bytes(bytes, dtype): return bytes.map { dtype == .int8 ? Int64(Int8(bitPattern: $0)) : Int64($0) }
        case let .int32(values): return values.map(Int64.init)
        case let .int64(values): return values
        }
    }

    /// The quantized dtype (int8 or uint8) of an activation-typed or weight constant, nil otherwise.
    var quantizedDType: DType? {
        if case let .bytes(_, dtype) = elements { return dtype }
        return nil
    }
}
