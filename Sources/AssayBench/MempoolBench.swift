import AssayCrypto
import AssayMempool
import AssayTypes

/// Mempool admission (decode, checks, one signature verification, insertion) against a bare signature check,
/// then reaping a block's worth and removing it after commit.
enum MempoolBench {
    struct Accounts: AccountStateReader {
        func nonce(of address: Address) -> UInt64 { 0 }
        func balance(of address: Address) -> Amount { .max }
    }

    static func run() throws {
        let senders = try (0..<1_000).map { _ in try SecretKey.generate() }
        let recipient = Address(publicKey: senders[0].publicKey)
        let transactions = try (0..<20_000).map { index in
            try Transaction.signed(
                chainID: "assay-bench", nonce: UInt64(index / senders.count), fee: UInt64(1 + index % 97),
                body: .transfer(Transfer(recipient: recipient, amount: 1)), key: senders[index % senders.count])
        }
        let encoded = transactions.map(\.canonicalBytes)
        let verifyRate = Measure.rate(encoded.count) { index in _ = transactions[index].hasValidSignature }
        let pool = Mempool(config: MempoolConfig(chainID: "assay-bench"), accounts: Accounts())
        let admitRate = Measure.rate(encoded.count) { index in _ = try? pool.admit(encoded[index]) }
        precondition(pool.count == encoded.count, "every transaction is admitted")
        Measure.line("mempool admit (1000 senders)", admitRate, "tx/s", baseline: verifyRate)

        var block: [Transaction] = []
        let reapRate = Measure.rate(10) { _ in block = pool.reap(maxBytes: 8 << 20, maxCount: 10_000) }
        Measure.line("mempool reap 10k of 20k", reapRate * 10_000, "tx/s")
        let start = Measure.now()
        pool.update(committed: block, height: 1)
        Measure.line("mempool update after a 10k block", Double(block.count) / (Measure.now() - start), "tx/s")
    }
}
