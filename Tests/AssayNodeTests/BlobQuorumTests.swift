import AssayBlobs
import AssayCrypto
import AssayMempool
import AssayTypes
import Testing

@testable import AssayNode

/// The proposal policy for transactions that carry blobs: proposed once validators with more than 2/3 of the power
/// hold the blobs (the proposer and the peers that gossiped it), or after the wait.
@Suite struct BlobQuorumTests {
    let keys = (1...4).map { testKey($0).publicKey }
    var proposer: PublicKey { keys[0] }

    func quorum(powers: [UInt64] = [10, 10, 10, 10], waitBlocksMax: UInt64 = 32) throws -> BlobQuorum {
        let members = zip(keys, powers).map { Validator(publicKey: $0, power: $1) }
        return BlobQuorum(validators: try ValidatorSet(members), waitBlocksMax: waitBlocksMax)
    }

    func job(_ sender: SecretKey, nonce: UInt64) throws -> Transaction {
        let body = TransactionBody.job(Job(
            offerID: .zero, kernel: "gemm-i8/1", modelHash: GemmJob.modelHash, inputBlob: GemmJob.inputBlob,
            maxWorkUnits: 10, deadline: 20))
        return try Transaction.signed(chainID: NodeFixture.chainID, nonce: nonce, fee: 10, body: body, key: sender)
    }

    func transfer(_ sender: SecretKey, nonce: UInt64) throws -> Transaction {
        let body = TransactionBody.transfer(Transfer(recipient: address(testKey(9)), amount: 1))
        return try Transaction.signed(chainID: NodeFixture.chainID, nonce: nonce, fee: 10, body: body, key: sender)
    }

    func holding(_ holders: [PublicKey], waited: UInt64 = 0) -> BlobHolding {
        BlobHolding(holders: holders, blocksPending: waited)
    }

    @Test func ofFourEqualValidatorsTheProposerAndTwoPeersAreAQuorumAndOnePeerIsNot() throws {
        let quorum = try quorum()
        #expect(!quorum.isReady(holding([]), proposer: proposer))
        #expect(!quorum.isReady(holding([keys[2]]), proposer: proposer))
        #expect(quorum.isReady(holding([keys[2], keys[3]]), proposer: proposer))
    }

    @Test func theProposerAndStrangersCountOnceAndNotAtAll() throws {
        let quorum = try quorum()
        let stranger = testKey(50).publicKey
        #expect(!quorum.isReady(holding([proposer, keys[1], proposer, stranger, keys[1]]), proposer: proposer))
    }

    @Test func powerNotHeadsDecides() throws {
        let quorum = try quorum(powers: [10, 60, 10, 10])
        #expect(quorum.isReady(holding([keys[1]]), proposer: proposer))
        #expect(!quorum.isReady(holding([keys[2], keys[3]]), proposer: proposer))
    }

    @Test func aSingleValidatorProposesAtOnce() throws {
        let alone = BlobQuorum(validators: try ValidatorSet([Validator(publicKey: proposer, power: 1)]))
        #expect(alone.isReady(holding([]), proposer: proposer))
    }

    @Test func afterTheWaitItIsProposedWithoutTheQuorum() throws {
        let quorum = try quorum(waitBlocksMax: 5)
        #expect(!quorum.isReady(holding([keys[1]], waited: 4), proposer: proposer))
        #expect(quorum.isReady(holding([], waited: 5), proposer: proposer))
    }

    @Test func aTransactionNoLongerPendingIsLeftOut() throws {
        #expect(!(try quorum(waitBlocksMax: 0)).isReady(nil, proposer: proposer))
    }

    @Test func aHeldBackJobKeepsItsSendersLaterNoncesOutAndNothingElse() throws {
        let (client, other) = (testKey(20), testKey(21))
        let waiting = try job(client, nonce: 0)
        let ready = try job(other, nonce: 0)
        let reaped = [
            waiting, try transfer(other, nonce: 1), ready, try transfer(client, nonce: 1),
            try transfer(testKey(22), nonce: 0),
        ]
        let holders = [waiting.hash: holding([keys[1]]), ready.hash: holding([keys[1], keys[3]])]
        let proposed = try quorum().proposable(reaped, proposer: proposer) { holders[$0] }
        #expect(proposed.map(\.hash) == [reaped[1], reaped[2], reaped[4]].map(\.hash))
    }

    @Test func transactionsWithoutBlobsNeedNoHolders() throws {
        let transfers = [try transfer(testKey(20), nonce: 0), try transfer(testKey(21), nonce: 0)]
        #expect(try quorum().proposable(transfers, proposer: proposer) { _ in nil } == transfers)
    }
}
