import AssayCodec
import AssayCrypto
import AssayEngine
import AssayP2P
import AssayTypes
import Dispatch
import Foundation
import Logging

/// Runs the consensus engine on one serial queue: peer messages, timers and start-up all hop onto it,
/// so the engine (which is not thread-safe) sees one input at a time, as in the simulation.
final class EngineHost: @unchecked Sendable {
    let queue = DispatchQueue(label: "assay.engine", qos: .userInitiated)
    private var engine: Engine?
    private let logger: Logger
    /// Called when the engine hits a fatal error (storage, WAL): the node must stop rather than guess.
    private let onFatal: @Sendable (String) -> Void

    init(logger: Logger, onFatal: @escaping @Sendable (String) -> Void) {
        self.logger = logger
        self.onFatal = onFatal
    }

    /// Builds the engine with `make` and starts it, on the queue.
    func start(_ make: @escaping (EngineHost) throws -> Engine) throws {
        try queue.sync {
            let engine = try make(self)
            self.engine = engine
            try engine.start()
        }
    }

    func deliver(_ message: ConsensusMessage, from peer: PeerID) {
        queue.async { self.perform { engine throws(EngineError) in try engine.receive(message, from: peer) } }
    }

    func fire(_ timer: EngineTimer) {
        queue.async { self.perform { engine throws(EngineError) in try engine.timerFired(timer) } }
    }

    /// The engine's current height and round, read on its queue.
    func position() -> (height: Height, round: Round) {
        queue.sync { (engine?.height ?? 0, engine?.round ?? 0) }
    }

    func stop() { queue.sync { engine = nil } }

    private func perform(_ body: (Engine) throws(EngineError) -> Void) {
        guard let engine else { return }
        do { try body(engine) } catch {
            logger.critical("consensus engine stopped: \(error)")
            self.engine = nil
            onFatal("\(error)")
        }
    }
}

/// Wall-clock time for block timestamps, and timers on the engine's queue.
final class DispatchClock: Clock, @unchecked Sendable {
    private weak var host: EngineHost?

    init(host: EngineHost) { self.host = host }

    var nowMs: UInt64 { UInt64(Date().timeIntervalSince1970 * 1_000) }

    func schedule(_ timer: EngineTimer, afterMs: UInt64) {
        host?.queue.asyncAfter(deadline: .now() + .milliseconds(Int(afterMs))) { [weak host] in host?.fire(timer) }
    }
}

/// The engine's messages over the encrypted P2P links. Peers are numbered by their position in the
/// sorted validator set, which every node computes alike.
final class P2PTransport: Transport, @unchecked Sendable {
    private let p2p: P2PService
    private let peers: [PublicKey]

    init(p2p: P2PService, peers: [PublicKey]) {
        self.p2p = p2p
        self.peers = peers
    }

    func peerID(of key: PublicKey) -> PeerID? { peers.firstIndex(of: key).map { PeerID(UInt32($0)) } }

    func broadcast(_ message: ConsensusMessage) { p2p.broadcast(Self.wire(message).canonicalBytes) }

    func send(_ message: ConsensusMessage, to peer: PeerID) {
        guard Int(peer.rawValue) < peers.count else { return }
        _ = p2p.send(to: peers[Int(peer.rawValue)], Self.wire(message).canonicalBytes)
    }

    static func wire(_ message: ConsensusMessage) -> WireMessage {
        switch message {
        case let .proposal(proposal, block): .proposal(proposal, block)
        case let .vote(vote): .vote(vote)
        case let .decided(block, commit): .syncResponse([CommittedBlock(block: block, commit: commit)])
        case let .status(height): .statusAnnouncement(height: height)
        }
    }
}
