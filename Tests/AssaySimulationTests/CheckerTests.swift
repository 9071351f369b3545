import AssayCrypto
import AssayTypes
import Testing
@testable import AssaySimulation

/// The checkers must be able to fail: each is fed a violation by hand.
@Suite struct CheckerTests {
    private let chainID = "assay-sim"

    private func block(height: Height, previous: Hash, previousRoot: Hash, amount: Amount) -> Block {
        let transactions = [
            KeyValueApplication.transaction(
                chainID: chainID, sender: SimKeys.publicKeys[0], nonce: height, fee: 1, amount: amount)
        ]
        let root = try! KeyValueApplication.nextRoot(
            after: previousRoot, height: height, transactions: transactions, chainID: chainID)
        let header = Header(
            chainID: chainID, height: height, timeMs: height, previousBlockHash: previous, lastCommitHash: .zero,
            transactionsRoot: Block.transactionsRoot(transactions), stateRoot: root, validatorSetHash: .zero, nextValidatorSetHash: .zero,
            proposer: SimKeys.publicKeys[0])
        return Block(header: header, transactions: transactions, lastCommit: nil)
    }

    @Test func twoBlocksAtOneHeightBreakAgreement() {
        let checker = Checker(chainID: chainID, validatorSets: [])
        let a = block(height: 1, previous: .zero, previousRoot: .zero, amount: 1)
        let b = block(height: 1, previous: .zero, previousRoot: .zero, amount: 2)
        checker.sawProposal(a.hash)
        checker.sawProposal(b.hash)
        checker.committed(a, engine: 0)
        #expect(checker.violations.isEmpty)
        checker.committed(b, engine: 1)
        #expect(checker.violations.contains { $0.hasPrefix("agreement") })
    }

    @Test func aBlockNobodyProposedOrWithAWrongRootBreaksValidity() {
        let checker = Checker(chainID: chainID, validatorSets: [])
        var forged = block(height: 1, previous: .zero, previousRoot: .zero, amount: 1)
        forged.header.stateRoot = SHA256.hash([9])
        checker.committed(forged, engine: 0)
        #expect(checker.violations.contains { $0.contains("never proposed") })
        #expect(checker.violations.contains { $0.contains("wrong state root") })
    }

    @Test func anHonestKeySigningTwoVotesAtOneStepIsCaught() {
        let checker = Checker(chainID: chainID, validatorSets: [])
        let first = Vote.signBytes(chainID: chainID, kind: .prevote, height: 3, round: 1, blockHash: nil)
        let second = Vote.signBytes(chainID: chainID, kind: .prevote, height: 3, round: 1, blockHash: SHA256.hash([1]))
        checker.signedByHonest(key: 2, bytes: first)
        checker.signedByHonest(key: 2, bytes: first)
        #expect(checker.violations.isEmpty, "re-signing identical bytes is fine")
        checker.signedByHonest(key: 2, bytes: second)
        #expect(checker.violations.contains { $0.hasPrefix("double sign") })
    }
}
