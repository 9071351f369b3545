import AssayCodec
import AssayCrypto
import AssaySafetyRules
import AssayTypes

/// The invariants checked as the scenario runs: agreement, validity, equal state roots, and no
/// honest key signing two different messages for one step, across crashes.
final class Checker: @unchecked Sendable {  // confined to its scenario's thread
    private let chainID: String
    /// The validator set of each height (index 0: genesis), as the scenario's changes make it.
    private let validatorSets: [ValidatorSet]
    private(set) var violations: [String] = []
    private var agreed: [Height: (hash: Hash, root: Hash)] = [:]
    private var proposed: Set<Hash> = []
    private var signed: [SigningStep: [UInt8]] = [:]
    private(set) var roundsTotal: UInt64 = 0
    private(set) var roundMax: Round = 0

    init(chainID: String, validatorSets: [ValidatorSet]) {
        self.chainID = chainID
        self.validatorSets = validatorSets
    }

    func fail(_ message: String) { violations.append(message) }

    func sawProposal(_ blockHash: Hash) { proposed.insert(blockHash) }

    /// An honest engine committed `block`.
    func committed(_ block: Block, engine: Int) {
        let height = block.height
        if let first = agreed[height] {
            if first.hash != block.hash { fail("agreement: engine \(engine) committed a different block at \(height)") }
            if first.root != block.header.stateRoot { fail("state roots differ at height \(height)") }
            return
        }
        let previous = height > 1 ? agreed[height - 1] : (hash: Hash.zero, root: Hash.zero)
        guard let previous else { return fail("height \(height) committed before \(height - 1)") }
        if !proposed.contains(block.hash) { fail("validity: block at \(height) was never proposed") }
        if block.header.previousBlockHash != previous.hash { fail("validity: block \(height) does not extend \(height - 1)") }
        let root = try? KeyValueApplication.nextRoot(
            after: previous.root, height: height, transactions: block.transactions, chainID: chainID)
        if root != block.header.stateRoot { fail("validity: block \(height) is invalid or has a wrong state root") }
        checkValidatorSets(block)
        agreed[height] = (block.hash, block.header.stateRoot)
        if let commit = block.lastCommit {
            roundsTotal += UInt64(commit.round) + 1
            roundMax = max(roundMax, commit.round)
        }
    }

    var heightsAgreed: Int { agreed.count }

    /// Validator set agreement: the header names the sets of its height and the next, and the last commit's
    /// signers all belong to the previous height's set, which each change reaches exactly two heights on.
    private func checkValidatorSets(_ block: Block) {
        let height = Int(block.height)
        guard height + 1 < validatorSets.count else { return }
        if block.header.validatorSetHash != validatorSets[height].hash {
            fail("validator sets: block \(height) names another set than its height's")
        }
        if block.header.nextValidatorSetHash != validatorSets[height + 1].hash {
            fail("validator sets: block \(height) names another next set")
        }
        if let commit = block.lastCommit,
            commit.signatures.contains(where: { validatorSets[height - 1].power(of: $0.validator) == 0 })
        {
            fail("validator sets: the commit of block \(height - 1) has a signer outside its set")
        }
    }

    /// An honest key signed `bytes`: the same step must never get different bytes, even across crashes.
    func signedByHonest(key: Int, bytes: [UInt8]) {
        guard let step = SigningStep(key: key, signBytes: bytes) else { return fail("unparseable sign bytes") }
        if let earlier = signed[step] {
            if earlier != bytes { fail("double sign: honest key \(key) signed twice at \(step)") }
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
