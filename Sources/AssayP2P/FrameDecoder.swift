/// Length-prefixed frames: a 4-byte little-endian payload length, then the payload. The length is checked
/// against the limit as soon as its 4 bytes arrive, before any of the payload is buffered.
///
/// Once a frame's header is read, its payload gets an array of exactly its length, and the bytes that arrive for
/// it are copied straight in; `nextFrame` hands that array out whole (the receiver decrypts it in place). Only the
/// bytes after a frame's end within one `append` wait in a second buffer.
public struct FrameDecoder: Sendable {
    public static let headerBytes = 4

    /// The largest payload accepted; raised once the peer has authenticated (see `ConnectionStateMachine`).
    public var frameBytesMax: Int {
        didSet { precondition(frameBytesMax > 0 && frameBytesMax <= Int(UInt32.max)) }
    }
    /// Bytes not yet taken into a frame, from `readIndex` on: the next header and what follows it.
    private var pending: [UInt8] = []
    private var readIndex = 0
    /// The payload being filled and its length from the header, once that header has been read.
    private var payload: [UInt8] = []
    private var payloadLength: Int?

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
        if bytes.withContiguousStorageIfAvailable({ append(contiguous: $0) }) == nil {
            Array(bytes).withUnsafeBufferPointer { append(contiguous: $0) }
        }
    }

    private mutating func append(contiguous bytes: UnsafeBufferPointer<UInt8>) {
        var rest = bytes[...]
        if let length = payloadLength, readIndex == pending.count {
            let take = min(rest.count, length - payload.count)
            payload.append(contentsOf: UnsafeBufferPointer(rebasing: rest.prefix(take)))
            rest = rest.dropFirst(take)
        }
        guard !rest.isEmpty else { return }
        // Drop consumed bytes once they are the larger part, so the buffer does not grow without bound.
        if readIndex > 0 && readIndex >= pending.count / 2 {
            pending.removeFirst(readIndex)
            readIndex = 0
        }
        pending.append(contentsOf: UnsafeBufferPointer(rebasing: rest))
    }

    /// The next complete payload, or nil until more bytes arrive.
    public mutating func nextFrame() throws(ConnectionError) -> [UInt8]? {
        if payloadLength == nil, try !startFrame() { return nil }
        guard payload.count == payloadLength else { return nil }
        let frame = payload
        (payload, payloadLength) = ([], nil)
        return frame
    }

    /// Reads the next header from `pending`, if it is all there, and moves the payload bytes already received into
    /// the new frame's array; false when the header is incomplete.
    private mutating func startFrame() throws(ConnectionError) -> Bool {
        guard pending.count - readIndex >= Self.headerBytes else { return false }
        var length = 0
        for offset in 0..<Self.headerBytes { length |= Int(pending[readIndex + offset]) << (8 * offset) }
        guard length <= frameBytesMax else { throw .frameTooLarge(bytes: length, max: frameBytesMax) }
        readIndex += Self.headerBytes
        let take = min(length, pending.count - readIndex)
        payload.reserveCapacity(length)
        payload.append(contentsOf: pending[readIndex..<readIndex + take])
        readIndex += take
        payloadLength = length
        if readIndex == pending.count {
            pending.removeAll(keepingCapacity: true)
            readIndex = 0
        }
        return true
    }

    /// Bytes received but not yet returned as a frame.
    public var bufferedBytes: Int {
        pending.count - readIndex + (payloadLength == nil ? 0 : Self.headerBytes + payload.count)
    }
}
