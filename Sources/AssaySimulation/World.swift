import AssayConsensus
import AssayEngine
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
    /// Heights whose validator set the checker knows; a scenario ends long before (faults stop at height 4).
    static let heightsCheckedMax: Height = 1_000

    enum Event {
        /// Boxed, so that moving events around the heap copies one reference, not a whole block.
        indirect case deliver(ConsensusMessage, from: Int, to: Int)
        case timer(node: Int, incarnation: Int, EngineTimer)
        case crash(CrashPlan)
        case restart(node: Int)
        case heal
    }

    let plan: ScenarioPlan
    let chainID = "assay-sim"
    let checker: Checker
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

    init(plan: ScenarioPlan) {
        self.plan = plan
        random = SimRandom(seed: plan.seed ^ 0x5EED_0F_5EED)
        checker = Checker(chainID: chainID, validatorSets: plan.validatorSets(through: Self.heightsCheckedMax))
        verifier = SimKeys.verifier(realSignatures: plan.realSignatures)
        config = EngineConfig(
            chainID: chainID, genesisValidators: plan.validatorSets(through: 0)[0], genesisTimeMs: 0, timeouts: Self.timeouts,
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
        defer { for node in nodes { node.shutDown() } }
        for node in nodes { boot(node) }
        for crash in plan.crashes {
            queue.push(.crash(crash), atMs: crash.crashAtMs)
            queue.push(.restart(node: crash.node), atMs: crash.restartAtMs)
        }
        queue.push(.heal, atMs: plan.faultEndMs)
        while checker.violations.isEmpty, let (time, event) = queue.pop() {
            nowMs = time
            events += 1
            guard events < Self.eventsMax else { return checker.fail("event budget exhausted at \(nowMs) ms") }
            handle(event)
            if !healed, highestHonestHeight >= ScenarioPlan.heightCap { heal() }
            if healed {
                if lowestHonestHeight >= livenessTarget { return }
                if nowMs > livenessDeadlineMs {
                    return checker.fail("liveness: height \(livenessTarget) not reached by all honest engines "
                        + "\(ScenarioPlan.livenessBoundMs) ms after the heal; \(stateSummary)")
                }
            }
        }
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

    /// Sends `message` over the faulty network: it may be dropped, duplicated or delayed.
    func transmit(_ message: ConsensusMessage, from: Int, to: Int) {
        if case let .proposal(proposal, _) = message { checker.sawProposal(proposal.blockHash) }
        let network = healed ? NetworkConditions.healthy : plan.network
        if !healed, plan.partitions.contains(where: { $0.blocks(from: from, to: to, atMs: nowMs) }) { return }
        if random.chance(permille: network.lossPermille) { return }
        let copies = random.chance(permille: network.duplicatePermille) ? 2 : 1
        for _ in 0..<copies {
            var delay = network.delayMinMs + random.below(network.delayMaxMs - network.delayMinMs + 1)
            if random.chance(permille: network.slowPermille) { delay += random.below(network.slowMaxMs + 1) }
            schedule(.deliver(message, from: from, to: to), afterMs: delay)
        }
    }

    private func handle(_ event: Event) {
        switch event {
        case let .deliver(message, from, to):
            guard let engine = nodes[to].engine else { return }
            guard (try? engine.receive(message, from: PeerID(UInt32(from)))) != nil else {
                return checker.fail("engine \(to) stopped on a message")
            }
        case let .timer(index, incarnation, timer):
            let node = nodes[index]
            guard node.incarnation == incarnation, let engine = node.engine else { return }
            guard (try? engine.timerFired(timer)) != nil else { return checker.fail("engine \(index) stopped on a timer") }
        case let .crash(crash):
            let node = nodes[crash.node]
            guard node.isRunning else { return }
            node.shutDown()
            node.disk.crash(&random, tearLast: crash.tearLastWrite)
        case let .restart(index):
            if !nodes[index].isRunning { boot(nodes[index]) }
        case .heal:
            heal()
        }
    }

    private func heal() {
        guard !healed else { return }
        healed = true
        for node in nodes where !node.isRunning { boot(node) }
        // Past the last validator change, so that every new set is seen deciding a height.
        livenessTarget = max(highestHonestHeight + 1, plan.lastChangeEffectiveHeight + 1)
        livenessDeadlineMs = nowMs + ScenarioPlan.livenessBoundMs
    }

    /// Starts (or restarts) a node's engine over its disk: the WAL replay path on a restart.
    private func boot(_ node: SimNode) {
        let honest = !plan.isByzantine(engine: node.index)
        let baseSigner = SimKeys.signer(node.key, realSignatures: plan.realSignatures)
        let signer: any Signer = honest ? RecordingSigner(inner: baseSigner, key: node.key, checker: checker) : baseSigner
        let verifier = self.verifier
        let index = node.index
        let app = KeyValueApplication(
            chainID: chainID, disk: node.disk, sender: SimKeys.publicKeys[node.key], random: random.fork(),
            validatorChanges: plan.validatorChanges
        ) { [checker] block in
            if honest { checker.committed(block, engine: index) }
        }
        do {
            let engine = try Engine(
                config: config, signer: signer, verifier: verifier,
                store: node.disk, transport: node, clock: node, executor: app)
            node.app = app
            node.engine = engine
            try engine.start()
        } catch {
            checker.fail("engine \(node.index) failed to start: \(error)")
        }
    }
}

