import AssayConsensus
import AssayEngine
import AssayLedger
import AssaySafetyRules
import AssayTypes

/// One scenario: engines on a simulated clock and a seeded, faulty network, with the checker
/// watching every commit and signature. Everything it does follows from the plan's seed.
final class World {
    static let eventsMax = 3_000_000
    static let timeouts = TimeoutConfig(
        proposeBaseMs: 600, proposeDeltaMs: 150, prevoteBaseMs: 300, prevoteDeltaMs: 100, precommitBaseMs: 300,
        precommitDeltaMs: 100)
    static let gossipIntervalMs: UInt64 = 1_000

    enum Event {
        /// Boxed, so that moving events around the heap copies one reference, not a whole block.
        indirect case deliver(ConsensusMessage, from: Int, to: Int)
        case timer(node: Int, incarnation: Int, EngineTimer)
        case crash(CrashPlan)
        case restart(node: Int)
        case heal
        /// The clients' turn to send transactions: just after each new height is first committed.
        case workload
    }

    let plan: ScenarioPlan
    let chainID = SimChain.chainID
    let genesis: Genesis
    let checker: Checker
    let workload: Workload
    private(set) var faults = FaultCounts()
    /// Wraps a node's application (tests break one on purpose, to see a checker catch it).
    private let wrapApplication: SimulationOptions.ApplicationWrapper?
    var random: SimRandom
    private(set) var nodes: [SimNode] = []
    private(set) var nowMs: UInt64 = 0
    private var queue = EventQueue<Event>()
    private var healed = false
    private var livenessTarget: Height = 0
    private var livenessDeadlineMs: UInt64 = 0
    private(set) var events = 0
    private let config: EngineConfig
    private let verifier: any SignatureVerifier

    init(plan: ScenarioPlan, wrapApplication: SimulationOptions.ApplicationWrapper? = nil) {
        self.plan = plan
        self.wrapApplication = wrapApplication
        random = SimRandom(seed: plan.seed ^ 0x5EED_0F_5EED)
        genesis = SimChain.genesis(validators: plan.genesisValidators)
        checker = Checker(genesisValidators: genesis.validators, genesisSupply: genesis.totalSupply)
        workload = Workload(actions: plan.governanceActions, byzantineKey: plan.byzantineKey, random: random.fork())
        verifier = SimKeys.verifier(realSignatures: plan.realSignatures)
        config = EngineConfig(
            chainID: chainID, genesisValidators: genesis.validators, genesisTimeMs: 0, timeouts: Self.timeouts,
            gossipIntervalMs: Self.gossipIntervalMs)
        nodes = (0..<plan.engineCount).map { index in
            SimNode(
                world: self, index: index, key: plan.keyOfEngine[index],
                equivocates: plan.equivocatingProposer && plan.isByzantine(engine: index)
                    && index == plan.keyOfEngine.firstIndex(of: plan.keyOfEngine[index]))
        }
    }

    /// Runs to the end of the liveness check or the first violation.
    func run() {
        // Engines hold their node as transport and clock: drop them at the end to free the scenario.
        defer {
            for node in nodes {
                if node.isRunning { checker.checking(.running) }
                node.shutDown()
            }
        }
        for node in nodes { boot(node) }
        for crash in plan.crashes {
            queue.push(.crash(crash), atMs: crash.crashAtMs)
            queue.push(.restart(node: crash.node), atMs: crash.restartAtMs)
        }
        queue.push(.heal, atMs: plan.faultEndMs)
        while checker.violations.isEmpty, let (time, event) = queue.pop() {
            nowMs = time
            events += 1
            guard events < Self.eventsMax else { return checker.fail(.liveness, "event budget exhausted at \(nowMs) ms") }
            handle(event)
            if !healed, highestHonestHeight >= ScenarioPlan.heightCap { heal() }
            if healed, checkLiveness() { return }
        }
    }

    /// After the heal: true once every honest engine is past the target and the plan's proposals have passed.
    /// The target moves past each validator change's effective height, so every new set is seen deciding a height.
    private func checkLiveness() -> Bool {
        let target = max(livenessTarget, (checker.changeHeights.last ?? 0) + 3)
        if workload.governanceDone, lowestHonestHeight >= target {
            checker.checking(.liveness)
            return true
        }
        guard nowMs > livenessDeadlineMs else { return false }
        checker.fail(.liveness, "height \(target) not reached by all honest engines, or \(workload.actionsPassed) of "
            + "\(plan.governanceActions.count) proposals passed, \(ScenarioPlan.livenessBoundMs) ms after the heal; "
            + stateSummary)
        return true
    }

    /// Each engine's committed height, then height/round/step, for failure reports.
    var stateSummary: String {
        nodes.map { node in
            guard let engine = node.engine else { return "\(node.index):down" }
            let tag = plan.isByzantine(engine: node.index) ? "B" : ""
            return "\(node.index)\(tag):\(engine.committedHeight)@\(engine.height)/\(engine.round)/\(engine.step)"
        }.joined(separator: " ")
    }

    private var highestHonestHeight: Height {
        var highest: Height = 0
        for node in nodes where !plan.isByzantine(engine: node.index) { highest = max(highest, node.committedHeight) }
        return highest
    }

    private var lowestHonestHeight: Height {
        var lowest = Height.max
        for node in nodes where !plan.isByzantine(engine: node.index) { lowest = min(lowest, node.committedHeight) }
        return lowest
    }

    func schedule(_ event: Event, afterMs: UInt64) { queue.push(event, atMs: nowMs + afterMs) }

    func countEquivocation() { faults.equivocations += 1 }

    /// The set of the height a node's engine is deciding.
    func engineValidators(of node: SimNode) -> ValidatorSet? { node.engine?.committedTip.nextRotation.validators }

    /// Sends `message` over the faulty network: it may be dropped, duplicated or delayed.
    func transmit(_ message: ConsensusMessage, from: Int, to: Int) {
        if case let .proposal(proposal, _) = message { checker.sawProposal(proposal.blockHash) }
        let network = healed ? NetworkConditions.healthy : plan.network
        if !healed, plan.partitions.contains(where: { $0.blocks(from: from, to: to, atMs: nowMs) }) {
            faults.partitioned += 1
            return
        }
        if random.chance(permille: network.lossPermille) {
            faults.lost += 1
            return
        }
        let copies = random.chance(permille: network.duplicatePermille) ? 2 : 1
        faults.duplicated += copies - 1
        for _ in 0..<copies {
            var delay = network.delayMinMs + random.below(network.delayMaxMs - network.delayMinMs + 1)
            if random.chance(permille: network.slowPermille) {
                delay += random.below(network.slowMaxMs + 1)
                faults.delayed += 1
            }
            schedule(.deliver(message, from: from, to: to), afterMs: delay)
        }
    }

    /// The clients' transactions reach each running node's mempool unless the faulty network loses them there.
    private func runWorkload() {
        guard let reference = nodes.filter({ !plan.isByzantine(engine: $0.index) && $0.isRunning })
            .max(by: { $0.committedHeight < $1.committedHeight }), let engine = reference.engine
        else { return }
        let view = Workload.View(
            query: LedgerQuery(store: reference.disk), height: engine.committedHeight,
            nextValidators: engine.committedTip.nextRotation.validators)
        let network = healed ? NetworkConditions.healthy : plan.network
        for transaction in workload.tick(view, nowMs: nowMs) {
            let bytes = transaction.canonicalBytes
            for node in nodes where node.isRunning && !random.chance(permille: network.lossPermille) {
                _ = try? node.app?.mempool.admit(bytes)
            }
        }
    }

    private func handle(_ event: Event) {
        switch event {
        case let .deliver(message, from, to):
            guard let engine = nodes[to].engine else { return }
            do { try engine.receive(message, from: PeerID(UInt32(from))) } catch {
                checker.fail(.running, "engine \(to) stopped on a message: \(error)")
            }
        case let .timer(index, incarnation, timer):
            let node = nodes[index]
            guard node.incarnation == incarnation, let engine = node.engine else { return }
            do { try engine.timerFired(timer) } catch {
                checker.fail(.running, "engine \(index) stopped on a timer: \(error)")
            }
        case let .crash(crash):
            let node = nodes[crash.node]
            guard node.isRunning else { return }
            node.shutDown()
            node.disk.crash(&random, tearLast: crash.tearLastWrite)
            faults.crashes += 1
            if crash.tearLastWrite { faults.tornWrites += 1 }
        case let .restart(index):
            if !nodes[index].isRunning { boot(nodes[index]) }
        case .heal:
            heal()
        case .workload:
            runWorkload()
        }
    }

    private func heal() {
        guard !healed else { return }
        healed = true
        for node in nodes where !node.isRunning { boot(node) }
        livenessTarget = highestHonestHeight + 1
        livenessDeadlineMs = nowMs + ScenarioPlan.livenessBoundMs
    }

    /// Starts (or restarts) a node's engine over its disk: the WAL replay path on a restart.
    private func boot(_ node: SimNode) {
        let honest = !plan.isByzantine(engine: node.index)
        let baseSigner = SimKeys.signer(node.key, realSignatures: plan.realSignatures)
        let signer: any Signer = honest ? RecordingSigner(inner: baseSigner, key: node.key, checker: checker) : baseSigner
        let verifier = self.verifier
        let index = node.index
        let disk = node.disk
        do {
            let app = try SimLedgerApplication(
                genesis: genesis, disk: disk, committedHeight: try ChainStore(store: disk).tip()?.height ?? 0
            ) { [unowned self] block, changes in
                guard honest else { return }
                let heights = checker.heightsAgreed
                checker.committed(block, changes: changes, engine: index, disk: disk)
                if checker.heightsAgreed > heights { schedule(.workload, afterMs: Workload.delayMs) }
            }
            let engine = try Engine(
                config: config, signer: signer, verifier: verifier, store: disk, transport: node, clock: node,
                executor: wrapApplication?(index, app, disk) ?? app)
            node.app = app
            node.engine = engine
            try engine.start()
        } catch {
            checker.fail(.running, "engine \(node.index) failed to start: \(error)")
        }
    }
}

/// The faults a scenario injected, by kind.
public struct FaultCounts: Sendable, CustomStringConvertible {
    /// Consensus messages dropped by the lossy network, by partitions, sent twice, and sent on the slow path.
    public var lost = 0
    public var partitioned = 0
    public var duplicated = 0
    public var delayed = 0
    /// Power losses (unsynced writes lost), and those that tore the last write kept.
    public var crashes = 0
    public var tornWrites = 0
    /// Conflicting proposals and votes a Byzantine validator sent.
    public var equivocations = 0

    public init() {}

    public static func + (lhs: FaultCounts, rhs: FaultCounts) -> FaultCounts {
        var sum = lhs
        sum.lost += rhs.lost
        sum.partitioned += rhs.partitioned
        sum.duplicated += rhs.duplicated
        sum.delayed += rhs.delayed
        sum.crashes += rhs.crashes
        sum.tornWrites += rhs.tornWrites
        sum.equivocations += rhs.equivocations
        return sum
    }

    public var description: String {
        let messages = "\(lost) messages lost, \(partitioned) cut by partitions, \(duplicated) duplicated, "
        let delays = "\(delayed) delayed on the slow path, "
        let crashes = "\(self.crashes) crashes (\(tornWrites) tearing the last write), "
        return messages + delays + crashes + "\(equivocations) equivocations"
    }
}
