import AssayCrypto
import AssayMempool
import AssayTypes
import Testing

@Suite struct ReapAndUpdateTests {
    @Test func reapsHighestFeeHeadsInNonceOrderWhateverTheArrivalOrder() throws {
        let a0 = transfer(key(1), nonce: 0, fee: 10)
        let a1 = transfer(key(1), nonce: 1, fee: 100)
        let b0 = transfer(key(2), nonce: 0, fee: 50)
        let c0 = transfer(key(3), nonce: 0, fee: 50)
        let (firstTie, secondTie) = b0.hash < c0.hash ? (b0, c0) : (c0, b0)
        let expected = [firstTie, secondTie, a0, a1]
        for arrival in [[a0, a1, b0, c0], [c0, b0, a0, a1], [b0, a0, c0, a1]] {
            let pool = makePool()
            for tx in arrival { try pool.admit(tx.canonicalBytes) }
            #expect(pool.reap(maxBytes: 1 << 20, maxCount: 100) == expected)
        }
    }

    @Test func reapStopsAtGapsAndLimits() throws {
        let pool = makePool()
        let a0 = transfer(key(1), nonce: 0, fee: 10)
        try pool.admit(a0.canonicalBytes)
        try pool.admit(transfer(key(1), nonce: 2, fee: 90).canonicalBytes)
        let b0 = transfer(key(2), nonce: 0, fee: 20)
        try pool.admit(b0.canonicalBytes)
        #expect(pool.reap(maxBytes: 1 << 20, maxCount: 100) == [b0, a0])
        #expect(pool.reap(maxBytes: 1 << 20, maxCount: 1) == [b0])
        #expect(pool.reap(maxBytes: b0.canonicalBytes.count - 1, maxCount: 100) == [])
        #expect(pool.count == 3)  // reaping does not remove
    }

    @Test func updateRemovesCommittedAndStaleThenRecheckDropsUnpayable() throws {
        let accounts = FakeAccounts()
        let pool = makePool(accounts)
        let a0 = transfer(key(1), nonce: 0, fee: 10)
        let a1 = transfer(key(1), nonce: 1, fee: 10)
        let rivalA1 = transfer(key(1), nonce: 1, fee: 12)
        let b0 = transfer(key(2), nonce: 0, fee: 30)
        for tx in [a0, a1, b0] { try pool.admit(tx.canonicalBytes) }
        // A block commits a0 and another node's a1; b0's sender spent its balance elsewhere.
        accounts.set(key(1), nonce: 2)
        accounts.set(key(2), nonce: 0, balance: 20)
        pool.update(committed: [a0, rivalA1], height: 1)
        #expect(!pool.contains(a0.hash) && !pool.contains(a1.hash) && pool.contains(b0.hash))
        #expect(pool.recheck() == 1)
        #expect(pool.count == 0 && pool.byteCount == 0)
        // The committed transaction's verdict stays cached for block execution.
        #expect(pool.isVerified(a0.hash))
    }

    @Test func aRaisedMinimumFeeRefusesAndDropsCheaperTransactions() throws {
        let pool = makePool()
        let cheap = transfer(key(1), nonce: 0, fee: 3)
        let rich = transfer(key(2), nonce: 0, fee: 10)
        for tx in [cheap, rich] { try pool.admit(tx.canonicalBytes) }
        pool.setMinimumFee(5)
        #expect(throws: AdmissionError.feeTooLow(fee: 4, min: 5)) {
            try pool.admit(transfer(key(3), nonce: 0, fee: 4).canonicalBytes)
        }
        #expect(pool.recheck() == 1)
        #expect(!pool.contains(cheap.hash) && pool.contains(rich.hash))
    }

    @Test func concurrentAdmissionsAndReapsKeepThePoolConsistent() async throws {
        let pool = makePool()
        let senders = (1...4).map { key(UInt8($0)) }
        let batches = senders.map { sender in (0..<4).map { transfer(sender, nonce: $0, fee: 5 + $0) } }
        await withTaskGroup(of: Void.self) { group in
            for batch in batches {
                group.addTask { for tx in batch { _ = try? pool.admit(tx.canonicalBytes) } }
                group.addTask { _ = pool.reap(maxBytes: 1 << 20, maxCount: 50) }
            }
        }
        #expect(pool.count == 16)
        let reaped = pool.reap(maxBytes: 1 << 20, maxCount: 100)
        #expect(reaped.count == 16)
        for sender in senders {
            #expect(reaped.filter { $0.sender == sender.publicKey }.map(\.nonce) == [0, 1, 2, 3])
        }
    }
}
