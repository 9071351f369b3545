import AssayCodec
import AssayCrypto
import AssayMempool
import AssayTypes
import Testing

@Suite struct AdmissionTests {
    @Test func admitsAValidTransactionAndRemembersItsSignature() throws {
        let pool = makePool()
        let tx = transfer(key(1), nonce: 0, fee: 10)
        let admission = try pool.admit(tx.canonicalBytes)
        #expect(admission.hash == tx.hash)
        #expect(pool.contains(tx.hash) && pool.isVerified(tx.hash))
        #expect(pool.count == 1 && pool.byteCount == tx.canonicalBytes.count)
    }

    @Test func refusesOversizeMalformedAndForeignTransactions() {
        let pool = makePool()
        #expect(throws: AdmissionError.tooLarge(bytes: 2_000, max: 1_024)) {
            try pool.admit([UInt8](repeating: 0, count: 2_000))
        }
        #expect(throws: AdmissionError.malformed(.truncated(needed: 32, remaining: 0))) {
            try pool.admit([3, 0x61, 0x62, 0x63])
        }
        let foreign = transfer(key(1), nonce: 0, fee: 10, chainID: "other")
        #expect(throws: AdmissionError.wrongChain(expected: chain, got: "other")) {
            try pool.admit(foreign.canonicalBytes)
        }
        #expect(throws: AdmissionError.feeTooLow(fee: 1, min: 2)) {
            try pool.admit(transfer(key(1), nonce: 0, fee: 1).canonicalBytes)
        }
        #expect(pool.count == 0)
    }

    @Test func refusesABadSignatureAndCachesTheVerdict() throws {
        let pool = makePool()
        var forged = transfer(key(1), nonce: 0, fee: 10)
        forged.signature = transfer(key(1), nonce: 1, fee: 10).signature
        #expect(throws: AdmissionError.badSignature) { try pool.admit(forged.canonicalBytes) }
        #expect(!pool.isVerified(forged.hash))
        #expect(!pool.hasValidSignature(forged, hash: forged.hash))
        #expect(pool.count == 0)
    }

    @Test func aBatchOfSignaturesIsValidOnlyIfEveryOneIsAndTheVerdictsAreKept() throws {
        let pool = makePool()
        let batch = (0..<40).map { transfer(key(1 + $0 % 4), nonce: UInt64($0), fee: 10) }
        #expect(pool.haveValidSignatures(batch))
        #expect(batch.allSatisfy { pool.isVerified($0.hash) })
        var forged = transfer(key(2), nonce: 99, fee: 10)
        forged.signature = batch[0].signature
        #expect(!pool.haveValidSignatures(batch + [forged]))
        #expect(!pool.haveValidSignatures([forged] + batch))
        #expect(pool.haveValidSignatures([]))
    }

    @Test func refusesDuplicatesUsedNoncesFarNoncesAndUnpayableFees() throws {
        let accounts = FakeAccounts()
        accounts.set(key(1), nonce: 5, balance: 50)
        let pool = makePool(accounts)
        let tx = transfer(key(1), nonce: 5, fee: 10)
        try pool.admit(tx.canonicalBytes)
        #expect(throws: AdmissionError.duplicate(tx.hash)) { try pool.admit(tx.canonicalBytes) }
        #expect(throws: AdmissionError.nonceTooLow(nonce: 4, expected: 5)) {
            try pool.admit(transfer(key(1), nonce: 4, fee: 10).canonicalBytes)
        }
        #expect(throws: AdmissionError.nonceTooFarAhead(nonce: 9, expected: 5, gapMax: 4)) {
            try pool.admit(transfer(key(1), nonce: 9, fee: 10).canonicalBytes)
        }
        try pool.admit(transfer(key(1), nonce: 8, fee: 10).canonicalBytes)  // a gap within the bound
        #expect(throws: AdmissionError.insufficientBalance(balance: 50, fee: 60)) {
            try pool.admit(transfer(key(1), nonce: 6, fee: 60).canonicalBytes)
        }
        #expect(pool.count == 2)
    }

    @Test func replacesASenderNonceOnlyForATenPercentHigherFee() throws {
        let pool = makePool()
        let original = transfer(key(1), nonce: 0, fee: 100)
        try pool.admit(original.canonicalBytes)
        #expect(throws: AdmissionError.replacementUnderpriced(fee: 105, required: 110)) {
            try pool.admit(transfer(key(1), nonce: 0, fee: 105).canonicalBytes)
        }
        let replacement = transfer(key(1), nonce: 0, fee: 110)
        let admission = try pool.admit(replacement.canonicalBytes)
        #expect(admission.replaced == original.hash)
        #expect(!pool.contains(original.hash) && pool.contains(replacement.hash) && pool.count == 1)
    }

    @Test func evictsTheLowestFeeTailWhenFull() throws {
        let pool = makePool(countMax: 3)
        let cheapTail = transfer(key(1), nonce: 1, fee: 3)
        try pool.admit(transfer(key(1), nonce: 0, fee: 50).canonicalBytes)
        try pool.admit(cheapTail.canonicalBytes)
        let middle = transfer(key(2), nonce: 0, fee: 6)
        try pool.admit(middle.canonicalBytes)
        // The cheapest tail goes first; its sender keeps nonce 0, so no gap appears.
        let first = try pool.admit(transfer(key(3), nonce: 0, fee: 8).canonicalBytes)
        #expect(first.evicted == [cheapTail.hash])
        #expect(throws: AdmissionError.mempoolFull(feeToBeat: 6)) {
            try pool.admit(transfer(key(4), nonce: 0, fee: 6).canonicalBytes)
        }
        let second = try pool.admit(transfer(key(4), nonce: 0, fee: 7).canonicalBytes)
        #expect(second.evicted == [middle.hash])
        #expect(pool.count == 3)
    }

    @Test func evictsByBytesToo() throws {
        let size = transfer(key(1), nonce: 0, fee: 5).canonicalBytes.count
        let pool = makePool(bytesMax: 2 * size, transactionBytesMax: size)
        try pool.admit(transfer(key(1), nonce: 0, fee: 5).canonicalBytes)
        try pool.admit(transfer(key(2), nonce: 0, fee: 6).canonicalBytes)
        let admission = try pool.admit(transfer(key(3), nonce: 0, fee: 7).canonicalBytes)
        #expect(admission.evicted.count == 1 && pool.byteCount == 2 * size)
    }
}
