import COpenSSL

/// ChaCha20-Poly1305 (RFC 8439, no associated data) through OpenSSL, sealing and opening in place: the text is
/// encrypted or decrypted where it lies, so a 1 MiB P2P frame is never copied for the cipher's sake.
///
/// One instance holds one key in an `EVP_CIPHER_CTX` (freed, and the key wiped, when released); each call sets the
/// nonce afresh, so the result depends only on the key, the nonce and the text. Not thread-safe: one owner at a time.
public final class ChaCha20Poly1305 {
    public static let keyBytes = 32
    public static let nonceBytes = 12
    public static let tagBytes = 16

    private let context: OpaquePointer

    /// OpenSSL's implementation, fetched once: a lookup per call would cost more than sealing a small message.
    nonisolated(unsafe) private static let algorithm: OpaquePointer = {
        guard let cipher = EVP_CIPHER_fetch(nil, "ChaCha20-Poly1305", nil) else {
            fatalError("OpenSSL has no ChaCha20-Poly1305 (\(OpenSSLError.last()))")
        }
        return cipher
    }()

    /// Feeds at most this many bytes to one `EVP_CipherUpdate`, whose length is an `Int32`.
    private static let updateBytesMax = 1 << 30

    public init(key: UnsafeRawBufferPointer) {
        precondition(key.count == Self.keyBytes, "a ChaCha20-Poly1305 key is 32 bytes")
        guard let context = EVP_CIPHER_CTX_new() else { fatalError("EVP_CIPHER_CTX_new failed: out of memory") }
        self.context = context
        let keyed = EVP_CipherInit_ex2(
            context, Self.algorithm, key.baseAddress!.assumingMemoryBound(to: UInt8.self), nil, 1, nil)
        precondition(keyed == 1, "ChaCha20-Poly1305 key setup failed (\(OpenSSLError.last()))")
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// Encrypts `text` in place and writes its 16-byte tag into `tag`.
    public func seal(
        _ text: UnsafeMutableRawBufferPointer, nonce: UnsafeRawBufferPointer, tag: UnsafeMutableRawBufferPointer
    ) {
        precondition(tag.count == Self.tagBytes, "the tag is 16 bytes")
        // Failures here are programming errors (a wrong nonce size, a freed context), never bad input.
        begin(nonce: nonce, encrypting: true)
        update(text)
        precondition(finish(), "ChaCha20-Poly1305 seal failed")
        let copied = EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagBytes), tag.baseAddress)
        precondition(copied == 1, "ChaCha20-Poly1305 tag read failed")
    }

    /// Decrypts `text` in place if `tag` authenticates it under `nonce`; false otherwise, and then `text` holds
    /// unauthenticated bytes that the caller must discard.
    public func open(
        _ text: UnsafeMutableRawBufferPointer, nonce: UnsafeRawBufferPointer, tag: UnsafeRawBufferPointer
    ) -> Bool {
        guard tag.count == Self.tagBytes else { return false }
        begin(nonce: nonce, encrypting: false)
        update(text)
        let expected = EVP_CIPHER_CTX_ctrl(
            context, EVP_CTRL_AEAD_SET_TAG, Int32(Self.tagBytes), UnsafeMutableRawPointer(mutating: tag.baseAddress))
        precondition(expected == 1, "ChaCha20-Poly1305 tag setup failed")
        return finish()
    }

    /// Starts a message: the key stays, the nonce (and with it the Poly1305 key and counters) is set afresh.
    private func begin(nonce: UnsafeRawBufferPointer, encrypting: Bool) {
        precondition(nonce.count == Self.nonceBytes, "a ChaCha20-Poly1305 nonce is 12 bytes")
        let started = EVP_CipherInit_ex2(
            context, nil, nil, nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), encrypting ? 1 : 0, nil)
        precondition(started == 1, "ChaCha20-Poly1305 nonce setup failed (\(OpenSSLError.last()))")
    }

    /// Computes the tag (sealing) or checks it (opening); a stream cipher has no bytes left to write.
    private func finish() -> Bool {
        var unused = (UInt64(0), UInt64(0))
        var length: Int32 = 0
        return withUnsafeMutableBytes(of: &unused) {
            EVP_CipherFinal_ex(context, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) == 1
        }
    }

    /// Runs the cipher over `text` in place (OpenSSL allows input and output to be the same bytes).
    private func update(_ text: UnsafeMutableRawBufferPointer) {
        var offset = 0
        while offset < text.count {
            let count = min(text.count - offset, Self.updateBytesMax)
            let bytes = text.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self)
            var written: Int32 = 0
            let status = EVP_CipherUpdate(context, bytes, &written, bytes, Int32(count))
            precondition(status == 1 && Int(written) == count, "ChaCha20-Poly1305 update failed")
            offset += count
        }
    }
}
