import Testing

@testable import AssayCrypto

@Suite struct ChaCha20Poly1305Tests {
    static let key = [UInt8](0x80...0x9f)
    static let nonce: [UInt8] = [0x07, 0, 0, 0, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47]
    static let plaintext = Array(
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
            .utf8)

    /// Seals `text` in place under the test key; returns the tag.
    static func seal(_ text: inout [UInt8], nonce: [UInt8] = nonce) -> [UInt8] {
        var tag = [UInt8](repeating: 0, count: ChaCha20Poly1305.tagBytes)
        let cipher = key.withUnsafeBytes { ChaCha20Poly1305(key: $0) }
        text.withUnsafeMutableBytes { text in
            nonce.withUnsafeBytes { nonce in tag.withUnsafeMutableBytes { cipher.seal(text, nonce: nonce, tag: $0) } }
        }
        return tag
    }

    static func open(_ text: inout [UInt8], tag: [UInt8], nonce: [UInt8] = nonce) -> Bool {
        let cipher = key.withUnsafeBytes { ChaCha20Poly1305(key: $0) }
        return text.withUnsafeMutableBytes { text in
            nonce.withUnsafeBytes { nonce in tag.withUnsafeBytes { cipher.open(text, nonce: nonce, tag: $0) } }
        }
    }

    /// RFC 8439 section 2.8.2's key, nonce and text without its associated data: the ciphertext is the RFC's (the
    /// data only enters the tag); the tag is that of pyca/cryptography for no associated data.
    @Test func sealsInPlaceToTheKnownAnswer() {
        var text = Self.plaintext
        let tag = Self.seal(&text)
        #expect(Hex.encode(text) == """
            d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e06\
            0b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d265\
            86cec64b6116
            """)
        #expect(Hex.encode(tag) == "6a23a4681fd59456aea1d29f82477216")
        var empty: [UInt8] = []
        #expect(Hex.encode(Self.seal(&empty)) == "a0784d7a4716f3feb4f64e7f4b39bf04")
    }

    @Test func opensInPlaceAndRefusesAnyChange() {
        var sealed = Self.plaintext
        let tag = Self.seal(&sealed)
        var opened = sealed
        #expect(Self.open(&opened, tag: tag))
        #expect(opened == Self.plaintext)
        for position in [0, sealed.count / 2, sealed.count - 1] {
            var altered = sealed
            altered[position] ^= 0x01
            #expect(!Self.open(&altered, tag: tag))
        }
        var copy = sealed
        #expect(!Self.open(&copy, tag: [tag[0] ^ 0x80] + tag.dropFirst()))
        copy = sealed
        #expect(!Self.open(&copy, tag: tag, nonce: [0x08] + Self.nonce.dropFirst()))
        copy = sealed
        #expect(!Self.open(&copy, tag: Array(tag.dropLast())))
    }

    @Test func oneInstanceSealsMessagesIndependently() {
        // The context is reused from message to message: each result must depend only on key, nonce and text.
        let cipher = Self.key.withUnsafeBytes { ChaCha20Poly1305(key: $0) }
        var first = [UInt8](repeating: 1, count: 3 << 20)
        var tags = [[UInt8]](repeating: [UInt8](repeating: 0, count: 16), count: 2)
        for round in 0..<2 {
            var text = [UInt8](repeating: 1, count: 3 << 20)
            text.withUnsafeMutableBytes { text in
                Self.nonce.withUnsafeBytes { nonce in
                    tags[round].withUnsafeMutableBytes { cipher.seal(text, nonce: nonce, tag: $0) }
                }
            }
            if round == 0 { first = text } else { #expect(text == first) }
        }
        #expect(tags[0] == tags[1])
        #expect(Self.open(&first, tag: tags[0]))
        #expect(first == [UInt8](repeating: 1, count: 3 << 20))
    }
}
