import AssayBlobs
import AssayCrypto
import AssayMempool
import AssayTypes
import Synchronization
import Testing

/// The availability rule at admission: a transaction enters the pool only when the node holds every blob it
/// references.
@Suite struct BlobAdmissionTests {
    let model = BlobRef(of: [1, 2, 3])
    let input = BlobRef(of: [4, 5, 6])

    /// The blobs the node holds, as its blob store would answer.
    final class Held: Sendable {
        let lengths = Mutex<[BlobID: UInt64]>([:])
        func insert(_ ref: BlobRef) { lengths.withLock { $0[ref.id] = ref.length } }
    }

    func pool(holding held: Held) -> Mempool {
        Mempool(
            config: MempoolConfig(chainID: chain, countMax: 100, bytesMax: 1 << 20, feeMin: 2),
            accounts: FakeAccounts(), heldBlobLength: { id in held.lengths.withLock { $0[id] } })
    }

    func job(nonce: UInt64) throws -> Transaction {
        let body = TransactionBody.job(Job(
            offerID: .zero, kernel: "gemm-i8/1", modelHash: model.id.digest, inputBlob: input, maxWorkUnits: 10,
            deadline: 20))
        return try Transaction.signed(chainID: chain, nonce: nonce, fee: 10, body: body, key: key(1))
    }

    @Test func aJobIsAdmittedOnlyOnceItsInputAndModelAreHeld() throws {
        let held = Held()
        let pool = pool(holding: held)
        let transaction = try job(nonce: 0)
        #expect(throws: AdmissionError.blobNotHeld(input.id)) { try pool.admit(transaction.canonicalBytes) }
        held.insert(input)
        #expect(throws: AdmissionError.blobNotHeld(model.id)) { try pool.admit(transaction.canonicalBytes) }
        #expect(pool.count == 0)
        held.insert(model)
        #expect(try pool.admit(transaction.canonicalBytes).hash == transaction.hash)
    }

    @Test func aCarriedBlobHeldAtAnotherLengthCountsAsNotHeld() throws {
        let held = Held()
        held.insert(model)
        held.insert(BlobRef(id: input.id, length: input.length + 1))
        let pool = pool(holding: held)
        #expect(throws: AdmissionError.blobNotHeld(input.id)) { try pool.admit(job(nonce: 0).canonicalBytes) }
        #expect(pool.count == 0)
    }

    @Test func anUnsignedTransactionIsRefusedForItsSignatureBeforeItsBlobsAreLookedAt() throws {
        let pool = pool(holding: Held())
        var forged = try job(nonce: 0)
        forged.signature = try job(nonce: 1).signature
        #expect(throws: AdmissionError.badSignature) { try pool.admit(forged.canonicalBytes) }
    }

    @Test func theRefusalSaysHowToUploadTheBlob() {
        #expect(AdmissionError.blobNotHeld(input.id).description
            == "blob \(input.id) is not held by this node; upload it first (PUT /blobs/\(input.id))")
    }

    @Test func transactionsWithoutBlobsNeedNone() throws {
        let pool = pool(holding: Held())
        #expect(try pool.admit(transfer(key(2), nonce: 0, fee: 10).canonicalBytes).replaced == nil)
    }

    @Test func gossipHandsATransactionMissingABlobToTheFetcherAndDropsOtherRefusals() throws {
        let held = Held()
        let pool = pool(holding: held)
        final class Handed: Sendable { let hashes = Mutex<[Hash]>([]) }
        let handed = Handed()
        let gossip = GossipAdmission(
            mempool: pool, capacity: 10, blobsMissing: { tx, _ in handed.hashes.withLock { $0.append(tx.hash) } })
        let job = try job(nonce: 0)
        let foreign = transfer(key(2), nonce: 0, fee: 10, chainID: "other")
        gossip.enqueue([job, foreign])
        gossip.waitUntilIdle()
        #expect(handed.hashes.withLock { $0 } == [job.hash])
        #expect(pool.count == 0)
    }
}
