import AssayConsensus
import AssayEngine
import AssayStorage
import AssayTypes
import Testing
@testable import AssaySimulation

/// The application's answers are either verdicts on a block or faults of the node; only verdicts become votes.
@Suite struct FaultStoriesTests {
    /// The simulation's application, whose execution can be made to fail: with a verdict, or as a broken disk would.
    final class FailingExecutor: BlockExecutor {
        let inner: KeyValueApplication
        var failure: ExecutionError?

        init(_ inner: KeyValueApplication) { self.inner = inner }

        func transactionsForNewBlock(_ context: ExecutionContext) -> [Transaction] {
            inner.transactionsForNewBlock(context)
        }

        func execute(_ context: ExecutionContext, transactions: [Transaction]) throws(ExecutionError) -> Hash {
            if let failure { throw failure }
            return try inner.execute(context, transactions: transactions)
        }

        func commitWrites(for block: Block, validators: ValidatorSet, into batch: inout WriteBatch)
            throws(ExecutionError) -> [Validator]
        {
            try inner.commitWrites(for: block, validators: validators, into: &batch)
        }

        func didCommit(_ block: Block) { inner.didCommit(block) }
    }

    /// A cluster of four whose validator `victim` (the one after the first proposer) fails every execution.
    func cluster(victimFailingWith failure: ExecutionError) throws -> (Cluster, victim: Int) {
        let cluster = Cluster()
        let victim = (cluster.firstProposer + 1) % 4
        for index in cluster.nodes.indices {
            try cluster.start(index) { app in
                guard index == victim else { return app }
                let failing = FailingExecutor(app)
                failing.failure = failure
                return failing
            }
        }
        return (cluster, victim)
    }

    /// A validator whose storage fails while it checks the proposal stops with that cause. Taking the fault for a
    /// verdict would have it prevote nil at every height from then on, a silent loss of a validator.
    @Test func aLocalFaultWhileCheckingAProposalStopsTheEngineInsteadOfPrevotingNil() throws {
        let fault = ExecutionError.fault("read of state node 0x2a failed: I/O error")
        let (cluster, victim) = try cluster(victimFailingWith: fault)
        #expect(throws: EngineError.execution(fault)) { try cluster.run(untilMs: 5_000) { false } }
        #expect(!cluster.votesSent.contains { $0.validator == SimKeys.publicKeys[victim] })
    }

    /// An invalid block is a verdict: the validator prevotes nil and the others go on.
    @Test func anInvalidProposalIsPrevotedNil() throws {
        let (cluster, victim) = try cluster(victimFailingWith: .invalid(.applicationRule("refused by the test")))
        let others = cluster.nodes.indices.filter { $0 != victim }
        try cluster.run(untilMs: 30_000) { others.allSatisfy { cluster.commits[$0].count >= 2 } }
        #expect(others.allSatisfy { cluster.commits[$0].count >= 2 })
        let prevotes = cluster.votesSent.filter { $0.validator == SimKeys.publicKeys[victim] && $0.kind == .prevote }
        #expect(!prevotes.isEmpty && prevotes.allSatisfy { $0.blockHash == nil })
    }
}
