import AssayCodec
import AssayCrypto
import AssayTypes

/// The foundation figures: every suite of issue 2 in one run.
enum FoundationBench {
    static func run() throws {
        try CryptoBench.run()
        try CodecBench.run()
        try StorageBench.run()
    }
}

/// Canonical encode + decode of a signed transfer, the codec's hot path in mempool admission.
enum CodecBench {
    static func run() throws {
        let key = try SecretKey.generate()
        let recipient = Address(publicKey: try SecretKey.generate().publicKey)
        let tx = try Transaction.signed(
            chainID: "assay-bench", nonce: 1, fee: 1_000,
            body: .transfer(Transfer(recipient: recipient, amount: 5_000_000)), key: key)
        var sink = 0
        let rate = Measure.rate(200_000) { _ in
            let bytes = tx.canonicalBytes
            if let decoded = try? Transaction(canonicalBytes: bytes) { sink &+= Int(decoded.nonce) }
        }
        precondition(sink == 200_000, "every round trip decodes")
        Measure.line("codec transfer encode+decode", rate, "tx/s")
    }
}
