import AssayCodec
import AssayCrypto
import AssayTypes
import Foundation
import Testing

/// Checks docs/vectors/encoding.json, the vectors an outside wallet is written against.
/// `ASSAY_RECORD_VECTORS=1 swift test --filter EncodingVectorTests` rewrites the file from the code (review the diff).
@Suite struct EncodingVectorTests {
    struct File: Codable, Equatable {
        var transactions: [TransactionVector]
        var votes: [VoteVector]
        var merkleRoots: [MerkleVector]
        var invalid: [InvalidVector]
    }

    struct TransactionVector: Codable, Equatable {
        var secretKey: String
        var auxRand: String
        var chainId: String
        var nonce: String
        var fee: String
        var recipient: String
        var amount: String
        var signingHash: String
        var signature: String
        var encoding: String
        var hash: String
    }

    struct VoteVector: Codable, Equatable {
        var secretKey: String
        var auxRand: String
        var chainId: String
        var kind: String
        var height: String
        var round: UInt32
        var blockHash: String?
        var signBytes: String
        var signature: String
        var encoding: String
    }

    struct MerkleVector: Codable, Equatable {
        var leaves: [String]
        var root: String
    }

    struct InvalidVector: Codable, Equatable {
        var type: String
        var hex: String
        var error: String
    }

    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/vectors/encoding.json").standardized

    static func hex(_ text: String) -> [UInt8] { Hex.decode(text)! }

    static func transaction(_ v: TransactionVector) throws -> Transaction {
        let key = try SecretKey(bytes: hex(v.secretKey))
        let body = TransactionBody.transfer(
            Transfer(recipient: try Address(v.recipient), amount: UInt64(v.amount)!))
        let unsigned = Transaction(
            chainID: v.chainId, sender: key.publicKey, nonce: UInt64(v.nonce)!, fee: UInt64(v.fee)!, body: body,
            signature: try Signature(bytes: [UInt8](repeating: 0, count: 64)))
        var signed = unsigned
        signed.signature = try key.sign(unsigned.signingHash.bytes, auxiliaryRandomness: hex(v.auxRand))
        return signed
    }

    static func vote(_ v: VoteVector) throws -> Vote {
        let key = try SecretKey(bytes: hex(v.secretKey))
        let kind: VoteKind = v.kind == "prevote" ? .prevote : .precommit
        let blockHash = v.blockHash.map { Hash(hex($0)) }
        let signBytes = Vote.signBytes(
            chainID: v.chainId, kind: kind, height: UInt64(v.height)!, round: v.round, blockHash: blockHash)
        return Vote(
            kind: kind, height: UInt64(v.height)!, round: v.round, blockHash: blockHash, validator: key.publicKey,
            signature: try key.sign(signBytes, auxiliaryRandomness: hex(v.auxRand)))
    }

    static func decodeError(type: String, bytes: [UInt8]) -> String {
        do {
            switch type {
            case "Transaction": _ = try Transaction(canonicalBytes: bytes)
            case "Vote": _ = try Vote(canonicalBytes: bytes)
            default: return "unknown type \(type)"
            }
            return "none"
        } catch {
            return switch error {
            case .truncated: "truncated"
            case .trailingBytes: "trailing_bytes"
            case .overLengthBound: "over_length_bound"
            case .unknownTag: "unknown_tag"
            case .nonMinimalLength: "non_minimal_length"
            case .invalidValue: "invalid_value"
            }
        }
    }

    /// Recomputes every derived field from the inputs of each vector.
    static func recompute(_ file: File) throws -> File {
        var out = file
        out.transactions = try file.transactions.map { v in
            let tx = try transaction(v)
            var r = v
            r.signingHash = Hex.encode(tx.signingHash.bytes)
            r.signature = Hex.encode(tx.signature.bytes)
            r.encoding = Hex.encode(tx.canonicalBytes)
            r.hash = Hex.encode(tx.hash.bytes)
            return r
        }
        out.votes = try file.votes.map { v in
            let vote = try vote(v)
            var r = v
            r.signBytes = Hex.encode(vote.signBytes(chainID: v.chainId))
            r.signature = Hex.encode(vote.signature.bytes)
            r.encoding = Hex.encode(vote.canonicalBytes)
            return r
        }
        out.merkleRoots = file.merkleRoots.map { v in
            MerkleVector(leaves: v.leaves, root: Hex.encode(MerkleRoot.of(leaves: v.leaves.map { Hash(hex($0)) }).bytes))
        }
        out.invalid = file.invalid.map { v in
            InvalidVector(type: v.type, hex: v.hex, error: decodeError(type: v.type, bytes: hex(v.hex)))
        }
        return out
    }

    static func load() throws -> File {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(File.self, from: Data(contentsOf: path))
    }

    @Test func vectorsMatchTheCode() throws {
        let file = try Self.load()
        let recomputed = try Self.recompute(file)
        if ProcessInfo.processInfo.environment["ASSAY_RECORD_VECTORS"] == "1" {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(recomputed).write(to: Self.path)
        }
        #expect(recomputed == file)
        #expect(!file.transactions.isEmpty && !file.votes.isEmpty && !file.invalid.isEmpty)
    }

    @Test func encodedVectorsDecodeBackAndVerify() throws {
        let file = try Self.load()
        for v in file.transactions {
            let tx = try Transaction(canonicalBytes: Self.hex(v.encoding))
            #expect(tx.hasValidSignature)
            #expect(Hex.encode(tx.hash.bytes) == v.hash)
        }
        for v in file.votes {
            let vote = try Vote(canonicalBytes: Self.hex(v.encoding))
            #expect(vote.hasValidSignature(chainID: v.chainId))
            #expect(!vote.hasValidSignature(chainID: v.chainId + "-other"))
        }
    }
}
