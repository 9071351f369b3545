import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayTypes
import Foundation
import Testing

/// Checks docs/vectors/transactions.json: one signed transaction of every kind, from fixed keys, values and
/// auxiliary randomness (32 zero bytes). `ASSAY_RECORD_VECTORS=1 swift test --filter TransactionVectorTests`
/// rewrites the file from the code (review the diff).
@Suite struct TransactionVectorTests {
    struct Vector: Codable, Equatable {
        var name: String
        var secretKey: String
        var auxRand: String
        var chainId: String
        var nonce: UInt64
        var fee: UInt64
        var body: String
        var signingHash: String
        var signature: String
        var encoding: String
        var hash: String
    }

    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/vectors/transactions.json").standardized

    static func key(_ n: UInt8) -> SecretKey { try! SecretKey(bytes: [UInt8](repeating: 0, count: 31) + [n]) }
    static func filled(_ byte: UInt8) -> Hash { Hash([UInt8](repeating: byte, count: 32)) }
    static let zeroAux = [UInt8](repeating: 0, count: 32)

    static func doubleSign() throws -> DoubleSignEvidence {
        let signer = key(2)
        func vote(_ fill: UInt8) throws -> Vote {
            let bytes = Vote.signBytes(chainID: "assay-devnet", kind: .prevote, height: 7, round: 0, blockHash: filled(fill))
            return Vote(kind: .prevote, height: 7, round: 0, blockHash: filled(fill), validator: signer.publicKey,
                        signature: try signer.sign(bytes, auxiliaryRandomness: zeroAux))
        }
        return DoubleSignEvidence(try vote(0x55), try vote(0x66))!
    }

    /// The bodies the vectors sign, in file order.
    static func bodies() throws -> [(String, TransactionBody)] {
        let model = BlobRef(of: [0x01, 0x02, 0x03])
        let input = BlobRef(of: [0x0a, 0x0b, 0x0c])
        let output = BlobRef(of: [0x0d, 0x0e, 0x0f])
        let trace = BlobRef(of: [0x10, 0x11, 0x12, 0x13])
        return [
            ("transfer", .transfer(Transfer(recipient: try Address(bytes: [UInt8](repeating: 0x11, count: 20)), amount: 5_000_000))),
            ("stake", .stake(Stake(amount: 1_000_000_000))),
            ("unstake", .unstake(Unstake(amount: 250_000_000))),
            ("offer", .offer(Offer(kernels: ["mlp-q8/1", "gemm-i8/1"], pricePerWorkUnit: 3, capacity: 8, expiryHeight: 5_000))),
            ("withdraw_offer", .withdrawOffer(WithdrawOffer(offerID: filled(0x22)))),
            ("register_model", .registerModel(RegisterModel(modelBlob: model))),
            ("job", .job(Job(offerID: filled(0x22), kernel: "gemm-i8/1", modelHash: filled(0x33), inputBlob: input,
                             maxWorkUnits: 1_000, deadline: 120))),
            ("result", .result(JobResult(
                jobID: filled(0x44), outputBlob: output, traceBlob: trace, traceRoot: filled(0x88), workUnits: 24))),
            ("challenge", .challenge(Challenge(jobID: filled(0x44), layer: 1, tile: 2, bond: 1_000_000))),
            ("settle", .settle(Settle(jobID: filled(0x44)))),
            ("evidence", .evidence(try doubleSign())),
            ("governance_propose/add_validator", .governancePropose(GovernanceProposal(action: .addValidator(key(3).publicKey, power: 10, nodeKey: key(4).publicKey)))),
            ("governance_propose/remove_validator", .governancePropose(GovernanceProposal(action: .removeValidator(key(3).publicKey)))),
            ("governance_propose/set_parameter", .governancePropose(GovernanceProposal(action: .setParameter(name: "min_fee", value: 2_000)))),
            ("governance_vote", .governanceVote(GovernanceVote(proposalID: filled(0x77), approve: true))),
        ]
    }

    static func vectors() throws -> [Vector] {
        let signer = key(1)
        return try bodies().enumerated().map { index, entry in
            let (name, body) = entry
            let hash = Transaction(
                chainID: "assay-devnet", sender: signer.publicKey, nonce: UInt64(index), fee: 1_000, body: body,
                signature: try Signature(bytes: [UInt8](repeating: 0, count: 64))).signingHash
            let transaction = Transaction(
                chainID: "assay-devnet", sender: signer.publicKey, nonce: UInt64(index), fee: 1_000, body: body,
                signature: try signer.sign(hash.bytes, auxiliaryRandomness: zeroAux))
            return Vector(
                name: name, secretKey: signer.withSecretBytes { Hex.encode($0) }, auxRand: Hex.encode(zeroAux),
                chainId: "assay-devnet", nonce: UInt64(index), fee: 1_000, body: Hex.encode(body.canonicalBytes),
                signingHash: Hex.encode(hash.bytes), signature: Hex.encode(transaction.signature.bytes),
                encoding: Hex.encode(transaction.canonicalBytes), hash: Hex.encode(transaction.hash.bytes))
        }
    }

    @Test func vectorsMatchTheCode() throws {
        let computed = try Self.vectors()
        if ProcessInfo.processInfo.environment["ASSAY_RECORD_VECTORS"] == "1" {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(computed).write(to: Self.path)
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let stored = try decoder.decode([Vector].self, from: Data(contentsOf: Self.path))
        #expect(stored == computed)
        #expect(Set(stored.map { $0.name.split(separator: "/")[0] }).count == 13)
    }

    @Test func everyVectorDecodesBackAndVerifies() throws {
        for vector in try Self.vectors() {
            let transaction = try Transaction(canonicalBytes: Hex.decode(vector.encoding)!)
            #expect(transaction.hasValidSignature, "\(vector.name)")
            #expect(Hex.encode(transaction.body.canonicalBytes) == vector.body)
        }
    }

    @Test func boundsAndOrderAreEnforced() throws {
        var writer = CanonicalWriter()
        writer.writeULEB128(6)  // job
        writer.write(Self.filled(1))
        writer.write("gemm-i8/1")
        writer.write(Self.filled(2))
        writer.write(Self.filled(3))  // the input blob's id, then a length cut short
        writer.write(UInt32(7))
        #expect(throws: CodecError.self) { try TransactionBody(canonicalBytes: writer.bytes) }
        var unsorted = CanonicalWriter()
        unsorted.writeULEB128(2)
        unsorted.write("mlp-q8/1")
        unsorted.write("gemm-i8/1")
        unsorted.write(UInt64(1))
        unsorted.write(UInt32(1))
        unsorted.write(UInt64(1))
        #expect(throws: CodecError.self) { try Offer(canonicalBytes: unsorted.bytes) }
        #expect(throws: CodecError.unknownTag(13, type: "TransactionBody")) { try TransactionBody(canonicalBytes: [13]) }
        #expect(throws: CodecError.unknownTag(3, type: "ProposalAction")) { try ProposalAction(canonicalBytes: [3]) }
    }
}
