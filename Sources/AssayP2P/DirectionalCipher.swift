import AssayCrypto
import Crypto
import NIOCore

/// ChaCha20-Poly1305 for one direction of a session. The nonce is 4 zero bytes then a 64-bit little-endian
/// message counter, so it never repeats under one key; frames carry ciphertext and tag, the nonce is implicit.
/// A dropped, reordered or replayed frame fails authentication.
///
/// Application frames are sealed and opened in place (`sealedFrame`, `open`): the message is copied once into
/// the buffer written to the socket, and a received frame is decrypted where the frame decoder assembled it.
struct DirectionalCipher {
    static let tagBytes = ChaCha20Poly1305.tagBytes

    private let cipher: ChaCha20Poly1305
    private(set) var counter: UInt64 = 0

    init(key: SymmetricKey) { cipher = key.withUnsafeBytes { ChaCha20Poly1305(key: $0) } }

    /// `plaintext` sealed into a new array, ciphertext then tag (the handshake's auth frame).
    mutating func seal(_ plaintext: [UInt8]) throws(ConnectionError) -> [UInt8] {
        let nonce = try nextNonce()
        var sealed = plaintext + [UInt8](repeating: 0, count: Self.tagBytes)
        sealed.withUnsafeMutableBytes { seal($0, nonce: nonce) }
        return sealed
    }

    /// `message` as a complete frame (length, ciphertext, tag) in the buffer that goes to the socket: the message
    /// is copied in once and encrypted there.
    mutating func sealedFrame(_ message: [UInt8]) throws(ConnectionError) -> ByteBuffer {
        let nonce = try nextNonce()
        let payloadBytes = message.count + Self.tagBytes
        precondition(payloadBytes <= Int(UInt32.max), "frame payload over 4 GiB")
        var frame = ByteBufferAllocator().buffer(capacity: FrameDecoder.headerBytes + payloadBytes)
        frame.writeInteger(UInt32(payloadBytes), endianness: .little)
        frame.writeBytes(message)
        frame.writeRepeatingByte(0, count: Self.tagBytes)
        frame.withUnsafeMutableReadableBytes { bytes in
            seal(UnsafeMutableRawBufferPointer(rebasing: bytes[FrameDecoder.headerBytes...]), nonce: nonce)
        }
        return frame
    }

    /// Opens `frame` (ciphertext then tag) in place: afterwards it holds the plaintext. A frame that does not
    /// authenticate throws, and its bytes must not be used.
    mutating func open(_ frame: inout [UInt8]) throws(ConnectionError) {
        guard frame.count >= Self.tagBytes else { throw .decryptionFailed }
        let nonce = try nextNonce()
        let split = frame.count - Self.tagBytes
        let authentic = frame.withUnsafeMutableBytes { bytes in
            withUnsafeBytes(of: nonce) { nonce in
                cipher.open(
                    UnsafeMutableRawBufferPointer(rebasing: bytes[..<split]), nonce: nonce,
                    tag: UnsafeRawBufferPointer(rebasing: bytes[split...]))
            }
        }
        guard authentic else { throw .decryptionFailed }
        frame.removeLast(Self.tagBytes)
    }

    /// Seals `sealed` (plaintext then room for the tag) in place.
    private func seal(_ sealed: UnsafeMutableRawBufferPointer, nonce: Nonce) {
        let split = sealed.count - Self.tagBytes
        withUnsafeBytes(of: nonce) { nonce in
            cipher.seal(
                UnsafeMutableRawBufferPointer(rebasing: sealed[..<split]), nonce: nonce,
                tag: UnsafeMutableRawBufferPointer(rebasing: sealed[split...]))
        }
    }

    /// 12 bytes without padding: the zero prefix, then the counter's low and high halves, little-endian.
    private typealias Nonce = (UInt32, UInt32, UInt32)

    private mutating func nextNonce() throws(ConnectionError) -> Nonce {
        guard counter < .max else { throw .nonceExhausted }
        defer { counter += 1 }
        let (low, high) = (UInt32(truncatingIfNeeded: counter), UInt32(truncatingIfNeeded: counter >> 32))
        return (0, low.littleEndian, high.littleEndian)
    }
}
