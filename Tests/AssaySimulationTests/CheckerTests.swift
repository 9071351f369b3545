import AssayCrypto
import AssayEngine
import AssayLedger
import AssayStorage
import AssayTypes
import Testing
@testable import AssaySimulation

/// The checkers must be able to fail: each is fed a violation by hand, or a scenario runs a node broken on purpose.
@Suite struct CheckerTests {
    private let chainID = SimChain.chainID
    private let validators = try! ValidatorSet([Validator(publicKey: SimKeys.publicKeys[0], power: 1)])

    private func block(height: Height, amount: Amount) -> Block {
        let transactions = [
            SimKeys.signed(SimKeys.accountSecrets[0], nonce: 0, fee: 1,
                body: .transfer(Transfer(recipient: Address(publicKey: SimKeys.publicKeys[1]), amount: amount)))
        ]
        let header = Header(
            chainID: chainID, height: height, timeMs: height, previousBlockHash: .zero, lastCommitHash: .zero,
            transactionsRoot: Block.transactionsRoot(transactions), stateRoot: SHA256.hash([9]), validatorSetHash: validators.hash,
            nextValidatorSetHash: validators.hash, proposer: SimKeys.publicKeys[0])
        return Block(header: header, transactions: transactions, lastCommit: nil)
    }

    private func violations(_ checker: Checker, of invariant: Invariant) -> [String] {
        checker.violations.filter { $0.hasPrefix("\(invariant):") }
    }

    @Test func twoBlocksAtOneHeightBreakAgreement() {
        let checker = Checker(genesisValidators: validators, genesisSupply: 1)
        let (a, b) = (block(height: 1, amount: 1), block(height: 1, amount: 2))
        checker.sawProposal(a.hash)
        checker.sawProposal(b.hash)
        checker.committed(a, changes: [], engine: 0, disk: SimulatedDisk())
        #expect(violations(checker, of: .agreement).isEmpty)
        checker.committed(b, changes: [], engine: 1, disk: SimulatedDisk())
        #expect(violations(checker, of: .agreement).count == 1)
    }

    @Test func aBlockNobodyProposedBreaksValidityAndAnEmptyDiskItsRoots() {
        let checker = Checker(genesisValidators: validators, genesisSupply: 1)
        checker.committed(block(height: 1, amount: 1), changes: [], engine: 0, disk: SimulatedDisk())
        #expect(violations(checker, of: .validity).contains { $0.contains("never proposed") })
        #expect(violations(checker, of: .stateRoots).count == 1)
        #expect(violations(checker, of: .conservation).count == 1)
    }

    @Test func anHonestKeySigningTwoVotesAtOneStepIsCaught() {
        let checker = Checker(genesisValidators: validators, genesisSupply: 1)
        let first = Vote.signBytes(chainID: chainID, kind: .prevote, height: 3, round: 1, blockHash: nil)
        let second = Vote.signBytes(chainID: chainID, kind: .prevote, height: 3, round: 1, blockHash: SHA256.hash([1]))
        checker.signedByHonest(key: 2, bytes: first)
        checker.signedByHonest(key: 2, bytes: first)
        #expect(checker.violations.isEmpty, "re-signing identical bytes is fine")
        checker.signedByHonest(key: 2, bytes: second)
        #expect(violations(checker, of: .doubleSign).count == 1)
    }

    /// A seeded bug: engine 0's application credits an account out of nothing with every block it commits.
    @Test func aNodeWhoseApplicationMintsBreaksConservation() {
        let report = run(BrokenApplication.Bug.mints)
        #expect(report.violations.count == 1)
        #expect(report.violations.allSatisfy { $0.hasPrefix("conservation: engine 0 holds") }, "\(report.violations)")
    }

    /// A seeded bug: engine 0's application hands its engine a validator nobody else added.
    @Test func aNodeWithAnotherValidatorSetIsCaught() {
        let report = run(BrokenApplication.Bug.addsValidator)
        #expect(report.violations.count == 1)
        #expect(report.violations.allSatisfy { $0.hasPrefix("validator sets: engine 0") }, "\(report.violations)")
    }

    /// A calm scenario whose engine 0 runs `bug`; the same scenario passes without it.
    private func run(_ bug: BrokenApplication.Bug) -> ScenarioReport {
        var options = SimulationOptions(engines: 4, profile: .calm)
        #expect(Simulation.run(seed: 3, options: options).passed)
        options.wrapApplication = { index, app, disk in index == 0 ? BrokenApplication(app, bug: bug, disk: disk) as any BlockExecutor : app }
        return Simulation.run(seed: 3, options: options)
    }
}

/// The real application with one rule broken at commit.
final class BrokenApplication: BlockExecutor {
    enum Bug {
        /// Adds one credit to an account no transaction touches, at every commit.
        case mints
        /// Adds a validator of power 1 at height 1.
        case addsValidator
    }

    static let mintedTo = Address(publicKey: try! SecretKey(bytes: [UInt8](repeating: 0, count: 31) + [99]).publicKey)

    let inner: SimLedgerApplication
    let bug: Bug
    let disk: SimulatedDisk

    init(_ inner: SimLedgerApplication, bug: Bug, disk: SimulatedDisk) {
        self.inner = inner
        self.bug = bug
        self.disk = disk
    }

    func transactionsForNewBlock(_ context: ExecutionContext) throws(ExecutionError) -> [Transaction] {
        try inner.transactionsForNewBlock(context)
    }

    func execute(_ context: ExecutionContext, transactions: [Transaction]) throws(ExecutionError) -> Hash {
        try inner.execute(context, transactions: transactions)
    }

    func commitWrites(for block: Block, validators: ValidatorSet, into batch: inout WriteBatch)
        throws(ExecutionError) -> [Validator]
    {
        var changes = try inner.commitWrites(for: block, validators: validators, into: &batch)
        switch bug {
        case .mints:
            let minted = Account(balance: ((try? LedgerQuery(store: disk).account(Self.mintedTo))?.balance ?? 0) + 1)
            batch.put(StateKey.account(Self.mintedTo), minted.canonicalBytes, in: LedgerNamespace.state)
        case .addsValidator where block.height == 1:
            changes.append(Validator(publicKey: SimKeys.publicKeys[SimKeys.countMax - 1], power: 1))
        case .addsValidator:
            break
        }
        return changes
    }

    func didCommit(_ block: Block) throws(ExecutionError) { try inner.didCommit(block) }
}
