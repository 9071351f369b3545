import Testing
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
@testable import AssayCrypto

/// One row of bitcoin/bips `bip-0340/test-vectors.csv` (copied verbatim into Vectors/).
struct BIP340Vector: CustomTestStringConvertible, Sendable {
    let index: Int
    let secretKey: [UInt8]?
    let publicKey: [UInt8]
    let auxRand: [UInt8]?
    let message: [UInt8]
    let signature: [UInt8]
    let valid: Bool
    let comment: String

    var testDescription: String { "vector \(index) \(comment)" }

    static let all: [BIP340Vector] = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Vectors/bip340-test-vectors.csv").path
        let text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").dropFirst().map { parse(String($0)) }
    }()

    private static func parse(_ line: String) -> BIP340Vector {
        // The comment (last column) is the only one that could hold a comma; it is kept whole.
        let fields = line.split(separator: ",", maxSplits: 7, omittingEmptySubsequences: false).map(String.init)
        precondition(fields.count == 8, "malformed vector line: \(line)")
        func hex(_ text: String) -> [UInt8] {
            guard let bytes = Hex.decode(text) else { preconditionFailure("bad hex in vector: \(text)") }
            return bytes
        }
        return BIP340Vector(
            index: Int(fields[0])!,
            secretKey: fields[1].isEmpty ? nil : hex(fields[1]),
            publicKey: hex(fields[2]),
            auxRand: fields[3].isEmpty ? nil : hex(fields[3]),
            message: hex(fields[4]),
            signature: hex(fields[5]),
            valid: fields[6] == "TRUE",
            comment: fields[7])
    }
}

@Suite("BIP-340 official test vectors")
struct BIP340Tests {
    @Test func theVectorFileIsComplete() {
        #expect(BIP340Vector.all.map(\.index) == Array(0...18))
        #expect(BIP340Vector.all.filter { $0.secretKey != nil }.count == 8)
        #expect(Set(BIP340Vector.all.map(\.message.count)) == [0, 1, 17, 32, 100])
    }

    @Test(arguments: BIP340Vector.all.filter { $0.secretKey != nil })
    func signingReproducesTheSignature(vector: BIP340Vector) throws {
        let key = try SecretKey(bytes: try #require(vector.secretKey))
        #expect(key.publicKey.bytes == vector.publicKey)
        let signature = try key.sign(vector.message, auxiliaryRandomness: try #require(vector.auxRand))
        #expect(signature.bytes == vector.signature)
    }

    @Test(arguments: BIP340Vector.all)
    func verificationGivesTheExpectedResult(vector: BIP340Vector) throws {
        let signature = try Signature(bytes: vector.signature)
        // Vectors 5 and 14 carry keys that are not on the curve: the key itself is refused.
        guard let publicKey = try? PublicKey(bytes: vector.publicKey) else {
            #expect(!vector.valid)
            return
        }
        #expect(publicKey.verify(signature, for: vector.message) == vector.valid)
    }

    @Test func keysOffTheCurveAreRejectedAtParse() {
        let offCurve = BIP340Vector.all.filter { [5, 14].contains($0.index) }
        #expect(offCurve.count == 2)
        for vector in offCurve {
            #expect(throws: CryptoError.invalidPublicKey) { try PublicKey(bytes: vector.publicKey) }
        }
    }

    @Test func freshSignaturesVerifyAndDifferByAuxRandomness() throws {
        let key = try SecretKey.generate()
        let message = Array("transfer 5 credits".utf8)
        let first = try key.sign(message)
        let second = try key.sign(message)
        #expect(first != second)
        #expect(key.publicKey.verify(first, for: message))
        #expect(key.publicKey.verify(second, for: message))
        #expect(!key.publicKey.verify(first, for: message + [0]))
        #expect(!(try SecretKey.generate()).publicKey.verify(first, for: message))
    }

    @Test func badKeyAndSignatureLengthsAreTypedErrors() {
        #expect(throws: CryptoError.invalidSecretKey) { try SecretKey(bytes: [UInt8](repeating: 1, count: 31)) }
        #expect(throws: CryptoError.invalidSecretKey) { try SecretKey(bytes: [UInt8](repeating: 0, count: 32)) }
        #expect(throws: CryptoError.invalidSecretKey) { try SecretKey(bytes: [UInt8](repeating: 0xff, count: 32)) }
        #expect(throws: CryptoError.invalidPublicKey) { try PublicKey(bytes: [UInt8](repeating: 2, count: 33)) }
        #expect(throws: CryptoError.invalidSignatureLength(63)) {
            try Signature(bytes: [UInt8](repeating: 0, count: 63))
        }
    }
}
