import AssaySimulation
import AssayTestSupport
import Testing

/// Seeded scenarios across every fault profile (twins and the equivocating proposer included in
/// `byzantine` and `chaos`); seeds that are multiples of 20 sign with real BIP-340.
@Suite struct SeededScenarioTests {
    static let seedsPerProfile: UInt64 = 90

    @Test(arguments: FaultProfile.allCases)
    func scenariosHoldEveryInvariant(profile: FaultProfile) async throws {
        let (failures, heights) = try await offThePool { Self.runScenarios(profile) }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(heights >= Int(Self.seedsPerProfile) * 2, "every scenario commits heights")
    }

    /// The violations of every seed's scenario under `profile`, and the heights they committed in all.
    static func runScenarios(_ profile: FaultProfile) -> (failures: [String], heights: Int) {
        var failures: [String] = []
        var heights = 0
        for seed in 0..<seedsPerProfile {
            let report = Simulation.run(seed: seed, options: SimulationOptions(profile: profile))
            heights += report.heightsCommitted
            if !report.passed {
                failures.append("seed \(seed): \(report.violations.joined(separator: "; ")) — reproduce with "
                    + Simulation.reproduceCommand(seed: seed, options: SimulationOptions(profile: profile)))
            }
        }
        return (failures, heights)
    }

    @Test func aSeedReplaysExactly() {
        let options = SimulationOptions(engines: 7, profile: .chaos)
        let first = Simulation.run(seed: 1234, options: options)
        let second = Simulation.run(seed: 1234, options: options)
        #expect(first.events == second.events && first.simulatedMs == second.simulatedMs)
        #expect(first.heightsCommitted == second.heightsCommitted && first.roundsUsed == second.roundsUsed)
    }

    @Test func reproduceCommandNamesTheSeedAndOptions() {
        let command = Simulation.reproduceCommand(seed: 77, options: SimulationOptions(engines: 5, profile: .crash))
        #expect(command == "assay simulate --seeds 1 --start 77 --nodes 5 --faults crash")
    }
}
