import AssayCodec
import AssayCrypto
import AssayTypes

/// A tensor with the name a kernel looks it up by (docs/kernels.md lists the names per kernel).
public struct NamedTensor: Hashable, Sendable, CanonicalCodable {
    /// The longest array name, in UTF-8 bytes.
    public static let maxNameBytes = 64

    public let name: String
    public let tensor: Tensor

    public init(name: String, tensor: Tensor) throws(KernelError) {
        guard !name.isEmpty, name.utf8.count <= NamedTensor.maxNameBytes else {
            throw .invalidModel("array name '\(name)' must have 1 to \(NamedTensor.maxNameBytes) UTF-8 bytes")
        }
        self.name = name
        self.tensor = tensor
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(name)
        writer.write(tensor)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let name = try reader.readString(bound: NamedTensor.maxNameBytes)
        let tensor = try reader.read(Tensor.self)
        do { try self.init(name: name, tensor: tensor) } catch { throw .invalidValue(error.description) }
    }
}

/// The weights and attributes of a kernel: named tensors in strictly increasing byte order of their names.
/// These canonical bytes are what a `register_model` transaction stores; `hash` addresses them.
public struct Model: Hashable, Sendable, CanonicalCodable {
    /// The most arrays a model may hold.
    public static let maxTensors = 1024

    public let tensors: [NamedTensor]

    /// Sorts the arrays by name; duplicate names are an error.
    public init(_ tensors: [NamedTensor]) throws(KernelError) {
        let sorted = tensors.sorted { Model.precedes($0.name, $1.name) }
        try Model.checkOrder(sorted, requireSorted: false)
        self.tensors = sorted
    }

    /// Convenience for callers holding (name, tensor) pairs.
    public init(arrays pairs: [(String, Tensor)]) throws(KernelError) {
        var named: [NamedTensor] = []
        for (name, tensor) in pairs { named.append(try NamedTensor(name: name, tensor: tensor)) }
        try self.init(named)
    }

    /// SHA-256 of the canonical bytes: the model's content address.
    public var hash: Hash { SHA256.hash(canonicalBytes) }

    public subscript(name: String) -> Tensor? { tensors.first { $0.name == name }?.tensor }

    public var names: [String] { tensors.map(\.name) }

    public func encode(to writer: inout CanonicalWriter) { writer.write(tensors) }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let tensors = try reader.readArray(of: NamedTensor.self, bound: Model.maxTensors)
        do { try Model.checkOrder(tensors, requireSorted: true) } catch { throw .invalidValue(error.description) }
        self.tensors = tensors
    }

    static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        Array(lhs.utf8).lexicographicallyPrecedes(Array(rhs.utf8))
    }

    private static func checkOrder(_ tensors: [NamedTensor], requireSorted: Bool) throws(KernelError) {
        guard tensors.count <= maxTensors else { throw .invalidModel("more than \(maxTensors) arrays") }
        for index in tensors.indices.dropFirst() {
            let previous = tensors[index - 1].name, current = tensors[index].name
            if previous == current { throw .invalidModel("duplicate array name '\(current)'") }
            if requireSorted && !precedes(previous, current) {
                throw .invalidModel("array names are not in increasing byte order ('\(previous)' before '\(current)')")
            }
        }
    }
}
