import Testing
@testable import AssayCrypto

/// The Bech32m vectors of BIP-350.
@Suite("BIP-350 bech32m vectors")
struct Bech32mTests {
    static let valid = [
        "A1LQFN3A",
        "a1lqfn3a",
        "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
        "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
        "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
        "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
        "?1v759aa",
    ]

    static let invalid: [(String, Bech32m.Error)] = [
        ("\u{20}1xj0phk", .invalidHumanReadablePart),
        ("\u{7F}1g6xzxy", .invalidHumanReadablePart),
        ("\u{80}1vctc34", .invalidHumanReadablePart),
        ("an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4", .tooLong),
        ("qyrz8wqd2c9m", .missingSeparator),
        ("1qyrz8wqd2c9m", .invalidHumanReadablePart),
        ("y1b0jsk6g", .invalidCharacter),
        ("lt1igcx5c0", .invalidCharacter),
        ("in1muywd", .tooShortChecksum),
        ("mm1crxm3i", .invalidCharacter),
        ("au1s5cgom", .invalidCharacter),
        ("M1VUXWEZ", .invalidChecksum),
        ("16plkw9", .invalidHumanReadablePart),
        ("1p2gdwpf", .invalidHumanReadablePart),
    ]

    @Test(arguments: valid)
    func validStringsDecodeAndReencode(text: String) throws {
        let decoded = try Bech32m.decode(text)
        #expect(Bech32m.encode(hrp: decoded.hrp, data5: decoded.data5) == text.lowercased())
    }

    @Test(arguments: invalid)
    func invalidStringsAreRejected(text: String, reason: Bech32m.Error) {
        #expect(throws: reason) { try Bech32m.decode(text) }
    }

    /// BIP-350's v1+ segwit addresses: the 5-bit data is a version then the program regrouped to bytes.
    @Test(arguments: [
        ("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
         "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6"),
        ("BC1SW50QGDZ25J", "6002751e"),
        ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
        ("tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
         "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"),
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
         "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
    ])
    func segwitProgramsRegroupToTheirScripts(address: String, script: String) throws {
        let decoded = try Bech32m.decode(address)
        let version = try #require(decoded.data5.first)
        let program = try Bech32m.convertBits(Array(decoded.data5.dropFirst()), from: 5, to: 8, pad: false)
        #expect(Hex.encode([0x50 + version, UInt8(program.count)] + program) == script)
        let regrouped = try Bech32m.convertBits(program, from: 8, to: 5, pad: true)
        #expect(Bech32m.encode(hrp: decoded.hrp, data5: [version] + regrouped) == address.lowercased())
    }

    @Test(arguments: [
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", Bech32m.Error.invalidChecksum),
        ("tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", .invalidChecksum),
        ("BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", .invalidChecksum),
        ("bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", .invalidCharacter),
        ("tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", .mixedCase),
    ])
    func invalidSegwitChecksumsAndCaseAreRejected(address: String, reason: Bech32m.Error) {
        #expect(throws: reason) { try Bech32m.decode(address) }
    }

    @Test(arguments: [
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
        "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",
    ])
    func badPaddingIsRejectedWhenRegrouping(address: String) throws {
        let decoded = try Bech32m.decode(address)
        #expect(throws: Bech32m.Error.invalidPadding) {
            try Bech32m.convertBits(Array(decoded.data5.dropFirst()), from: 5, to: 8, pad: false)
        }
    }
}
