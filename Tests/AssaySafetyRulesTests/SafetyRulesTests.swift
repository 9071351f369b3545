import AssayCrypto
import AssaySafetyRules
import AssayStorage
import AssayTypes
import Testing

private let chainID = "assay-test"
private let block = SHA256.hash(Array("block".utf8))
private let otherBlock = SHA256.hash(Array("other block".utf8))

/// A real BIP-340 signer with OS nonce randomness: signing the same bytes twice gives different
/// signatures, so an equal signature proves it was returned from the persisted record.
private func freshSigner() throws -> SchnorrSigner { SchnorrSigner(key: try SecretKey.generate()) }

/// A store whose synced write lands and then the "process dies" before SafetyRules can return.
private final class DiesAfterPersist: KeyValueStore, @unchecked Sendable {
    let disk = InMemoryStore()
    var armed = false

    struct Killed: Error {}

    func get(_ key: [UInt8], in namespace: Namespace) throws(StorageError) -> [UInt8]? {
        try disk.get(key, in: namespace)
    }

    func scan(_ namespace: Namespace, from start: [UInt8], to end: [UInt8]?, limit: Int) throws(StorageError)
        -> [(key: [UInt8], value: [UInt8])]
    {
        try disk.scan(namespace, from: start, to: end, limit: limit)
    }

    func write(_ batch: WriteBatch, durability: Durability) throws(StorageError) {
        try disk.write(batch, durability: durability)
        if armed { throw StorageError(.io, "killed between persist and return") }
    }

    func snapshot() throws(StorageError) -> InMemoryStore.Snapshot { try disk.snapshot() }
}

@Suite struct SafetyRulesTests {
    @Test func signsInIncreasingOrderAndTheSignaturesVerify() throws {
        let rules = try SafetyRules(signer: try freshSigner(), store: InMemoryStore(), chainID: chainID)
        let proposal = try rules.signProposal(height: 1, round: 0, proofOfLockRound: nil, blockHash: block)
        let prevote = try rules.signVote(.prevote, height: 1, round: 0, blockHash: block)
        let precommit = try rules.signVote(.precommit, height: 1, round: 0, blockHash: nil)
        let nextRound = try rules.signVote(.prevote, height: 1, round: 1, blockHash: nil)
        #expect(proposal.hasValidSignature(chainID: chainID) && prevote.hasValidSignature(chainID: chainID))
        #expect(precommit.hasValidSignature(chainID: chainID) && nextRound.hasValidSignature(chainID: chainID))
    }

    @Test func regressionIsRefused() throws {
        let rules = try SafetyRules(signer: try freshSigner(), store: InMemoryStore(), chainID: chainID)
        _ = try rules.signVote(.precommit, height: 5, round: 2, blockHash: block)
        #expect(throws: SafetyError.self) { try rules.signVote(.prevote, height: 5, round: 2, blockHash: block) }
        #expect(throws: SafetyError.self) { try rules.signVote(.precommit, height: 5, round: 1, blockHash: block) }
        #expect(throws: SafetyError.self) { try rules.signVote(.precommit, height: 4, round: 9, blockHash: block) }
        #expect(throws: SafetyError.self) {
            try rules.signProposal(height: 5, round: 2, proofOfLockRound: nil, blockHash: block)
        }
    }

    @Test func sameSignBytesGiveTheSameSignature() throws {
        let rules = try SafetyRules(signer: try freshSigner(), store: InMemoryStore(), chainID: chainID)
        let first = try rules.signVote(.prevote, height: 3, round: 0, blockHash: block)
        let again = try rules.signVote(.prevote, height: 3, round: 0, blockHash: block)
        #expect(first == again)
    }

    @Test func differentSignBytesAtTheSameStepAreRefused() throws {
        let rules = try SafetyRules(signer: try freshSigner(), store: InMemoryStore(), chainID: chainID)
        _ = try rules.signVote(.prevote, height: 3, round: 0, blockHash: block)
        #expect(throws: SafetyError.conflictingSignBytes(SignedPosition(height: 3, round: 0, step: .prevote))) {
            try rules.signVote(.prevote, height: 3, round: 0, blockHash: otherBlock)
        }
        #expect(throws: SafetyError.self) { try rules.signVote(.prevote, height: 3, round: 0, blockHash: nil) }
    }

    /// The process dies after the synced write and before the signature is returned: a new
    /// SafetyRules over the same store refuses conflicting bytes and re-returns the persisted signature.
    @Test func stateSurvivesAKillBetweenPersistAndReturn() throws {
        let signer = try freshSigner()
        let store = DiesAfterPersist()
        let dying = try SafetyRules(signer: signer, store: store, chainID: chainID)
        store.armed = true
        #expect(throws: SafetyError.self) { try dying.signVote(.precommit, height: 7, round: 1, blockHash: block) }
        store.armed = false

        let restarted = try SafetyRules(signer: signer, store: store, chainID: chainID)
        #expect(restarted.lastSigned?.position == SignedPosition(height: 7, round: 1, step: .precommit))
        #expect(throws: SafetyError.self) {
            try restarted.signVote(.precommit, height: 7, round: 1, blockHash: otherBlock)
        }
        let vote = try restarted.signVote(.precommit, height: 7, round: 1, blockHash: block)
        #expect(vote.signature == restarted.lastSigned?.signature)
        #expect(vote.hasValidSignature(chainID: chainID))
    }

    @Test func corruptRecordIsATypedError() throws {
        let store = InMemoryStore()
        var batch = WriteBatch()
        batch.put(Array("last-signed".utf8), [1, 2, 3], in: SafetyRules.namespace)
        try store.write(batch, durability: .synced)
        #expect(throws: SafetyError.self) { try SafetyRules(signer: try freshSigner(), store: store, chainID: chainID) }
    }
}
