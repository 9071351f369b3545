/// HMAC-SHA-256 (RFC 2104): a keyed hash that nobody without the key can predict or steer. The spot-check sampler
/// draws a validator's tiles from it (docs/verification.md, "Randomness").
public enum HMACSHA256 {
    static let blockBytes = 64

    public static func authenticate(_ message: [UInt8], key: [UInt8]) -> Digest32 {
        var block = key.count > blockBytes ? SHA256.hash(key).bytes : key
        block += [UInt8](repeating: 0, count: blockBytes - block.count)
        let inner = SHA256.hash(parts: [block.map { $0 ^ 0x36 }, message])
        return SHA256.hash(parts: [block.map { $0 ^ 0x5c }, inner.bytes])
    }
}
