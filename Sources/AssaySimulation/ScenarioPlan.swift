import AssayCrypto
import AssayTypes

/// Everything a seed decides about a scenario, drawn before it runs.
struct ScenarioPlan: Sendable {
    /// Faults stop early once an honest engine reaches this height, which bounds a scenario's work.
    static let heightCap: UInt64 = 4
    static let livenessBoundMs: UInt64 = 60_000

    let seed: UInt64
    let profile: FaultProfile
    let engineCount: Int
    /// Validator key index of each engine; twins share one.
    let keyOfEngine: [Int]
    /// Voting power of each validator key.
    let powers: [UInt64]
    /// The key whose engines may misbehave (twins or equivocation); its power is under a third.
    let byzantineKey: Int?
    let twins: Bool
    let equivocatingProposer: Bool
    let realSignatures: Bool
    let faultEndMs: UInt64
    let network: NetworkConditions
    let partitions: [PartitionWindow]
    let crashes: [CrashPlan]
    /// Governance proposals the validators pass in turn (each effective two heights after the block that passes
    /// it): a validator added (the last engine, which starts as a follower), an honest one removed, and an honest
    /// one's power changed.
    let governanceActions: [ProposalAction]

    var validatorCount: Int { powers.count }

    init(seed: UInt64, engineCount requested: Int?, profile chosen: FaultProfile?) {
        var random = SimRandom(seed: seed)
        self.seed = seed
        profile = chosen ?? .forSeed(seed)
        let changesSet = random.chance(permille: 500)
        // A scenario with set changes runs one more engine: the validator that joins.
        engineCount = (requested ?? random.int(4...10)) + (changesSet ? 1 : 0)
        realSignatures = seed % 20 == 0
        faultEndMs = UInt64(random.int(2_000...10_000))

        let byzantine = profile.hasByzantine
        twins = byzantine && random.chance(permille: 700)
        equivocatingProposer = byzantine && (!twins || random.chance(permille: 500))
        let joiners = changesSet ? 1 : 0
        let validators = (twins ? engineCount - 1 : engineCount) - joiners
        let genesisEngines = engineCount - joiners
        keyOfEngine = (0..<engineCount).map { $0 < genesisEngines ? min($0, validators - 1) : validators }
        byzantineKey = byzantine ? validators - 1 : nil
        powers = Self.drawPowers(validators, byzantineKey: byzantineKey, unequal: random.chance(permille: 500), &random)

        network = profile.hasLoss ? Self.lossyNetwork(&random) : Self.mildNetwork(profile, &random)
        partitions = profile.hasPartitions ? Self.drawPartitions(engineCount, faultEndMs, &random) : []
        crashes = profile.hasCrashes ? Self.drawCrashes(engineCount, faultEndMs, &random) : []
        governanceActions =
            changesSet ? Self.drawValidatorChanges(powers, joiner: validators, byzantineKey: byzantineKey, &random) : []
    }

    var genesisValidators: ValidatorSet {
        try! ValidatorSet(powers.enumerated().map { Validator(publicKey: SimKeys.publicKeys[$0.offset], power: $0.element) })
    }

    /// Adds `joiner`, then removes an honest validator, then changes another honest one's power. The joiner's power
    /// is raised until the Byzantine key keeps under a third of every set's power (2 b < honest).
    private static func drawValidatorChanges(
        _ powers: [UInt64], joiner: Int, byzantineKey: Int?, _ random: inout SimRandom
    ) -> [ProposalAction] {
        let honest = powers.indices.filter { $0 != byzantineKey }
        let removed = honest[random.int(0...honest.count - 1)]
        let changed = honest.filter { $0 != removed }[random.int(0...honest.count - 2)]
        let newPower = UInt64(random.int(1...10))
        let byzantine = byzantineKey.map { powers[$0] } ?? 0
        let honestLeft = honest.reduce(UInt64(0)) { $0 + powers[$1] } - powers[removed] - powers[changed]
            + min(powers[changed], newPower)
        let joinerPower = max(UInt64(random.int(1...10)), 2 * byzantine + 1 - min(2 * byzantine + 1, honestLeft))
        let key = { (index: Int) in SimKeys.publicKeys[index] }
        return [
            .addValidator(key(joiner), power: joinerPower, nodeKey: SimKeys.nodeKeys[joiner]),
            .removeValidator(key(removed)),
            .addValidator(key(changed), power: newPower, nodeKey: SimKeys.nodeKeys[changed]),
        ]
    }

    func isByzantine(engine: Int) -> Bool { keyOfEngine[engine] == byzantineKey }

    private static func drawPowers(_ count: Int, byzantineKey: Int?, unequal: Bool, _ random: inout SimRandom)
        -> [UInt64]
    {
        var powers = (0..<count).map { _ in unequal ? UInt64(random.int(1...10)) : 1 }
        guard let byzantineKey else { return powers }
        // 3 b < honest + b, that is 2 b < honest: the faulty power stays under a third.
        var honest = powers.enumerated().filter { $0.offset != byzantineKey }.reduce(0) { $0 + $1.element }
        powers[byzantineKey] = max(1, min(powers[byzantineKey], (honest - 1) / 2))
        while 2 * powers[byzantineKey] >= honest {
            var lucky = random.int(0...count - 1)
            if lucky == byzantineKey { lucky = (lucky + 1) % count }
            powers[lucky] += 1
            honest += 1
        }
        return powers
    }

    private static func lossyNetwork(_ random: inout SimRandom) -> NetworkConditions {
        NetworkConditions(
            lossPermille: random.int(50...300), duplicatePermille: random.int(0...100), delayMinMs: 1,
            delayMaxMs: UInt64(random.int(10...80)), slowPermille: random.int(0...100),
            slowMaxMs: UInt64(random.int(200...2_000)))
    }

    private static func mildNetwork(_ profile: FaultProfile, _ random: inout SimRandom) -> NetworkConditions {
        guard profile != .calm else { return .healthy }
        return NetworkConditions(
            lossPermille: random.int(0...30), duplicatePermille: random.int(0...30), delayMinMs: 1,
            delayMaxMs: UInt64(random.int(5...40)), slowPermille: 10, slowMaxMs: 500)
    }

    private static func drawPartitions(_ engines: Int, _ endMs: UInt64, _ random: inout SimRandom) -> [PartitionWindow] {
        (0..<random.int(1...3)).map { _ in
            let start = random.below(endMs)
            let end = start + random.below(endMs - start) + 1
            let node = random.int(0...engines - 1)
            let shape: PartitionWindow.Shape
            switch random.int(0...3) {
            case 0: shape = .isolate(node)
            case 1: shape = .halves(sideMask: random.below(1 << UInt64(engines)))
            case 2: shape = .mute(from: node)
            default: shape = .deafen(to: node)
            }
            return PartitionWindow(shape: shape, startMs: start, endMs: end)
        }
    }

    private static func drawCrashes(_ engines: Int, _ endMs: UInt64, _ random: inout SimRandom) -> [CrashPlan] {
        (0..<random.int(1...3)).map { _ in
            let crashAt = random.below(endMs)
            return CrashPlan(
                node: random.int(0...engines - 1), crashAtMs: crashAt,
                restartAtMs: crashAt + random.below(endMs - crashAt) + 1, tearLastWrite: random.chance(permille: 500))
        }
    }
}
