import AssayCrypto
import AssayMempool
import AssayTypes
import Testing

/// Transactions waiting behind a missing nonce ("gapped"): bounded, expiring, never in an executable one's way.
@Suite struct GappedTests {
    /// Issue 15 defect 3: funded accounts send nonces next+1 ... next+63 and skip next. On the old pool these
    /// filled it to its cap, so an honest transaction needed a fee far above the minimum, and `unconfirmed_txs`
    /// listed none of what it counted.
    @Test func theNonceGapPinningAttackNoLongerPricesOutHonestTransactions() throws {
        let config = MempoolConfig(chainID: chain, countMax: 400, bytesMax: 1 << 20, feeMin: 2)
        let pool = Mempool(config: config, accounts: FakeAccounts())
        var refused = 0
        for attacker in (1...12).map({ key(UInt8($0)) }) {
            for nonce in 1...63 {
                let gapped = transfer(attacker, nonce: UInt64(nonce), fee: 1_000)
                if (try? pool.admit(gapped.canonicalBytes)) == nil { refused += 1 }
            }
        }
        #expect(config.gappedMax == 40 && pool.count == 40 && pool.gappedCount == 40)
        #expect(refused == 12 * 63 - 40)
        // Every attacker keeps at most its share.
        let listed = pool.listing(limit: 1_000)
        #expect(listed.count == pool.count)
        for attacker in (1...12).map({ key(UInt8($0)) }) {
            #expect(listed.filter { $0.sender == attacker.publicKey }.count <= config.gappedPerSenderMax)
        }
        let honest = transfer(key(50), nonce: 0, fee: config.feeMin)
        try pool.admit(honest.canonicalBytes)
        #expect(pool.reap(maxBytes: 1 << 20, maxCount: 10) == [honest])
        // The gapped ones leave once they have waited `gappedLifetimeBlocks` blocks.
        pool.update(committed: [], height: config.gappedLifetimeBlocks - 1)
        #expect(pool.recheck() == 0)
        pool.update(committed: [], height: config.gappedLifetimeBlocks)
        #expect(pool.recheck() == 40)
        #expect(pool.count == 1 && pool.gappedCount == 0)
    }

    @Test func refusesASendersGappedTransactionsBeyondItsCap() throws {
        let config = MempoolConfig(chainID: chain, feeMin: 2, gappedPerSenderMax: 2)
        let pool = Mempool(config: config, accounts: FakeAccounts())
        try pool.admit(transfer(key(1), nonce: 1, fee: 5).canonicalBytes)
        try pool.admit(transfer(key(1), nonce: 3, fee: 5).canonicalBytes)
        #expect(throws: AdmissionError.tooManyGapped(max: 2)) {
            try pool.admit(transfer(key(1), nonce: 2, fee: 5).canonicalBytes)
        }
        // The missing nonce makes them executable, so more may follow.
        try pool.admit(transfer(key(1), nonce: 0, fee: 5).canonicalBytes)
        #expect(pool.gappedCount == 1)
        try pool.admit(transfer(key(1), nonce: 2, fee: 5).canonicalBytes)
        #expect(pool.gappedCount == 0 && pool.reap(maxBytes: 1 << 20, maxCount: 10).map(\.nonce) == [0, 1, 2, 3])
    }

    @Test func aGappedTransactionNeverEvictsAnExecutableOne() throws {
        let pool = makePool(countMax: 2)
        try pool.admit(transfer(key(1), nonce: 0, fee: 3).canonicalBytes)
        try pool.admit(transfer(key(2), nonce: 0, fee: 3).canonicalBytes)
        #expect(throws: AdmissionError.mempoolFull(feeToBeat: nil)) {
            try pool.admit(transfer(key(3), nonce: 1, fee: 1_000).canonicalBytes)
        }
        #expect(pool.count == 2 && pool.gappedCount == 0)
    }

    @Test func aGappedTransactionEvictsOnlyCheaperGappedOnesWhenTheirShareIsFull() throws {
        let pool = makePool(countMax: 20)  // gappedMax 2
        let cheap = transfer(key(1), nonce: 1, fee: 3)
        try pool.admit(cheap.canonicalBytes)
        try pool.admit(transfer(key(2), nonce: 1, fee: 9).canonicalBytes)
        #expect(throws: AdmissionError.mempoolFull(feeToBeat: 3)) {
            try pool.admit(transfer(key(3), nonce: 1, fee: 3).canonicalBytes)
        }
        let admission = try pool.admit(transfer(key(3), nonce: 1, fee: 4).canonicalBytes)
        #expect(admission.evicted == [cheap.hash] && pool.gappedCount == 2)
    }

    @Test func aDroppedMiddleTransactionTurnsTheRestGappedAndTheCapsStillHold() throws {
        let accounts = FakeAccounts()
        accounts.set(key(1), nonce: 0, balance: 1_000)
        let pool = Mempool(config: MempoolConfig(chainID: chain, feeMin: 2, gappedPerSenderMax: 2), accounts: accounts)
        let fees: [Amount] = [5, 500, 5, 5, 5]
        for (nonce, fee) in fees.enumerated() {
            try pool.admit(transfer(key(1), nonce: UInt64(nonce), fee: fee).canonicalBytes)
        }
        accounts.set(key(1), nonce: 0, balance: 100)  // nonce 1's fee is no longer payable
        // Nonce 1 goes; 2, 3 and 4 now wait behind it, and only the two lowest stay.
        #expect(pool.recheck() == 2)
        #expect(pool.listing(limit: 10).map(\.nonce).sorted() == [0, 2, 3] && pool.gappedCount == 2)
    }

    @Test func unconfirmedListingShowsGappedTransactionsAfterExecutableOnes() throws {
        let pool = makePool()
        let gapped = transfer(key(1), nonce: 2, fee: 90)
        let ready = transfer(key(2), nonce: 0, fee: 5)
        for tx in [gapped, ready] { try pool.admit(tx.canonicalBytes) }
        #expect(pool.listing(limit: 10) == [ready, gapped])
        #expect(pool.listing(limit: 1) == [ready])
    }
}
