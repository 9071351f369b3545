import Crypto
import Foundation

/// ChaCha20-Poly1305 for one direction of a session. The nonce is 4 zero bytes then a 64-bit little-endian
/// message counter, so it never repeats under one key; frames carry ciphertext and tag, the nonce is implicit.
/// A dropped, reordered or replayed frame fails authentication.
struct DirectionalCipher {
    static let tagBytes = 16

    private let key: SymmetricKey
    private(set) var counter: UInt64 = 0

    init(key: SymmetricKey) { self.key = key }

    mutating func seal(_ plaintext: [UInt8]) throws(ConnectionError) -> [UInt8] {
        let nonce = try nextNonce()
        // Sealing fails only for a malformed key or nonce, which this type never builds.
        let box = try! ChaChaPoly.seal(plaintext, using: key, nonce: nonce)
        return Array(box.ciphertext) + Array(box.tag)
    }

    mutating func open(_ frame: [UInt8]) throws(ConnectionError) -> [UInt8] {
        guard frame.count >= Self.tagBytes else { throw .decryptionFailed }
        let nonce = try nextNonce()
        let split = frame.count - Self.tagBytes
        guard let box = try? ChaChaPoly.SealedBox(nonce: nonce, ciphertext: frame[..<split], tag: frame[split...]),
            let plaintext = try? ChaChaPoly.open(box, using: key)
        else { throw .decryptionFailed }
        return Array(plaintext)
    }

    private mutating func nextNonce() throws(ConnectionError) -> ChaChaPoly.Nonce {
        guard counter < .max else { throw .nonceExhausted }
        var bytes = [UInt8](repeating: 0, count: 4)
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: counter >> shift)) }
        counter += 1
        return try! ChaChaPoly.Nonce(data: bytes)  // 12 bytes by construction
    }
}
