/// Length-prefixed frames: a 4-byte little-endian payload length, then the payload. The length is checked
/// against the limit as soon as its 4 bytes arrive, before any of the payload is buffered.
public struct FrameDecoder: Sendable {
    public static let headerBytes = 4

    /// The largest payload accepted; raised once the peer has authenticated (see `ConnectionStateMachine`).
    public var frameBytesMax: Int {
        didSet { precondition(frameBytesMax > 0 && frameBytesMax <= Int(UInt32.max)) }
    }
    private var buffer: [UInt8] = []
    private var readIndex = 0

    public init(frameBytesMax: Int) {
        precondition(frameBytesMax > 0 && frameBytesMax <= Int(UInt32.max))
        self.frameBytesMax = frameBytesMax
    }

    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        precondition(payload.count <= Int(UInt32.max), "frame payload over 4 GiB")
        let length = UInt32(payload.count)
        var framed = [UInt8]()
        framed.reserveCapacity(headerBytes + payload.count)
        for shift in stride(from: 0, to: 32, by: 8) { framed.append(UInt8(truncatingIfNeeded: length >> shift)) }
        framed.append(contentsOf: payload)
        return framed
    }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        // Drop consumed bytes once they are the larger part, so the buffer does not grow without bound.
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete payload, or nil until more bytes arrive.
    public mutating func nextFrame() throws(ConnectionError) -> [UInt8]? {
        guard buffer.count - readIndex >= Self.headerBytes else { return nil }
        var length = 0
        for offset in 0..<Self.headerBytes { length |= Int(buffer[readIndex + offset]) << (8 * offset) }
        guard length <= frameBytesMax else { throw .frameTooLarge(bytes: length, max: frameBytesMax) }
        let start = readIndex + Self.headerBytes
        guard buffer.count - start >= length else { return nil }
        readIndex = start + length
        return Array(buffer[start..<readIndex])
    }

    /// Bytes received but not yet returned as a frame.
    public var bufferedBytes: Int { buffer.count - readIndex }
}
