/// What `assay simulate` and the tests may choose; everything else comes from the seed.
public struct SimulationOptions: Sendable {
    /// Engines per scenario (4 to 10); drawn from the seed when nil.
    public var engines: Int?
    /// The fault profile; the presets in turn by seed when nil.
    public var profile: FaultProfile?

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
    /// Heights whose block changed the validator set (a validator added, one removed, a power changed).
    public let validatorChangeHeights: Int
    public let violations: [String]

    public var passed: Bool { violations.isEmpty }
}

public enum Simulation {
    public static let enginesRange = 4...10

    /// Runs the scenario of `seed`. The same seed and options always give the same run.
    public static func run(seed: UInt64, options: SimulationOptions = SimulationOptions()) -> ScenarioReport {
        let plan = ScenarioPlan(seed: seed, engineCount: options.engines, profile: options.profile)
        let world = World(plan: plan)
        world.run()
        return ScenarioReport(
            seed: seed, profile: plan.profile, engines: plan.engineCount, realSignatures: plan.realSignatures,
            heightsCommitted: world.checker.heightsAgreed, roundsUsed: world.checker.roundsTotal,
            roundMax: world.checker.roundMax, simulatedMs: world.nowMs, events: world.events,
            validatorChangeHeights: plan.validatorChanges.count, violations: world.checker.violations)
    }

    /// The command line that replays exactly this scenario.
    public static func reproduceCommand(seed: UInt64, options: SimulationOptions) -> String {
        var command = "assay simulate --seeds 1 --start \(seed)"
        if let engines = options.engines { command += " --nodes \(engines)" }
        if let profile = options.profile { command += " --faults \(profile)" }
        return command
    }
}
