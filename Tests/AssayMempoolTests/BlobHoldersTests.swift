import AssayBlobs
import AssayCrypto
import AssayMempool
import AssayTypes
import Synchronization
import Testing

/// The mempool's record of which peers sent a transaction that carries blobs: the evidence a proposer counts before
/// it proposes one (docs/consensus.md, Blob availability rule).
@Suite struct BlobHoldersTests {
    let model = BlobRef(of: [1, 2, 3])
    let input = BlobRef(of: [4, 5, 6])
    let peers = (11...14).map { key(UInt8($0)).publicKey }

    func pool(holdersMax: Int = 128) -> Mempool {
        let held: [BlobID: UInt64] = [model.id: model.length, input.id: input.length]
        return Mempool(
            config: MempoolConfig(
                chainID: chain, countMax: 100, bytesMax: 1 << 20, feeMin: 2, blobHoldersMax: holdersMax),
            accounts: FakeAccounts(), heldBlobLength: { held[$0] })
    }

    func job(_ sender: SecretKey = key(1), nonce: UInt64 = 0) throws -> Transaction {
        let body = TransactionBody.job(Job(
            offerID: .zero, kernel: "gemm-i8/1", modelHash: model.id.digest, inputBlob: input, maxWorkUnits: 10,
            deadline: 20))
        return try Transaction.signed(chainID: chain, nonce: nonce, fee: 10, body: body, key: sender)
    }

    @Test func everyPeerThatSendsAPendingJobIsRecordedOnceInArrivalOrderAndItsCopyIsADuplicate() throws {
        let pool = pool()
        let job = try job()
        try pool.admit(job.canonicalBytes, from: peers[2])
        for peer in [peers[0], peers[2], peers[1], peers[0]] {
            #expect(throws: AdmissionError.duplicate(job.hash)) { try pool.admit(job.canonicalBytes, from: peer) }
        }
        let expected = BlobHolding(holders: [peers[2], peers[0], peers[1]], blocksPending: 0)
        #expect(pool.blobHolding(of: job.hash) == expected)
        #expect(pool.count == 1)
    }

    @Test func aTransactionFromRPCStartsWithNoHolders() throws {
        let pool = pool()
        let job = try job()
        try pool.admit(job.canonicalBytes)
        #expect(pool.blobHolding(of: job.hash)?.holders == [])
        #expect(throws: AdmissionError.duplicate(job.hash)) { try pool.admit(job.canonicalBytes) }
        #expect(pool.blobHolding(of: job.hash)?.holders == [])
    }

    @Test func transactionsWithoutBlobsRecordNoHolders() throws {
        let pool = pool()
        let plain = transfer(key(2), nonce: 0, fee: 10)
        try pool.admit(plain.canonicalBytes, from: peers[0])
        #expect(throws: AdmissionError.duplicate(plain.hash)) { try pool.admit(plain.canonicalBytes, from: peers[1]) }
        #expect(pool.blobHolding(of: plain.hash)?.holders == [])
    }

    @Test func theRecordIsBounded() throws {
        let pool = pool(holdersMax: 2)
        let job = try job()
        for peer in peers { _ = try? pool.admit(job.canonicalBytes, from: peer) }
        #expect(pool.blobHolding(of: job.hash)?.holders == [peers[0], peers[1]])
    }

    @Test func theWaitCountsCommittedBlocksAndTheRecordLeavesWithTheTransaction() throws {
        let pool = pool()
        let (waiting, committed) = (try job(key(1)), try job(key(2)))
        try pool.admit(waiting.canonicalBytes, from: peers[0])
        try pool.admit(committed.canonicalBytes, from: peers[0])
        pool.update(committed: [], height: 3)
        #expect(pool.blobHolding(of: waiting.hash)?.blocksPending == 3)
        pool.update(committed: [committed], height: 4)
        #expect(pool.blobHolding(of: waiting.hash)?.blocksPending == 4)
        #expect(pool.blobHolding(of: committed.hash) == nil)
    }

    /// Collects the transactions handed to a callback.
    final class Collected: Sendable {
        let hashes = Mutex<[Hash]>([])
        func append(_ transaction: Transaction) { hashes.withLock { $0.append(transaction.hash) } }
        var all: [Hash] { hashes.withLock { $0 } }
    }

    @Test func gossipRelaysANewlyAdmittedJobOnceAndRecordsEachSender() throws {
        let pool = pool()
        let relayed = Collected()
        let gossip = GossipAdmission(mempool: pool, capacity: 10, relay: relayed.append)
        let (job, plain) = (try job(), transfer(key(2), nonce: 0, fee: 10))
        gossip.enqueue([job, plain], from: peers[0])
        gossip.enqueue([job], from: peers[1])
        gossip.waitUntilIdle()
        #expect(relayed.all == [job.hash])
        #expect(pool.blobHolding(of: job.hash)?.holders == [peers[0], peers[1]])
    }

    @Test func aJobAdmittedAfterItsBlobsWereFetchedIsRecordedAndRelayed() throws {
        let held = BlobAdmissionTests.Held()
        held.insert(model)
        let pool = Mempool(
            config: MempoolConfig(chainID: chain, countMax: 100, bytesMax: 1 << 20, feeMin: 2),
            accounts: FakeAccounts(), heldBlobLength: { id in held.lengths.withLock { $0[id] } })
        let relayed = Collected()
        let (input, job) = (input, try job())
        let gossip = GossipAdmission(
            mempool: pool, capacity: 10,
            blobsMissing: { _, admit in
                held.insert(input)  // the fetch
                admit()
            }, relay: relayed.append)
        gossip.enqueue([job], from: peers[3])
        gossip.waitUntilIdle()
        #expect(relayed.all == [job.hash])
        #expect(pool.blobHolding(of: job.hash)?.holders == [peers[3]])
    }

    @Test func aFetchThatEndsWithoutTheBlobsAdmitsNothingAndFetchesNoMore() throws {
        let pool = Mempool(
            config: MempoolConfig(chainID: chain, countMax: 100, bytesMax: 1 << 20, feeMin: 2),
            accounts: FakeAccounts(), heldBlobLength: { _ in nil })
        let fetched = Collected()
        let job = try job()
        let gossip = GossipAdmission(
            mempool: pool, capacity: 10,
            blobsMissing: { transaction, admit in
                fetched.append(transaction)
                admit()
            })
        gossip.enqueue([job], from: peers[0])
        gossip.waitUntilIdle()
        #expect(fetched.all == [job.hash])
        #expect(pool.count == 0)
    }
}
