import AssaySimulation
import AssayTestSupport
import Testing

/// Seeded scenarios of the real ledger and mempool across every fault profile (twins and the equivocating proposer
/// included in `byzantine` and `chaos`); seeds that are multiples of 20 sign consensus messages with real BIP-340
/// (transactions always are).
@Suite struct SeededScenarioTests {
    static let seedsPerProfile: UInt64 = 45

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

    /// About half the seeds pass three governance proposals: add a validator (an engine that starts as a follower),
    /// remove one and change one's power; the checker holds every header, engine and ledger to the set of its height,
    /// so these seeds show each change at H + 2.
    @Test func validatorSetsChangeInAboutHalfTheScenarios() {
        let reports = (UInt64(0)..<40).map { Simulation.run(seed: $0, options: SimulationOptions(profile: .calm)) }
        let changing = reports.filter { $0.validatorChangeHeights == 3 }
        #expect(changing.count >= 10 && changing.count <= 30)
        #expect(reports.allSatisfy { $0.validatorChangeHeights == 0 || $0.validatorChangeHeights == 3 })
        #expect(changing.allSatisfy { $0.passed }, "\(changing.flatMap(\.violations))")
        // Each scenario runs past its last change, so the last set decided heights of its own.
        #expect(changing.allSatisfy { $0.heightsCommitted >= 6 })
    }

    /// The clients' transactions reach blocks: transfers, the market's whole job cycle and governance.
    @Test func blocksCarryEveryKindTheClientsSend() {
        var kinds: [String: Int] = [:]
        for seed in UInt64(0)..<10 {
            let report = Simulation.run(seed: seed, options: SimulationOptions(profile: .calm))
            #expect(report.passed, "\(report.violations)")
            kinds.merge(report.transactionsCommitted, uniquingKeysWith: +)
        }
        let expected = ["transfer", "stake", "offer", "register_model", "job", "result", "governance_propose",
            "governance_vote"]
        #expect(expected.allSatisfy { kinds[$0, default: 0] > 0 }, "\(kinds)")
    }

    @Test func aSeedReplaysExactly() {
        let options = SimulationOptions(engines: 7, profile: .chaos)
        let first = Simulation.run(seed: 1234, options: options)
        let second = Simulation.run(seed: 1234, options: options)
        #expect(first.events == second.events && first.simulatedMs == second.simulatedMs)
        #expect(first.heightsCommitted == second.heightsCommitted && first.roundsUsed == second.roundsUsed)
        #expect(first.transactionsCommitted == second.transactionsCommitted)
    }

    @Test func reproduceCommandNamesTheSeedAndOptions() {
        let command = Simulation.reproduceCommand(seed: 77, options: SimulationOptions(engines: 5, profile: .crash))
        #expect(command == "assay simulate --seeds 1 --start 77 --nodes 5 --faults crash")
    }
}
