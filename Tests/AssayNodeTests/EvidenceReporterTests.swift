import AssayCrypto
import AssayEngine
import AssayLedger
import AssayTypes
import Logging
import Testing

@testable import AssayNode

@Suite struct EvidenceReporterTests {
    let node: NodeFixture
    let gossiped = Gossiped()

    init() throws { node = try NodeFixture() }

    /// A reporter signing from the fixture's provider account (none: `withAccount: false`), with the chain's tip
    /// at `height`.
    func reporter(tipHeight height: Height = 1, withAccount: Bool = true) -> EvidenceReporter {
        let gossiped = gossiped
        let account = node.account(
            node.provider, gossip: { transaction in gossiped.transactions.withLock { $0.append(transaction) } })
        var tip = ChainTip(genesisValidators: node.genesis.validators, genesisTimeMs: 0)
        tip.height = height
        return EvidenceReporter(
            account: withAccount ? account : nil, validator: node.validator.publicKey, store: node.store, mempool: node.mempool, tip: { [tip] in tip },
            logger: Logger(label: "test"))
    }

    /// Two prevotes of the fixture's validator at `height`, round 0, for different blocks.
    func doubleSign(at height: Height = 1) throws -> DoubleSignEvidence {
        let votes = try ["a", "b"].map { block in
            let hash = SHA256.hash(Array(block.utf8))
            let bytes = Vote.signBytes(
                chainID: NodeFixture.chainID, kind: .prevote, height: height, round: 0, blockHash: hash)
            return Vote(
                kind: .prevote, height: height, round: 0, blockHash: hash, validator: node.validator.publicKey,
                signature: try node.validator.sign(bytes))
        }
        return try #require(DoubleSignEvidence(votes[0], votes[1]))
    }

    @Test func evidenceIsSubmittedOnceGossipedAndPunishesWhenCommitted() throws {
        let reporter = reporter()
        let evidence = try doubleSign()
        let sent = try #require(reporter.report(evidence))
        #expect(sent.body == .evidence(evidence))
        #expect(node.mempool.contains(sent.hash))
        #expect(gossiped.transactions.withLock { $0 } == [sent])

        #expect(reporter.report(evidence) == nil, "evidence against the validator is already pending")
        #expect(reporter.report(try doubleSign(at: 2)) == nil, "another double sign by it: already pending")

        try node.commit([sent])
        let record = try #require(try LedgerQuery(store: node.store).validator(node.validator.publicKey))
        #expect(record.tombstoned && record.power == 0)
        #expect(reporter.report(try doubleSign(at: 2)) == nil, "a tombstoned validator is not reported again")
        #expect(gossiped.transactions.withLock { $0.count } == 1)
    }

    @Test func withoutAnAccountNothingIsSubmitted() throws {
        #expect(reporter(withAccount: false).report(try doubleSign()) == nil)
        #expect(gossiped.transactions.withLock { $0 }.isEmpty && node.mempool.count == 0)
    }

    @Test func evidenceOlderThanTheUnbondingPeriodIsNotSubmitted() throws {
        let unbonding = NodeFixture.params().unbondingBlocks
        #expect(reporter(tipHeight: 1 + unbonding).report(try doubleSign(at: 1)) == nil)
        #expect(reporter(tipHeight: unbonding).report(try doubleSign(at: 1)) != nil, "the ledger's limit, exactly")
    }
}
