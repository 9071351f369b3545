import AssayBlobs
import AssayCrypto
import AssayEngine
import AssayMempool
import AssayP2P
import AssaySafetyRules
import AssayTypes
import Foundation
import Logging
import Synchronization
import Testing

@testable import AssayNode

/// One node's message handling over real P2P on 127.0.0.1: its RocksDB (a `NodeFixture`), an engine host and the
/// inbound router. Peer 0 is the fixture's validator, peer 1 the follower key.
private final class SyncingNode: Sendable {
    static let followerKey = testKey(9)
    /// What the node's host reported: the sync requests it sent, and a fatal engine error.
    final class Record: Sendable {
        let requests = Mutex<[SyncPlanner.Request]>([])
        let fatal = Mutex<String?>(nil)
    }

    let fixture: NodeFixture
    let p2p: P2PService
    let host: EngineHost
    let record: Record
    private let routing: Task<Void, any Error>

    /// A node with identity `key` that accepts `allowed` and dials `peers`.
    init(key: SecretKey, allowed: SecretKey, peers: [PeerAddress] = []) async throws {
        let fixture = try NodeFixture()
        let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let p2p = P2PService(
            config: P2PConfig(
                chainID: NodeFixture.chainID, identity: key, peers: peers, allowedKeys: [allowed.publicKey]),
            logger: quiet)
        let transport = P2PTransport(p2p: p2p, peers: [fixture.validator.publicKey, Self.followerKey.publicKey])
        let record = Record()
        self.record = record
        host = EngineHost(
            logger: quiet,
            requestSync: { request in
                record.requests.withLock { $0.append(request) }
                return transport.requestSync(request)
            },
            onEvidence: { _ in },
            onFatal: { reason in record.fatal.withLock { $0 = reason } })
        let blobs = fixture.blobs
        let traffic = BlobTraffic()
        let router = InboundRouter(
            host: host, transport: transport, gossip: GossipAdmission(mempool: fixture.mempool, capacity: 1_000),
            p2p: p2p, store: fixture.store,
            genesisValidators: fixture.genesis.validators,
            blobs: BlobRouting(
                server: BlobServer(store: blobs, p2p: p2p, traffic: traffic, logger: quiet),
                fetcher: BlobFetcher(store: blobs, p2p: p2p, traffic: traffic, logger: quiet)))
        self.fixture = fixture
        self.p2p = p2p
        routing = Task { try await router.run() }
    }

    var requests: [SyncPlanner.Request] { record.requests.withLock { $0 } }

    /// Runs a consensus engine signing with `key` (not a validator of the fixture's chain: it only follows).
    func startEngine(key: SecretKey, transport: P2PTransport) throws {
        let (fixture, store) = (fixture, fixture.store)
        try host.start { host in
            try Engine(
                config: EngineConfig(chainID: NodeFixture.chainID, genesisValidators: fixture.genesis.validators),
                signer: SchnorrSigner(key: key), verifier: SchnorrVerifier(), store: store, transport: transport,
                clock: DispatchClock(host: host), executor: fixture.application)
        }
    }

    func stop() async throws {
        host.stop()
        await p2p.stop()  // finishes `inbound`, so the router returns
        try await routing.value
    }
}

@Suite(.serialized) struct BlockSyncTests {
    /// A node `count` signed blocks ahead and an empty one that dials it, connected, the empty one's engine running.
    private static func connectedPair(aheadBy count: Int) async throws
        -> (ahead: SyncingNode, behind: SyncingNode, chain: [CommittedBlock])
    {
        let ahead = try await SyncingNode(key: testKey(1), allowed: SyncingNode.followerKey)
        let chain = try ahead.fixture.commitSignedEmptyChain(count)
        let port = try await ahead.p2p.start()
        let behind = try await SyncingNode(
            key: SyncingNode.followerKey, allowed: testKey(1), peers: [PeerAddress(host: "127.0.0.1", port: port)])
        try await behind.p2p.start()
        try behind.startEngine(
            key: SyncingNode.followerKey,
            transport: P2PTransport(p2p: behind.p2p, peers: [testKey(1).publicKey, SyncingNode.followerKey.publicKey]))
        #expect(await eventually { !ahead.p2p.connectedPeers.isEmpty && !behind.p2p.connectedPeers.isEmpty })
        return (ahead, behind, chain)
    }

    @Test func aNodeFarBehindCatchesUpInBatchesOf64FromOneStatus() async throws {
        let chainLength = 300
        let (ahead, behind, chain) = try await Self.connectedPair(aheadBy: chainLength)

        // One announcement, as the node ahead's engine makes every gossip interval; it never repeats it here, so
        // only the asking side's pipelining can fetch the rest.
        let status = WireMessage.statusAnnouncement(height: Height(chainLength) + 1)
        #expect(ahead.p2p.send(to: SyncingNode.followerKey.publicKey, status.canonicalBytes))
        #expect(await eventually { behind.fixture.height == Height(chainLength) })

        let requests = behind.requests
        // 300 blocks in batches of 64: 5 requests (a slow answer timing out could add a repeat, never hundreds).
        #expect(requests.count >= 5 && requests.count <= 8)
        #expect(requests.first == SyncPlanner.Request(peer: PeerID(0), fromHeight: 1, maxCount: 64))
        #expect(zip(requests, requests.dropFirst()).allSatisfy { $0.fromHeight <= $1.fromHeight })
        #expect(Set(requests.map(\.fromHeight)).isSuperset(of: [1, 65, 129, 193, 257]))
        // Applied in order, each block verified and committed by the engine: the stored chain is the one ahead's.
        let stored = ChainStore(store: behind.fixture.store)
        for committed in chain {
            let block = try stored.block(at: committed.block.height)
            #expect(block?.block == committed.block && block?.commit == committed.commit)
        }
        #expect(behind.fixture.outcomes.map(\.stateRoot) == chain.map(\.block.header.stateRoot))
        #expect(behind.record.fatal.withLock { $0 } == nil)
        try await behind.stop()
        try await ahead.stop()
    }

    @Test func aBatchWhoseFirstCommitIsForgedAppliesNothingAndBenchesThePeer() async throws {
        let (ahead, behind, chain) = try await Self.connectedPair(aheadBy: 3)
        let follower = SyncingNode.followerKey.publicKey
        #expect(ahead.p2p.send(to: follower, WireMessage.statusAnnouncement(height: 4).canonicalBytes))
        #expect(await eventually { behind.requests.count == 1 })

        // The answer's first commit is signed by a key outside the validator set: block 1 is refused, so blocks 2
        // and 3 (which need it) are too, and the peer is benched rather than asked again.
        var forged = chain
        let outsider = testKey(7)
        let precommit = Vote.signBytes(
            chainID: NodeFixture.chainID, kind: .precommit, height: 1, round: 0, blockHash: chain[0].block.hash)
        forged[0].commit.signatures = [
            CommitSignature(validator: outsider.publicKey, signature: try outsider.sign(precommit))
        ]
        #expect(ahead.p2p.send(to: follower, WireMessage.syncResponse(forged).canonicalBytes))
        // Then the true blocks, one at a time for the height the node is at, as a peer ahead sends one block on
        // seeing our height: unasked blocks apply only at our height. Each is sent again until it lands, since the
        // forged answer may still be queued behind it on a loaded machine (and would drop it with its own blocks).
        #expect(await eventually {
            let height = behind.fixture.height
            guard height < 3 else { return true }
            _ = ahead.p2p.send(to: follower, WireMessage.syncResponse([chain[Int(height)]]).canonicalBytes)
            return false
        })
        let stored = ChainStore(store: behind.fixture.store)
        #expect(try stored.block(at: 1)?.commit == chain[0].commit)
        #expect(behind.requests.count == 1)
        try await behind.stop()
        try await ahead.stop()
    }
}

/// Polls `condition` every 20 ms for up to 120 s (a bound against hanging, not a timing assertion).
func eventually(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<6_000 {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}
