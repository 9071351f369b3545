import AssayCodec

/// A kernel of the versioned catalogue, named `family/version` (e.g. `gemm-i8/1`). A version's semantics never
/// change once published; a different semantics is a new version.
public struct KernelID: Hashable, Comparable, Sendable, CanonicalCodable, CustomStringConvertible {
    public let rawValue: String

    /// ONNX `MatMulInteger`: A [M,K] x B [K,N], int8/uint8, scalar zero points, int32 output.
    public static let gemmI8 = KernelID(known: "gemm-i8/1")
    /// ONNX `ConvInteger` on 2-D NCHW input: pads, strides, dilations, group; int32 output.
    public static let conv2dI8 = KernelID(known: "conv2d-i8/1")
    /// A quantized multi-layer perceptron with gemmlowp/TFLite fixed-point requantization; int8 output.
    public static let mlpQ8 = KernelID(known: "mlp-q8/1")
    /// A quantized network: a DAG of quantized layers (linear, conv, add, pools, data movement); int8 or uint8.
    public static let qnn = KernelID(known: "qnn/1")

    /// Every kernel this build can execute, in name order.
    public static let catalogue: [KernelID] = [conv2dI8, gemmI8, mlpQ8, qnn]

    /// The longest kernel name the codec accepts.
    public static let maxNameBytes = 64

    private init(known rawValue: String) { self.rawValue = rawValue }

    /// Looks a name up in the catalogue; an unknown name is an error, not a new kernel.
    public init(_ raw: String) throws(KernelError) {
        guard let known = KernelID.catalogue.first(where: { $0.rawValue == raw }) else {
            throw .unknownKernel(raw)
        }
        self = known
    }

    public static func < (lhs: KernelID, rhs: KernelID) -> Bool {
        Array(lhs.rawValue.utf8).lexicographicallyPrecedes(Array(rhs.rawValue.utf8))
    }

    public var description: String { rawValue }

    public func encode(to writer: inout CanonicalWriter) { writer.write(rawValue) }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let raw = try reader.readString(bound: KernelID.maxNameBytes)
        do { self = try KernelID(raw) } catch { throw .invalidValue(error.description) }
    }
}
