import ArgumentParser
import AssaySimulation
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `assay simulate`: many seeded scenarios of the real ledger and mempool under consensus, in parallel by seed, with
/// the checkers on.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run seeded simulations of the chain (faulty network, crashes, Byzantine twins) and check them.")

    @Option(help: "Number of scenarios (seeds) to run.")
    var seeds: UInt64 = 100

    @Option(help: "First seed.")
    var start: UInt64 = 0

    @Option(help: "Engines per scenario, 4 to 10 (default: drawn from each seed).")
    var nodes: Int?

    @Option(help: "Fault profile: \(FaultProfile.allCases.map(\.rawValue).joined(separator: ", ")) (default: in turn by seed).")
    var faults: String?

    @Option(help: "Worker threads (default: one per core).")
    var jobs: Int = System.coreCount

    func validate() throws {
        if let nodes, !Simulation.enginesRange.contains(nodes) { throw ValidationError("--nodes must be 4 to 10") }
        if let faults, FaultProfile(rawValue: faults) == nil { throw ValidationError("unknown fault profile \(faults)") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let options = SimulationOptions(engines: nodes, profile: faults.flatMap(FaultProfile.init(rawValue:)))
        let clock = ContinuousClock()
        let began = clock.now
        let summary = Self.runAll(seeds: start..<start + seeds, options: options, jobs: jobs)
        let seconds = Double((clock.now - began).components.attoseconds) / 1e18
            + Double((clock.now - began).components.seconds)
        print(summary.line(seconds: seconds))
        for line in summary.details { print(line) }
        for failure in summary.failures.sorted(by: { $0.seed < $1.seed }).prefix(10) {
            print("FAILED seed \(failure.seed) (\(failure.profile), \(failure.engines) engines): "
                + failure.violations.joined(separator: "; "))
            print("  reproduce: \(Simulation.reproduceCommand(seed: failure.seed, options: options))")
        }
        if !summary.failures.isEmpty { throw ExitCode.failure }
    }

    static func runAll(seeds: Range<UInt64>, options: SimulationOptions, jobs: Int) -> Summary {
        let next = Atomic<UInt64>(seeds.lowerBound)
        let summary = Mutex(Summary())
        DispatchQueue.concurrentPerform(iterations: jobs) { _ in
            while true {
                let seed = next.add(1, ordering: .relaxed).oldValue
                guard seed < seeds.upperBound else { return }
                let report = Simulation.run(seed: seed, options: options)
                summary.withLock { $0.add(report) }
            }
        }
        return summary.withLock { $0 }
    }
}

struct Summary: Sendable {
    var scenarios = 0
    var heights = 0
    var rounds: UInt64 = 0
    var roundMax: UInt32 = 0
    var realSignatureScenarios = 0
    var failures: [ScenarioReport] = []
    var scenariosByProfile: [FaultProfile: Int] = [:]
    var faults = FaultCounts()
    var checks: [Invariant: Int] = [:]
    var transactionsSent = 0
    var transactionsCommitted: [String: Int] = [:]
    var validatorChanges = 0

    mutating func add(_ report: ScenarioReport) {
        scenarios += 1
        heights += report.heightsCommitted
        rounds += report.roundsUsed
        roundMax = max(roundMax, report.roundMax)
        if report.realSignatures { realSignatureScenarios += 1 }
        if !report.passed { failures.append(report) }
        scenariosByProfile[report.profile, default: 0] += 1
        faults = faults + report.faults
        checks.merge(report.checks, uniquingKeysWith: +)
        transactionsSent += report.transactionsSent
        transactionsCommitted.merge(report.transactionsCommitted, uniquingKeysWith: +)
        validatorChanges += report.validatorChangeHeights
    }

    /// Scenarios by profile, the faults injected by kind, the transactions, and each checker's verdict.
    var details: [String] {
        let profiles = FaultProfile.allCases.map { "\($0) \(scenariosByProfile[$0, default: 0])" }
        let committed = transactionsCommitted.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        return [
            "  scenarios by fault profile: " + profiles.joined(separator: ", "),
            "  faults: \(faults)",
            "  transactions: \(transactionsSent) sent; committed: " + committed.joined(separator: ", "),
            "  validator set changes by governance: \(validatorChanges)",
        ] + Invariant.allCases.map { invariant in
            let broken = failures.filter { $0.violations.contains { $0.hasPrefix("\(invariant):") } }.count
            return "  checker \(invariant): \(checks[invariant, default: 0]) checks, "
                + (broken == 0 ? "held" : "VIOLATED in \(broken) scenarios")
        }
    }

    func line(seconds: Double) -> String {
        let rate = seconds > 0 ? Double(scenarios) / seconds : 0
        return "simulate: \(scenarios) scenarios in \(oneDecimal(seconds)) s "
            + "(\(oneDecimal(rate)) scenarios/s), \(heights) heights committed, \(rounds) rounds used "
            + "(max round \(roundMax)), \(realSignatureScenarios) with BIP-340 signatures, "
            + "\(failures.count) violations"
    }
}

private func oneDecimal(_ value: Double) -> String { "\((value * 10).rounded() / 10)" }

enum System {
    static var coreCount: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}
