import Testing

@testable import AssayCrypto

/// RFC 4231's HMAC-SHA-256 test vectors: a short key, a short key with a short message, and a key longer than a
/// block (hashed first).
@Suite struct HMACTests {
    func mac(_ key: [UInt8], _ message: String) -> String {
        HMACSHA256.authenticate(Array(message.utf8), key: key).description
    }

    @Test func rfc4231Vectors() {
        #expect(mac([UInt8](repeating: 0x0b, count: 20), "Hi There")
            == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(mac(Array("Jefe".utf8), "what do ya want for nothing?")
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(mac([UInt8](repeating: 0xaa, count: 131), "Test Using Larger Than Block-Size Key - Hash Key First")
            == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }
}
