import AssayCodec

/// Turns a tensor's canonical encoding, fed in pieces of any size, into the bytes of its `.npy` file
/// (`NPY.encode`), holding only the encoding's few header bytes: the data bytes pass through as they come, so a
/// tensor of any size is converted in constant memory (`assay job output` writing a downloaded output).
public struct NPYStream {
    /// A tensor's canonical header: dtype tag, rank and at most `Tensor.maxRank` 8-byte dimensions, data length.
    static let maxHeaderBytes = 2 + 8 * Tensor.maxRank + 5

    /// The tensor's element type and shape, once its header has been fed.
    public private(set) var dtype: DType?
    public private(set) var shape: [UInt64] = []
    private var header: [UInt8] = []
    /// Data bytes still to come, or nil while the header is incomplete.
    private var dataLeft: UInt64?

    public init() {}

    /// The `.npy` bytes that `piece` (the next bytes of the encoding) yields.
    public mutating func npyBytes(_ piece: [UInt8]) throws(NumPyError) -> [UInt8] {
        if let left = dataLeft { return try passData(piece, left: left) }
        header += piece
        var reader = CanonicalReader(header)
        let dtype: DType, shape: [UInt64], length: Int
        do {
            dtype = try reader.read(DType.self)
            shape = try reader.readArray(of: UInt64.self, bound: Tensor.maxRank)
            length = try reader.readLength(bound: Tensor.maxByteCount)
        } catch .truncated {
            guard header.count < Self.maxHeaderBytes else { throw .notTensor("the header is cut short") }
            return []
        } catch {
            throw .notTensor(error.description)
        }
        let expected: UInt64
        do { expected = try Tensor.byteCount(dtype: dtype, shape: shape) } catch { throw .tooLarge(error.description) }
        guard expected == UInt64(length) else {
            throw .dataSizeMismatch(shape: shape, expectedBytes: String(expected), actualBytes: length)
        }
        let data = Array(header[reader.offset...])
        header = []
        (self.dtype, self.shape) = (dtype, shape)
        return NPY.header(dtype: dtype, shape: shape) + (try passData(data, left: UInt64(length)))
    }

    /// Throws unless the whole encoding, and nothing more, was fed.
    public func finish() throws(NumPyError) {
        guard dataLeft == 0 else { throw .notTensor("the encoding ends early") }
    }

    private mutating func passData(_ piece: [UInt8], left: UInt64) throws(NumPyError) -> [UInt8] {
        guard UInt64(piece.count) <= left else { throw .notTensor("\(UInt64(piece.count) - left) bytes after the data") }
        dataLeft = left - UInt64(piece.count)
        return piece
    }
}
