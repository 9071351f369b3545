import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayEngine
import AssayMempool
import AssayP2P
import AssayTypes
import Logging
import Testing

@testable import AssayNode

/// The router of a node with a real RocksDB, behind a real P2P listener on 127.0.0.1, and one authenticated
/// peer that talks to it over an encrypted link.
private struct RoutedNode {
    let fixture: NodeFixture
    let node: P2PService
    let peer: P2PService
    let peerKey = testKey(9)
    let routing: Task<Void, any Error>

    init() async throws {
        fixture = try NodeFixture()
        let validator = fixture.validator
        let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        node = P2PService(
            config: P2PConfig(chainID: NodeFixture.chainID, identity: validator, allowedKeys: [peerKey.publicKey]),
            logger: quiet)
        let port = try await node.start()
        let blobs = try BlobStore(directory: fixture.directory.appendingPathComponent("blobs").path, maxBlobBytes: 1 << 20)
        let traffic = BlobTraffic()
        let router = InboundRouter(
            host: EngineHost(logger: quiet, requestSync: { _ in false }, onEvidence: { _ in }) { _ in }, transport: P2PTransport(
                p2p: node, peers: [validator.publicKey, peerKey.publicKey]),
            gossip: GossipAdmission(mempool: fixture.mempool, capacity: 1_000), p2p: node, store: fixture.store,
            genesisValidators: fixture.genesis.validators,
            blobs: BlobRouting(
                server: BlobServer(store: blobs, p2p: node, traffic: traffic, logger: quiet),
                fetcher: BlobFetcher(store: blobs, p2p: node, traffic: traffic, logger: quiet)))
        routing = Task { try await router.run() }
        peer = P2PService(
            config: P2PConfig(
                chainID: NodeFixture.chainID, identity: peerKey, peers: [PeerAddress(host: "127.0.0.1", port: port)],
                allowedKeys: [validator.publicKey]),
            logger: quiet)
        try await peer.start()
    }

    func connected() async -> Bool {
        for _ in 0..<500 {
            if !peer.connectedPeers.isEmpty && !node.connectedPeers.isEmpty { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    func stop() async throws {
        await peer.stop()
        await node.stop()  // finishes `inbound`, so the router returns
        try await routing.value
    }
}

@Suite(.serialized) struct InboundRouterTests {
    @Test func aSyncRequestFromTheLastHeightIsHarmlessAndTheNodeKeepsAnswering() async throws {
        let routed = try await RoutedNode()
        let first = try routed.fixture.commit([])
        let second = try routed.fixture.commit([])
        #expect(await routed.connected())
        // The exact bytes from issue 15: syncRequest(fromHeight: 2^64-1, maxCount: 1).
        let hostile: [UInt8] = [0x03] + [UInt8](repeating: 0xFF, count: 8) + [0x01, 0x00, 0x00, 0x00]
        #expect(try WireMessage(canonicalBytes: hostile) == .syncRequest(fromHeight: .max, maxCount: 1))
        let validator = routed.fixture.validator.publicKey
        #expect(routed.peer.send(to: validator, hostile))
        #expect(routed.peer.send(to: validator, WireMessage.syncRequest(fromHeight: 1, maxCount: 64).canonicalBytes))
        var inbox = routed.peer.inbound.makeAsyncIterator()
        let answer = try #require(await inbox.next())
        guard case let .syncResponse(blocks) = try WireMessage(canonicalBytes: answer.bytes) else {
            Issue.record("expected a sync response")
            return
        }
        #expect(blocks.map(\.block) == [first, second])
        try await routed.stop()
    }

    @Test func syncHeightsAreBoundedAndSaturateAtTheLargestHeight() {
        #expect(InboundRouter.syncHeights(from: 5, maxCount: 3) == 5..<8)
        #expect(InboundRouter.syncHeights(from: 1, maxCount: .max) == 1..<65)
        #expect(InboundRouter.syncHeights(from: .max, maxCount: 1) == Height.max..<Height.max)
        #expect(InboundRouter.syncHeights(from: .max - 1, maxCount: 64) == (Height.max - 1)..<Height.max)
        #expect(InboundRouter.syncHeights(from: 0, maxCount: 0).isEmpty)
    }
}
