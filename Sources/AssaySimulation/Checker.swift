import AssayCodec
import AssayCrypto
import AssayEngine
import AssayLedger
import AssaySafetyRules
import AssayTypes

/// The invariants a scenario is held to.
public enum Invariant: Int, CaseIterable, Sendable, CustomStringConvertible {
    /// No two honest engines commit different blocks at one height.
    case agreement
    /// A committed block was proposed and extends the block before it.
    case validity
    /// Every honest engine stores, after each height, the state root its block names.
    case stateRoots
    /// Balances, stakes, escrows and burned credits add up to the genesis supply, and none is out of range.
    case conservation
    /// Headers, every engine's chain tip and the ledger's validator records agree on each height's set.
    case validatorSets
    /// No honest key signs two different messages for one step, across crashes.
    case doubleSign
    /// No honest engine stops on a fault.
    case running
    /// Every honest engine reaches the target height after the faults heal.
    case liveness

    public var description: String {
        switch self {
        case .agreement: "agreement"
        case .validity: "validity"
        case .stateRoots: "state roots"
        case .conservation: "conservation"
        case .validatorSets: "validator sets"
        case .doubleSign: "double sign"
        case .running: "running"
        case .liveness: "liveness"
        }
    }
}

/// Checks the invariants as the scenario runs, at every height every honest engine commits, and counts the checks.
final class Checker: @unchecked Sendable {  // confined to its scenario's thread
    private let genesisSupply: Amount
    private(set) var violations: [String] = []
    /// Checks made, by invariant (its raw value).
    private(set) var checkCounts = [Int](repeating: 0, count: Invariant.allCases.count)
    private var agreed: [Height: (hash: Hash, root: Hash)] = [:]
    private var proposed: Set<Hash> = []
    private var signed: [SigningStep: [UInt8]] = [:]
    /// The set of each height, from genesis on as the first commit of each height changes it (block h: set h + 2).
    private var sets: [Height: ValidatorSet]
    /// Heights whose block changed the validator set.
    private(set) var changeHeights: [Height] = []
    /// Committed transactions by kind (`TransactionBody.kindName`).
    private(set) var transactionKinds: [String: Int] = [:]
    private(set) var roundsTotal: UInt64 = 0
    private(set) var roundMax: Round = 0

    init(genesisValidators: ValidatorSet, genesisSupply: Amount) {
        self.genesisSupply = genesisSupply
        sets = [1: genesisValidators, 2: genesisValidators]
    }

    func fail(_ invariant: Invariant, _ message: String) { violations.append("\(invariant): \(message)") }

    func checking(_ invariant: Invariant) { checkCounts[invariant.rawValue] += 1 }

    func sawProposal(_ blockHash: Hash) { proposed.insert(blockHash) }

    var heightsAgreed: Int { agreed.count }

    /// An honest engine committed `block`, whose execution gave validator `changes`; `disk` holds its state after it.
    func committed(_ block: Block, changes: [Validator], engine: Int, disk: SimulatedDisk) {
        guard checkAgreement(block, changes: changes, engine: engine) else { return }
        checkStateRoot(block, engine: engine, disk: disk)
        checkConservation(height: block.height, engine: engine, disk: disk)
        checkValidatorSets(block, engine: engine, disk: disk)
    }

    /// Agreement with the first commit of the height; the first commit is checked for validity and sets the
    /// height's block and the set its changes make. False when the height cannot be checked further.
    private func checkAgreement(_ block: Block, changes: [Validator], engine: Int) -> Bool {
        let height = block.height
        checking(.agreement)
        if let first = agreed[height] {
            if first.hash != block.hash { fail(.agreement, "engine \(engine) committed a different block at \(height)") }
            return first.hash == block.hash
        }
        checking(.validity)
        let previous = height > 1 ? agreed[height - 1] : (hash: Hash.zero, root: Hash.zero)
        guard let previous, let following = sets[height + 1] else {
            fail(.validity, "height \(height) committed before \(height - 1)")
            return false
        }
        if !proposed.contains(block.hash) { fail(.validity, "block at \(height) was never proposed") }
        if block.header.previousBlockHash != previous.hash { fail(.validity, "block \(height) does not extend \(height - 1)") }
        agreed[height] = (block.hash, block.header.stateRoot)
        do { sets[height + 2] = try following.applying(changes) } catch {
            fail(.validatorSets, "the changes of block \(height) break the set: \(error)")
            return false
        }
        if !changes.isEmpty { changeHeights.append(height) }
        for transaction in block.transactions { transactionKinds[transaction.body.kindName, default: 0] += 1 }
        if let commit = block.lastCommit {
            roundsTotal += UInt64(commit.round) + 1
            roundMax = max(roundMax, commit.round)
        }
        return true
    }

    private func checkStateRoot(_ block: Block, engine: Int, disk: SimulatedDisk) {
        checking(.stateRoots)
        let stored = try? Ledger.stateRoot(of: disk)
        if stored != block.header.stateRoot {
            fail(.stateRoots, "engine \(engine) stores \(stored.map(\.description) ?? "no") state root after height "
                + "\(block.height), its block names \(block.header.stateRoot)")
        }
    }

    /// Credits are conserved: balances + stakes (bonded and unbonding) + job escrows + burned = the genesis supply.
    /// Amounts are unsigned, so one that went below zero wraps above the supply: each is checked against it.
    private func checkConservation(height: Height, engine: Int, disk: SimulatedDisk) {
        checking(.conservation)
        let query = LedgerQuery(store: disk)
        guard let accounts = try? query.accounts(), let stakes = try? query.stakes(), let jobs = try? query.jobs(),
            let totals = try? query.totals()
        else { return fail(.conservation, "engine \(engine) cannot read its state at height \(height)") }
        let amounts = accounts.map(\.account.balance) + stakes.map(\.stake.slashable) + jobs.map(\.job.escrow)
            + [totals.burned]
        var sum: Amount = 0
        for amount in amounts {
            let (next, overflow) = sum.addingReportingOverflow(amount)
            guard amount <= genesisSupply, !overflow else {
                return fail(.conservation, "engine \(engine) holds an amount out of range (\(amount)) at height \(height)")
            }
            sum = next
        }
        if sum != genesisSupply || totals.genesisSupply != genesisSupply {
            fail(.conservation, "engine \(engine) holds \(sum) credits at height \(height), the supply is \(genesisSupply)")
        }
    }

    /// The header names the sets of its height and the next, the last commit's signers belong to the previous
    /// height's set, the engine's tip holds the sets of this height and the next two, and the ledger's validator
    /// records are the set two heights on (where its changes take effect).
    private func checkValidatorSets(_ block: Block, engine: Int, disk: SimulatedDisk) {
        checking(.validatorSets)
        let height = block.height
        guard let current = sets[height], let next = sets[height + 1], let following = sets[height + 2] else { return }
        if block.header.validatorSetHash != current.hash { fail(.validatorSets, "block \(height) names another set") }
        if block.header.nextValidatorSetHash != next.hash { fail(.validatorSets, "block \(height) names another next set") }
        if let commit = block.lastCommit, let previous = sets[height - 1],
            commit.signatures.contains(where: { previous.power(of: $0.validator) == 0 })
        {
            fail(.validatorSets, "the commit of block \(height - 1) has a signer outside its set")
        }
        guard let tip = try? ChainStore(store: disk).tip(), tip.height == height else {
            return fail(.validatorSets, "engine \(engine) has no tip at \(height) on its disk")
        }
        if tip.lastValidators != current || tip.nextRotation.validators != next
            || tip.followingRotation.validators != following
        {
            fail(.validatorSets, "engine \(engine) holds other sets than the chain's at heights \(height) to \(height + 2)")
        }
        let query = LedgerQuery(store: disk)
        if SimKeys.publicKeys.contains(where: { ((try? query.validator($0))?.power ?? 0) != following.power(of: $0) }) {
            fail(.validatorSets, "engine \(engine)'s ledger records other powers than its set of height \(height + 2)")
        }
    }

    /// An honest key signed `bytes`: the same step must never get different bytes, even across crashes.
    func signedByHonest(key: Int, bytes: [UInt8]) {
        checking(.doubleSign)
        guard let step = SigningStep(key: key, signBytes: bytes) else { return fail(.doubleSign, "unparseable sign bytes") }
        if let earlier = signed[step] {
            if earlier != bytes { fail(.doubleSign, "honest key \(key) signed twice at \(step)") }
        } else {
            signed[step] = bytes
        }
    }
}

/// Key, height, round and step of a signature, read back from the canonical sign bytes.
struct SigningStep: Hashable, CustomStringConvertible {
    let key: Int
    let height: Height
    let round: Round
    /// 0 for a proposal, else the vote kind.
    let step: UInt8

    init?(key: Int, signBytes: [UInt8]) {
        var reader = CanonicalReader(signBytes)
        guard let domain = try? reader.readString(bound: 64), (try? reader.readString(bound: 64)) != nil else {
            return nil
        }
        self.key = key
        switch domain {
        case "assay/vote/v1":
            guard let kind = try? reader.readUInt8() else { return nil }
            step = kind
        case "assay/proposal/v1":
            step = 0
        default:
            return nil
        }
        guard let height = try? reader.readUInt64(), let round = try? reader.readUInt32() else { return nil }
        self.height = height
        self.round = round
    }

    var description: String { "height \(height) round \(round) step \(step)" }
}

/// Reports every signature of an honest key to the checker before handing it out.
struct RecordingSigner: Signer {
    let inner: any Signer
    let key: Int
    let checker: Checker

    var publicKey: PublicKey { inner.publicKey }

    func sign(_ message: [UInt8]) throws(CryptoError) -> Signature {
        checker.signedByHonest(key: key, bytes: message)
        return try inner.sign(message)
    }
}
