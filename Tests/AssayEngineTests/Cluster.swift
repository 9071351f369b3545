import AssayConsensus
import AssayEngine
import AssayStorage
import AssayTypes
@testable import AssaySimulation

/// A few engines wired by hand for story tests: a FIFO network without faults, a clock that moves
/// only when the story says so, and disks that can crash. Uses the simulation's disk, keys and
/// application.
final class Cluster {
    final class Node: Transport, Clock {
        unowned let cluster: Cluster
        let index: Int
        let disk = SimulatedDisk()
        var engine: Engine?
        var app: KeyValueApplication?
        var timers: [(dueMs: UInt64, timer: EngineTimer)] = []

        init(cluster: Cluster, index: Int) {
            self.cluster = cluster
            self.index = index
        }

        func broadcast(_ message: ConsensusMessage) {
            if case let .vote(vote) = message { cluster.votesSent.append(vote) }
            for peer in cluster.nodes.indices where peer != index { cluster.inFlight.append((index, peer, message)) }
        }

        func send(_ message: ConsensusMessage, to peer: PeerID) {
            cluster.inFlight.append((index, Int(peer.rawValue), message))
        }

        var nowMs: UInt64 { cluster.nowMs }

        func schedule(_ timer: EngineTimer, afterMs: UInt64) { timers.append((cluster.nowMs + afterMs, timer)) }
    }

    let chainID = "assay-sim"
    let validators: ValidatorSet
    private(set) var nodes: [Node] = []
    var inFlight: [(from: Int, to: Int, message: ConsensusMessage)] = []
    /// Every vote an engine broadcast, in order.
    private(set) var votesSent: [Vote] = []
    /// Validator changes the application hands the engines, by the height that commits them.
    let validatorChanges: [Height: [Validator]]
    private(set) var nowMs: UInt64 = 0
    /// Committed blocks per node, in order.
    private(set) var commits: [[Block]]
    private var random = SimRandom(seed: 42)

    /// `size` engines, the first `genesisValidators` of them (all by default) validators of power 1; the others
    /// follow until `validatorChanges` make them validators.
    init(size: Int = 4, genesisValidators: Int? = nil, validatorChanges: [Height: [Validator]] = [:]) {
        validators = try! ValidatorSet(
            (0..<(genesisValidators ?? size)).map { Validator(publicKey: SimKeys.publicKeys[$0], power: 1) })
        self.validatorChanges = validatorChanges
        commits = Array(repeating: [], count: size)
        nodes = (0..<size).map { Node(cluster: self, index: $0) }
    }

    /// Starts engine `index` on the simulation's application, or on what `executor` makes of it.
    func start(_ index: Int, executor: (KeyValueApplication) -> any BlockExecutor = { $0 }) throws {
        let node = nodes[index]
        let app = KeyValueApplication(
            chainID: chainID, disk: node.disk, sender: SimKeys.publicKeys[index], random: random.fork(),
            validatorChanges: validatorChanges
        ) { [unowned self] block in commits[index].append(block) }
        let engine = try Engine(
            config: EngineConfig(chainID: chainID, genesisValidators: validators, timeouts: World.timeouts),
            signer: SimKeys.signer(index, realSignatures: false), verifier: SimKeys.verifier(realSignatures: false),
            store: node.disk, transport: node, clock: node, executor: executor(app))
        node.app = app
        node.engine = engine
        node.timers = []
        try engine.start()
    }

    func startAll() throws { for index in nodes.indices { try start(index) } }

    /// Power loss: unsynced writes are lost, timers die, messages to the node are dropped.
    func crash(_ index: Int) {
        nodes[index].engine = nil
        nodes[index].app = nil
        nodes[index].timers = []
        nodes[index].disk.crash(&random, tearLast: false)
    }

    func engine(_ index: Int) -> Engine { nodes[index].engine! }

    /// Delivers one message in order; false when none is in flight.
    @discardableResult
    func deliverOne() throws -> Bool {
        guard !inFlight.isEmpty else { return false }
        let (from, to, message) = inFlight.removeFirst()
        try nodes[to].engine?.receive(message, from: PeerID(UInt32(from)))
        return true
    }

    /// Delivers messages and fires timers in time order until `done` holds or `limitMs` passes.
    func run(untilMs limitMs: UInt64, until done: () -> Bool) throws {
        var steps = 0
        while !done() {
            steps += 1
            precondition(steps < 200_000, "story did not converge")
            if try deliverOne() { continue }
            guard let (index, slot) = nextTimer(), nodes[index].timers[slot].dueMs <= limitMs else { return }
            let (dueMs, timer) = nodes[index].timers.remove(at: slot)
            nowMs = max(nowMs, dueMs)
            try nodes[index].engine?.timerFired(timer)
        }
    }

    private func nextTimer() -> (node: Int, slot: Int)? {
        var best: (node: Int, slot: Int, dueMs: UInt64)?
        for node in nodes where node.engine != nil {
            for (slot, entry) in node.timers.enumerated() where best == nil || entry.dueMs < best!.dueMs {
                best = (node.index, slot, entry.dueMs)
            }
        }
        return best.map { ($0.node, $0.slot) }
    }

    /// The validator that proposes round 0 of height 1.
    var firstProposer: Int {
        SimKeys.publicKeys.firstIndex(of: ProposerRotation(validators: validators).proposer)!
    }
}
