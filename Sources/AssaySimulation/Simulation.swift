import AssayEngine

/// What `assay simulate` and the tests may choose; everything else comes from the seed.
public struct SimulationOptions: Sendable {
    /// Makes the executor of engine `index` from its application and disk.
    typealias ApplicationWrapper = @Sendable (Int, SimLedgerApplication, SimulatedDisk) -> any BlockExecutor

    /// Engines per scenario (4 to 10); drawn from the seed when nil.
    public var engines: Int?
    /// The fault profile; the presets in turn by seed when nil.
    public var profile: FaultProfile?
    /// Tests only: a deliberately broken application for some engines, to see a checker catch it.
    var wrapApplication: ApplicationWrapper?

    public init(engines: Int? = nil, profile: FaultProfile? = nil) {
        self.engines = engines
        self.profile = profile
    }
}

/// The outcome of one seeded scenario.
public struct ScenarioReport: Sendable {
    public let seed: UInt64
    public let profile: FaultProfile
    public let engines: Int
    public let realSignatures: Bool
    public let heightsCommitted: Int
    /// Sum over committed heights of the rounds each took (1 when decided in round 0).
    public let roundsUsed: UInt64
    public let roundMax: UInt32
    public let simulatedMs: UInt64
    public let events: Int
    /// Client transactions signed and sent to the nodes (each once, however often sent again).
    public let transactionsSent: Int
    /// Transactions in committed blocks, by kind (`transfer`, `job`, `governance_vote`, ...).
    public let transactionsCommitted: [String: Int]
    /// Heights whose block changed the validator set (a validator added, one removed, a power changed), each by a
    /// governance proposal that passed.
    public let validatorChangeHeights: Int
    public let faults: FaultCounts
    /// Checks made, by invariant.
    public let checks: [Invariant: Int]
    /// Each starts with the invariant it breaks.
    public let violations: [String]

    public var passed: Bool { violations.isEmpty }
}

public enum Simulation {
    public static let enginesRange = 4...10

    /// Runs the scenario of `seed`. The same seed and options always give the same run.
    public static func run(seed: UInt64, options: SimulationOptions = SimulationOptions()) -> ScenarioReport {
        let plan = ScenarioPlan(seed: seed, engineCount: options.engines, profile: options.profile)
        let world = World(plan: plan, wrapApplication: options.wrapApplication)
        world.run()
        let checker = world.checker
        return ScenarioReport(
            seed: seed, profile: plan.profile, engines: plan.engineCount, realSignatures: plan.realSignatures,
            heightsCommitted: checker.heightsAgreed, roundsUsed: checker.roundsTotal, roundMax: checker.roundMax,
            simulatedMs: world.nowMs, events: world.events, transactionsSent: world.workload.transactionsSent,
            transactionsCommitted: checker.transactionKinds,
            validatorChangeHeights: checker.changeHeights.count, faults: world.faults,
            checks: Dictionary(uniqueKeysWithValues: Invariant.allCases.map { ($0, checker.checkCounts[$0.rawValue]) }),
            violations: checker.violations)
    }

    /// The command line that replays exactly this scenario.
    public static func reproduceCommand(seed: UInt64, options: SimulationOptions) -> String {
        var command = "assay simulate --seeds 1 --start \(seed)"
        if let engines = options.engines { command += " --nodes \(engines)" }
        if let profile = options.profile { command += " --faults \(profile)" }
        return command
    }
}
