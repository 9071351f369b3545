import COpenSSL

/// Scratch memory for secrets: overwritten with zeros (in a way the optimiser cannot drop) before it is freed.
public enum SecureMemory {
    /// Runs `body` with `count` bytes of scratch memory that is wiped and freed afterwards, even on a throw.
    static func withScratch<R, E: Error>(
        _ count: Int, _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
        defer {
            OPENSSL_cleanse(buffer.baseAddress, count)
            buffer.deallocate()
        }
        return try body(buffer)
    }

    /// Overwrites the array's bytes with zeros, e.g. a passphrase once it has been used.
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
    }
}
