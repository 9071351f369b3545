import AssayConsensus
import AssayCrypto
import AssayTypes

/// Deterministic test keys, sorted so that `keys[0] < keys[1] < ...` (the validator set's order).
let testKeys: [PublicKey] = (0..<8).map { index in
    try! SecretKey(bytes: SHA256.hash(Array("assay/consensus-test/\(index)".utf8)).bytes).publicKey
}.sorted()

let placeholderSignature = try! Signature(bytes: [UInt8](repeating: 7, count: 64))

func value(_ name: String) -> Hash { SHA256.hash(Array(name.utf8)) }

/// One core under test ("me") fed the messages of the other validators by hand: a story is a
/// sequence of inputs and the effects they cause. The core does not check signatures (the engine does),
/// so messages carry a placeholder.
struct CoreHarness {
    var core: ConsensusState
    let validators: ValidatorSet
    let me: PublicKey
    let height: Height = 1
    private(set) var effects: [Effect] = []

    /// `me` is validator `meIndex`, or by default validator 0 or 1, whichever does not propose round 0.
    init(powers: [UInt64] = [1, 1, 1, 1], meIndex: Int? = nil) {
        let validators = try! ValidatorSet(
            powers.enumerated().map { Validator(publicKey: testKeys[$0.offset], power: $0.element) })
        let roundZeroProposer = ProposerRotation(validators: validators).proposer
        self.validators = validators
        me = testKeys[meIndex ?? (testKeys[0] == roundZeroProposer ? 1 : 0)]
        core = ConsensusState(me: me)
    }

    var meIndex: Int { testKeys.firstIndex(of: me)! }

    /// The other validators, in order.
    func others(_ count: Int) -> [Int] { Array((0..<validators.count).filter { $0 != meIndex }.prefix(count)) }

    var rotation: ProposerRotation { ProposerRotation(validators: validators) }

    /// Index of the proposer of `round`.
    func proposer(_ round: Round) -> Int { testKeys.firstIndex(of: rotation.proposer(round: round))! }

    /// The first round at or after `start` whose proposer is (or is not) me.
    func round(from start: Round, proposerIsMe: Bool) -> Round {
        var round = start
        while (testKeys[proposer(round)] == me) != proposerIsMe { round += 1 }
        return round
    }

    @discardableResult
    mutating func apply(_ input: Input) -> [Effect] {
        let produced = core.apply(input)
        effects += produced
        return produced
    }

    mutating func start() { apply(.startHeight(height, rotation)) }

    func vote(_ kind: VoteKind, by index: Int, round: Round, _ blockHash: Hash?) -> Vote {
        Vote(kind: kind, height: height, round: round, blockHash: blockHash, validator: testKeys[index],
             signature: placeholderSignature)
    }

    @discardableResult
    mutating func votes(_ kind: VoteKind, from indices: [Int], round: Round, _ blockHash: Hash?) -> [Effect] {
        indices.flatMap { apply(.vote(vote(kind, by: $0, round: round, blockHash))) }
    }

    /// The round's proposer proposes `blockHash` and the execution layer judges it.
    @discardableResult
    mutating func proposal(round: Round, _ blockHash: Hash, pol: Round? = nil, valid: Bool = true) -> [Effect] {
        let proposal = Proposal(
            height: height, round: round, proofOfLockRound: pol, blockHash: blockHash,
            proposer: testKeys[proposer(round)], signature: placeholderSignature)
        var produced = apply(.proposal(proposal))
        if produced.contains(.validateBlock(blockHash)) { produced += apply(.blockVerdict(blockHash, valid: valid)) }
        return produced
    }

    /// Feeds back what the engine would: own votes signed and applied.
    @discardableResult
    mutating func echoOwnVotes(_ produced: [Effect]) -> [Effect] {
        var more: [Effect] = []
        for effect in produced {
            if case let .vote(kind, _, round, blockHash) = effect {
                more += apply(.vote(vote(kind, by: meIndex, round: round, blockHash)))
            }
        }
        return more
    }

    func ownVote(_ kind: VoteKind, in produced: [Effect]) -> Hash?? {
        for effect in produced {
            if case let .vote(k, _, _, blockHash) = effect, k == kind { return .some(blockHash) }
        }
        return .none
    }
}
