import AssayCrypto
import AssayMempool
import AssayTypes
import PropertyBased
import Testing

/// Random admissions and commits, checked after every step against the rules for gapped transactions.
@Suite struct GappedPropertyTests {
    static let senders = (1...8).map { key(UInt8($0)) }

    static func config(bytesMax: Int = 1 << 20, transactionBytesMax: Int = 1_024) -> MempoolConfig {
        MempoolConfig(
            chainID: chain, transactionBytesMax: transactionBytesMax, countMax: 30, bytesMax: bytesMax, feeMin: 2,
            nonceGapMax: 8, gappedPerSenderMax: 3, gappedMax: 6, gappedLifetimeBlocks: 3)
    }

    /// Gapped transactions per sender and in total never exceed their caps, none outlives its lifetime, and the
    /// listing holds exactly what the pool counts.
    @Test func gappedTransactionsStayWithinTheirCapsAndExpire() async {
        await propertyCheck(count: 60, input: Gen.uint64()) { seed in
            var random = SplitMix64(seed: seed)
            let accounts = FakeAccounts()
            let config = Self.config()
            let pool = Mempool(config: config, accounts: accounts)
            var nonces = [UInt64](repeating: 0, count: Self.senders.count)
            var admittedAt: [Hash: UInt64] = [:]
            var height: UInt64 = 0
            for _ in 0..<60 {
                let sender = Int(random.next() % UInt64(Self.senders.count))
                if random.next() % 5 == 0 {
                    // A block commits some of this sender's nonces.
                    nonces[sender] += random.next() % 3
                    accounts.set(Self.senders[sender], nonce: nonces[sender])
                    height += 1
                    pool.update(committed: [], height: height)
                    pool.recheck()
                } else {
                    let tx = transfer(
                        Self.senders[sender], nonce: nonces[sender] + random.next() % 8, fee: 2 + random.next() % 20)
                    if (try? pool.admit(tx.canonicalBytes)) != nil { admittedAt[tx.hash] = height }
                }
                let gapped = Self.gapped(pool.listing(limit: 1_000), nonces: nonces)
                #expect(pool.listing(limit: 1_000).count == pool.count, "seed \(seed)")
                #expect(gapped.count == pool.gappedCount && gapped.count <= config.gappedMax, "seed \(seed)")
                for key in Self.senders {
                    let mine = gapped.filter { $0.sender == key.publicKey }
                    #expect(mine.count <= config.gappedPerSenderMax, "seed \(seed)")
                }
                for tx in gapped {
                    #expect(height - admittedAt[tx.hash]! < config.gappedLifetimeBlocks, "seed \(seed)")
                }
            }
        }
    }

    /// Whatever gapped load came first (any senders, fees and nonces, filling the count or the byte cap), an
    /// executable transaction paying the minimum fee is admitted.
    @Test func anExecutableTransactionAtTheMinimumFeeIsAlwaysAdmitted() async throws {
        let size = transfer(key(1), nonce: 1, fee: 2).canonicalBytes.count + 16
        await propertyCheck(count: 60, input: Gen.uint64()) { seed in
            var random = SplitMix64(seed: seed)
            let config = Self.config(bytesMax: random.next() % 2 == 0 ? 1 << 20 : 5 * size, transactionBytesMax: size)
            let pool = Mempool(config: config, accounts: FakeAccounts())
            for _ in 0..<(random.next() % 40) {
                let sender = Self.senders[Int(random.next() % UInt64(Self.senders.count))]
                let gapped = transfer(sender, nonce: 1 + random.next() % 7, fee: 2 + random.next() % 1_000)
                _ = try? pool.admit(gapped.canonicalBytes)
            }
            let honest = transfer(key(77), nonce: 0, fee: config.feeMin)
            #expect(throws: Never.self, "seed \(seed)") { try pool.admit(honest.canonicalBytes) }
            #expect(pool.reap(maxBytes: 1 << 20, maxCount: 100) == [honest], "seed \(seed)")
        }
    }

    /// The listed transactions that cannot execute: those after the first missing nonce of each sender.
    static func gapped(_ listed: [Transaction], nonces: [UInt64]) -> [Transaction] {
        senders.indices.flatMap { index in
            let mine = listed.filter { $0.sender == senders[index].publicKey }.sorted { $0.nonce < $1.nonce }
            let executable = mine.enumerated().prefix { $0.element.nonce == nonces[index] + UInt64($0.offset) }.count
            return mine.dropFirst(executable)
        }
    }
}

/// A small seeded generator so that a failing seed reproduces exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
