import Testing
@testable import AssayCrypto

@Suite("Addresses")
struct AddressTests {
    /// Cross-checked with Python: hashlib.sha256 plus the BIP-350 reference encoder.
    @Test func knownAddressOfBIP340Vector0() throws {
        let publicKey = try PublicKey(bytes: try #require(
            Hex.decode("F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9")))
        #expect(Address(publicKey: publicKey).description == "assay103ulxpc79q6yaq2nhak88s55a03h2jhv92de9j")
    }

    @Test func roundTripsThroughText() throws {
        for _ in 0..<20 {
            let address = Address(publicKey: try SecretKey.generate().publicKey)
            let text = address.description
            #expect(text.hasPrefix("assay1"))
            #expect(try Address(text) == address)
            #expect(try Address(text.uppercased()) == address)
        }
    }

    @Test func wrongPrefixIsRejected() throws {
        let bytes = [UInt8](repeating: 7, count: 20)
        let text = Bech32m.encode(hrp: "bc", data5: try Bech32m.convertBits(bytes, from: 8, to: 5, pad: true))
        #expect(throws: Address.ParseError.wrongPrefix("bc")) { try Address(text) }
    }

    @Test(arguments: [0, 19, 21, 32])
    func wrongLengthIsRejected(count: Int) throws {
        let bytes = [UInt8](repeating: 9, count: count)
        let text = Bech32m.encode(hrp: "assay", data5: try Bech32m.convertBits(bytes, from: 8, to: 5, pad: true))
        #expect(throws: Address.ParseError.wrongLength(count)) { try Address(text) }
        #expect(throws: Address.ParseError.wrongLength(count)) { try Address(bytes: bytes) }
    }

    @Test func aTypoBreaksTheChecksum() throws {
        let text = Address(publicKey: try SecretKey.generate().publicKey).description
        var characters = Array(text)
        let position = characters.count - 10
        characters[position] = characters[position] == "q" ? "p" : "q"
        #expect(throws: Address.ParseError.bech32(.invalidChecksum)) { try Address(String(characters)) }
    }

    @Test func bech32ChecksumsAreNotBech32m() {
        // BIP-173's valid bech32 string: a bech32m decoder must refuse it.
        #expect(throws: Address.ParseError.bech32(.invalidChecksum)) {
            try Address("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
        }
    }
}
