import AssayCrypto
import AssayLedger
import AssayStorage
import AssayTypes
import Testing

/// Fees, checks, staking, evidence and governance, as stories.
@Suite struct LedgerScenarioTests {
    @Test func failedTransactionPaysFeeAndNonceOnly() throws {
        let chain = try inMemoryChain()
        let sender = testKey(5), recipient = testKey(6)
        let proposerBefore = try chain.query.account(Address(publicKey: chain.proposer)).balance
        let outcome = try chain.commit([
            try chain.sign(sender, .transfer(Transfer(recipient: address(recipient), amount: 5_000_000)), fee: 7)
        ])
        #expect(chain.included(outcome) == .insufficientBalance)
        #expect(try chain.query.account(address(sender)) == Account(balance: 1_000_000 - 7, nonce: 1))
        #expect(try chain.query.account(address(recipient)) == Account(balance: 1_000_000, nonce: 0))
        #expect(try chain.query.account(Address(publicKey: chain.proposer)).balance == proposerBefore + 7)
    }

    @Test func aTransferReportsItsSenderRecipientAndAmount() throws {
        let chain = try inMemoryChain()
        let sender = testKey(5), recipient = testKey(6)
        let outcome = try chain.commit([
            try chain.sign(sender, .transfer(Transfer(recipient: address(recipient), amount: 250)), fee: 7)
        ])
        #expect(chain.included(outcome) == .ok)
        #expect(outcome.results[0].events == [.transferred(sender: address(sender), recipient: address(recipient), amount: 250)])
        #expect(outcome.results[0].events[0].typeAndAttributes.type == "transfer")
    }

    @Test func transactionsFailingChecksAreExcludedAndChangeNothing() throws {
        let chain = try inMemoryChain()
        let sender = testKey(5)
        let body = TransactionBody.transfer(Transfer(recipient: address(testKey(6)), amount: 1))
        let good = try chain.sign(sender, body)
        var forged = good
        forged.fee = 2
        let wrongChain = try Transaction.signed(chainID: "other", nonce: 0, fee: 1, body: body, key: sender)
        let rootBefore = chain.root
        let outcome = try chain.commit([
            try chain.sign(sender, body, offset: 1), forged, wrongChain,
            try chain.sign(sender, body, fee: 0), try chain.sign(testKey(99), body),
        ])
        #expect(outcome.results.map(\.status) == [
            .excluded(.wrongNonce(expected: 0)), .excluded(.badSignature), .excluded(.wrongChainID),
            .excluded(.feeBelowMinimum(minimum: 1)), .excluded(.cannotPayFee),
        ])
        #expect(!outcome.allIncluded)
        #expect(outcome.stateRoot == rootBefore)
    }

    @Test func unbondingIsReleasedAfterUnbondingBlocks() throws {
        let chain = try inMemoryChain()
        let staker = testKey(5)
        let staked = try chain.commit([
            try chain.sign(staker, .stake(Stake(amount: 1_000))),
            try chain.sign(staker, .unstake(Unstake(amount: 400)), offset: 1),
        ])
        #expect(staked.results[0].events == [.bonded(account: address(staker), amount: 1_000)])
        #expect(try chain.query.stake(address(staker)) == StakeRecord(
            bonded: 600, unbonding: [UnbondingEntry(amount: 400, releaseHeight: 31)]))
        try chain.advance(to: 30)
        #expect(try chain.query.stake(address(staker)).unbonding.count == 1)
        let release = try chain.commit([])
        #expect(try chain.query.stake(address(staker)) == StakeRecord(bonded: 600))
        #expect(try chain.query.account(address(staker)).balance == 1_000_000 - 2 - 1_000 + 400)
        #expect(release.endBlockEvents == [.unbondingReleased(account: address(staker), amount: 400)])
        let tooMuch = try chain.commit([try chain.sign(staker, .unstake(Unstake(amount: 601)))])
        #expect(chain.included(tooMuch) == .insufficientStake)
    }

    func doubleSign(_ key: SecretKey, height: Height, chainID: String = "assay-test") throws -> DoubleSignEvidence {
        func vote(_ block: UInt8) throws -> Vote {
            let hash = Hash([UInt8](repeating: block, count: 32))
            let bytes = Vote.signBytes(chainID: chainID, kind: .precommit, height: height, round: 0, blockHash: hash)
            return Vote(kind: .precommit, height: height, round: 0, blockHash: hash, validator: key.publicKey,
                        signature: try key.sign(bytes))
        }
        return try #require(DoubleSignEvidence(try vote(1), try vote(2)))
    }

    @Test func doubleSignSlashesTombstonesAndRemovesAtHPlus2() throws {
        let chain = try inMemoryChain()
        let cheater = testKey(2), reporter = testKey(5)
        try chain.advance(to: 2)
        let outcome = try chain.commit([try chain.sign(reporter, .evidence(try doubleSign(cheater, height: 2)))])
        #expect(chain.included(outcome) == .ok)
        #expect(try chain.query.stake(address(cheater)).bonded == 9_000)
        #expect(try chain.query.totals().burned == 1_000)
        #expect(try chain.query.validator(cheater.publicKey) == ValidatorRecord(power: 0, tombstoned: true, nodeKey: nodeKey(2)))
        #expect(outcome.validatorUpdates == [Validator(publicKey: cheater.publicKey, power: 0)])
        #expect(outcome.effectiveHeight == 5)
        #expect(chain.validators(at: 4).power(of: cheater.publicKey) == 10)
        #expect(chain.validators(at: 5).power(of: cheater.publicKey) == 0)

        let again = try chain.commit([try chain.sign(reporter, .evidence(try doubleSign(cheater, height: 3)))])
        #expect(chain.included(again) == .alreadyTombstoned)
        let readd = try chain.commit([
            try chain.sign(testKey(1), .governancePropose(GovernanceProposal(action: .addValidator(cheater.publicKey, power: 10, nodeKey: nodeKey(20)))))
        ])
        #expect(chain.included(readd) == .invalidProposal)
    }

    @Test func evidenceOlderThanTheUnbondingPeriodIsRejected() throws {
        let chain = try inMemoryChain()
        try chain.advance(to: 31)
        let old = try chain.commit([try chain.sign(testKey(5), .evidence(try doubleSign(testKey(2), height: 1)))])
        #expect(chain.included(old) == .evidenceTooOld)
        #expect(try chain.query.validator(testKey(2).publicKey) == ValidatorRecord(power: 10, nodeKey: nodeKey(2)))
        let foreign = try chain.commit([
            try chain.sign(testKey(5), .evidence(try doubleSign(testKey(2), height: 30, chainID: "other")))
        ])
        #expect(chain.included(foreign) == .invalidEvidence)
    }

    @Test func stakeIsSlashableWhileUnbonding() throws {
        let chain = try inMemoryChain()
        let validator = testKey(3)
        try chain.commit([try chain.sign(validator, .unstake(Unstake(amount: 10_000)))])
        #expect(try chain.query.stake(address(validator)) == StakeRecord(
            bonded: 0, unbonding: [UnbondingEntry(amount: 10_000, releaseHeight: 31)]))
        try chain.commit([try chain.sign(testKey(5), .evidence(try doubleSign(validator, height: 1)))])
        #expect(try chain.query.stake(address(validator)).unbonding == [UnbondingEntry(amount: 9_000, releaseHeight: 31)])
        try chain.advance(to: 31)
        #expect(try chain.query.stake(address(validator)).isEmpty)
        #expect(try chain.query.account(address(validator)).balance == 100_000 - 1 + 9_000)
    }

    @Test func governanceAddsAndRemovesValidatorsAtHPlus2() throws {
        let chain = try inMemoryChain()
        let newcomer = testKey(20)
        let propose = try chain.sign(testKey(1), .governancePropose(GovernanceProposal(action: .addValidator(newcomer.publicKey, power: 10, nodeKey: nodeKey(20)))))
        let first = try chain.commit([propose, try chain.sign(testKey(2), .governanceVote(GovernanceVote(proposalID: propose.hash, approve: true)))])
        #expect(first.results.map(\.status) == [.included(.ok), .included(.ok)])
        #expect(first.results[1].events == [.voteCast(proposal: propose.hash, voter: testKey(2).publicKey, approve: true)])
        #expect(first.validatorUpdates.isEmpty)  // 20 of 40 is not over two thirds
        let pass = try chain.commit([try chain.sign(testKey(3), .governanceVote(GovernanceVote(proposalID: propose.hash, approve: true)))])
        #expect(pass.validatorUpdates == [Validator(publicKey: newcomer.publicKey, power: 10)])
        #expect(try chain.query.proposal(propose.hash)?.status == .passed)
        #expect(chain.validators(at: 3).power(of: newcomer.publicKey) == 0)
        #expect(chain.validators(at: 4).power(of: newcomer.publicKey) == 10)
        let late = try chain.commit([try chain.sign(testKey(4), .governanceVote(GovernanceVote(proposalID: propose.hash, approve: true)))])
        #expect(chain.included(late) == .proposalClosed)

        // At height 4 the set has five members (50 power): removal needs four yes votes.
        try chain.commit([])
        let remove = try chain.sign(testKey(1), .governancePropose(GovernanceProposal(action: .removeValidator(testKey(4).publicKey))))
        let votes = try [2, 3, 4].map { try chain.sign(testKey(UInt8($0)), .governanceVote(GovernanceVote(proposalID: remove.hash, approve: true))) }
        let removal = try chain.commit([remove] + votes)
        #expect(removal.results.allSatisfy { $0.status == .included(.ok) })
        #expect(removal.validatorUpdates == [Validator(publicKey: testKey(4).publicKey, power: 0)])
        #expect(chain.validators(at: 6).power(of: testKey(4).publicKey) == 10)
        #expect(chain.validators(at: 7).power(of: testKey(4).publicKey) == 0)
        // The records hold each node key, the removed validator's too (peers allow it while it still votes).
        #expect(try chain.query.validator(newcomer.publicKey) == ValidatorRecord(power: 10, nodeKey: nodeKey(20)))
        #expect(try chain.query.validator(testKey(4).publicKey) == ValidatorRecord(power: 0, nodeKey: nodeKey(4)))
    }

    /// A node key is a key of the validator's own: never its own or another validator's consensus key, never
    /// another validator's node key (refused as invalid proposals, nothing stored); a validator may change its own.
    @Test func anAdditionWhoseNodeKeyMixesRolesIsRefused() throws {
        let chain = try inMemoryChain()
        let newcomer = testKey(20).publicKey
        let mixed: [PublicKey] = [newcomer, testKey(2).publicKey, nodeKey(3)]
        for nodeKey in mixed {
            let action = ProposalAction.addValidator(newcomer, power: 10, nodeKey: nodeKey)
            let outcome = try chain.commit([try chain.sign(testKey(1), .governancePropose(GovernanceProposal(action: action)))])
            #expect(chain.included(outcome) == .invalidProposal)
        }
        // A new consensus key that is already some validator's node key is refused too.
        let taken = ProposalAction.addValidator(nodeKey(3), power: 10, nodeKey: testKey(21).publicKey)
        let refused = try chain.commit([try chain.sign(testKey(1), .governancePropose(GovernanceProposal(action: taken)))])
        #expect(chain.included(refused) == .invalidProposal)
        #expect(try chain.query.validator(newcomer) == nil)
        let rotate = ProposalAction.addValidator(testKey(2).publicKey, power: 10, nodeKey: nodeKey(30))
        let proposal = try chain.sign(testKey(2), .governancePropose(GovernanceProposal(action: rotate)))
        let votes = try [1, 3].map { try chain.sign(testKey(UInt8($0)), .governanceVote(GovernanceVote(proposalID: proposal.hash, approve: true))) }
        let passed = try chain.commit([proposal] + votes)
        #expect(passed.results.allSatisfy { $0.status == .included(.ok) })
        #expect(try chain.query.validator(testKey(2).publicKey)?.nodeKey == nodeKey(30))
    }

    /// An addition whose set would break ValidatorSet's bounds (here a total power of 2^62 with the four genesis
    /// validators' 40) is refused: such a set, handed to consensus at H + 2, would stop every node at that commit.
    @Test func anAdditionPastTheSetBoundsIsRefused() throws {
        let chain = try inMemoryChain()
        let giant = GovernanceProposal(action: .addValidator(testKey(20).publicKey, power: (1 << 62) - 10, nodeKey: nodeKey(20)))
        let refused = try chain.commit([try chain.sign(testKey(1), .governancePropose(giant))])
        #expect(chain.included(refused) == .invalidProposal)
        let fits = GovernanceProposal(action: .addValidator(testKey(20).publicKey, power: (1 << 62) - 41, nodeKey: nodeKey(20)))
        let accepted = try chain.commit([try chain.sign(testKey(1), .governancePropose(fits))])
        #expect(accepted.results.map(\.status) == [.included(.ok)])
    }

    @Test func nonValidatorsCannotProposeOrVote() throws {
        let chain = try inMemoryChain()
        let outsider = testKey(5)
        let proposal = try chain.sign(testKey(1), .governancePropose(GovernanceProposal(action: .setParameter(name: "min_fee", value: 2))))
        let outcome = try chain.commit([
            try chain.sign(outsider, .governancePropose(GovernanceProposal(action: .addValidator(outsider.publicKey, power: 10, nodeKey: nodeKey(21))))),
            proposal,
            try chain.sign(outsider, .governanceVote(GovernanceVote(proposalID: proposal.hash, approve: true)), offset: 1),
        ])
        #expect(outcome.results.map(\.status) == [.included(.notValidator), .included(.ok), .included(.notValidator)])
        try chain.advance(to: 6)
        #expect(try chain.query.proposal(proposal.hash)?.status == .expired)
        #expect(try chain.query.params().minFee == 1)
    }

    @Test func parameterChangeAppliesFromTheNextBlock() throws {
        let chain = try inMemoryChain()
        let proposal = try chain.sign(testKey(1), .governancePropose(GovernanceProposal(action: .setParameter(name: "min_fee", value: 5))))
        let votes = try [2, 3].map { try chain.sign(testKey(UInt8($0)), .governanceVote(GovernanceVote(proposalID: proposal.hash, approve: true))) }
        let outcome = try chain.commit([proposal] + votes)
        #expect(outcome.results[2].events.contains(.parameterChanged(name: "min_fee", value: 5)))
        #expect(try chain.query.params().minFee == 5)
        let cheap = try chain.commit([try chain.sign(testKey(5), .stake(Stake(amount: 1)), fee: 4)])
        #expect(cheap.results[0].status == .excluded(.feeBelowMinimum(minimum: 5)))
        let invalid = try chain.commit([
            try chain.sign(testKey(1), .governancePropose(GovernanceProposal(action: .setParameter(name: "take_rate_bps", value: 10_001))), fee: 5),
            try chain.sign(testKey(2), .governancePropose(GovernanceProposal(action: .setParameter(name: "no_such", value: 1))), fee: 5),
        ])
        #expect(invalid.results.map(\.status) == [.included(.invalidProposal), .included(.invalidProposal)])
    }

    @Test func genesisNeedsAnEmptyStoreAndBlocksNeedTheirParent() throws {
        let chain = try inMemoryChain()
        #expect(throws: LedgerError.storeNotEmpty) { try Ledger().genesis(chain.genesis, store: chain.store) }
        let context = BlockContext(
            chainID: chain.chainID, height: 1, timeMs: 0, proposer: chain.proposer, validators: chain.genesis.validators)
        let wrongParent = Hash([UInt8](repeating: 9, count: 32))
        #expect(throws: LedgerError.parentRootMismatch(expected: wrongParent, stored: chain.root)) {
            try Ledger().execute(parentRoot: wrongParent, store: chain.store, context: context, transactions: [])
        }
    }

    @Test func aRoundThatIsNotCommittedLeavesNoTrace() throws {
        let chain = try inMemoryChain()
        let context = BlockContext(
            chainID: chain.chainID, height: 1, timeMs: 0, proposer: chain.proposer, validators: chain.genesis.validators)
        // Round 0's block is executed but never committed; round 1's block is the one decided.
        let dropped = try chain.ledger.execute(
            parentRoot: chain.root, store: chain.store, context: context,
            transactions: [try chain.sign(testKey(5), .transfer(Transfer(recipient: address(testKey(6)), amount: 7)))])
        #expect(dropped.stateRoot != chain.root)
        let decided = try chain.commit([try chain.sign(testKey(5), .transfer(Transfer(recipient: address(testKey(7)), amount: 9)))])
        #expect(try chain.query.account(address(testKey(6))).balance == 1_000_000)
        #expect(try chain.query.account(address(testKey(7))).balance == 1_000_009)
        // A replica that only ever saw the decided block reaches the same root.
        let fresh = try Chain(store: InMemoryStore(), genesis: chain.genesis)
        try fresh.commit([try fresh.sign(testKey(5), .transfer(Transfer(recipient: address(testKey(7)), amount: 9)))])
        #expect(fresh.root == decided.stateRoot)
    }
}
