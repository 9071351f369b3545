import AssayCodec
import AssayCrypto
import AssayLightClient
import AssayLedger
import AssayP2P
import AssayStorage
import AssayTypes
import Foundation
import Testing

@testable import AssayEngine
@testable import AssayNode

/// Snapshots on disk, the manifest's check against the verified block, the light client's verification of that
/// block from the trusted one, and the chunk schedule of a joining node.
@Suite struct StateSyncTests {
    /// A node at height `count` with its chain tip stored, as the engine leaves it after a commit.
    static func node(height count: Int) throws -> (NodeFixture, [CommittedBlock]) {
        let node = try NodeFixture()
        let chain = try node.commitSignedEmptyChain(count)
        var tip = ChainTip(genesisValidators: node.genesis.validators, genesisTimeMs: 0)
        for committed in chain { tip = try tip.committing(committed.block, changes: []) }
        var batch = WriteBatch()
        batch.put(ChainStore.tipKey, tip.canonicalBytes, in: ChainStore.chainNamespace)
        try node.store.write(batch, durability: .synced)
        return (node, chain)
    }

    static func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("assay-snapshots-\(UUID().uuidString)").path
    }

    @Test func aSnapshotOnDiskVerifiesAgainstItsBlockAndRestoresTheSameState() throws {
        let (node, chain) = try Self.node(height: 4)
        let path = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let snapshots = try SnapshotStore(directory: path, keep: 1)
        try snapshots.take(from: try node.store.snapshot())
        let manifest = try StateSyncManifest(canonicalBytes: try #require(snapshots.latestManifest()))
        #expect(manifest.height == 4 && manifest.tip.blockHash == chain[3].block.hash)
        var next = chain[3].block.header  // the header of height 5, as far as its sets go
        next.height = 5
        try manifest.verify(against: chain[3].block, nextHeader: next)
        #expect(throws: SnapshotError.self) { try manifest.verify(against: chain[2].block, nextHeader: chain[3].block.header) }
        next.nextValidatorSetHash = SHA256.hash([6])
        #expect(throws: SnapshotError.self) { try manifest.verify(against: chain[3].block, nextHeader: next) }

        let restored = InMemoryStore()
        for index in 0..<UInt32(SnapshotManifest.chunkCount) {
            let chunk = try StateChunk(canonicalBytes: try #require(snapshots.chunk(height: 4, index: index)))
            try chunk.verify(against: manifest.ledger)
            try restored.write(try StateRestore.writes(for: chunk, store: restored), durability: .buffered)
        }
        try StateRestore.finish(manifest.ledger, store: restored)
        #expect(try Ledger.stateRoot(of: restored) == chain[3].block.header.stateRoot)
        #expect(snapshots.chunk(height: 4, index: 256) == nil && snapshots.chunk(height: 3, index: 0) == nil)
    }

    @Test func onlyTheNewestSnapshotsAreKeptAndPartialOnesAreRemovedAtOpen() throws {
        let (node, _) = try Self.node(height: 2)
        let path = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try FileManager.default.createDirectory(atPath: path + "/9.partial", withIntermediateDirectories: true)
        let snapshots = try SnapshotStore(directory: path, keep: 1)
        #expect(!FileManager.default.fileExists(atPath: path + "/9.partial"))
        try snapshots.take(from: try node.store.snapshot())
        let later = try Self.node(height: 3).0
        try snapshots.take(from: try later.store.snapshot())
        #expect(snapshots.latestHeight == 3)
        #expect(snapshots.chunk(height: 2, index: 0) == nil, "the older snapshot is gone")
        #expect(try FileManager.default.contentsOfDirectory(atPath: path) == ["3"])
    }

    /// Blocks and light blocks as a peer holding `chain` answers them, through `alter` (a forging peer).
    struct ChainSource: StateSyncSource {
        let store: any KeyValueStore
        let genesis: ValidatorSet
        var alter: @Sendable (inout CommittedBlock, inout LightBlock) -> Void = { _, _ in }

        func block(_ height: Height) async throws -> CommittedBlock { try answers(height).0 }
        func lightBlock(_ height: Height) async throws -> LightBlock { try answers(height).1 }

        private func answers(_ height: Height) throws -> (CommittedBlock, LightBlock) {
            let chain = ChainStore(store: store)
            guard let stored = try chain.block(at: height),
                var light = try LightBlock.stored(at: height, in: chain, genesis: genesis)
            else { throw StateSyncError("no block \(height)") }
            var block = CommittedBlock(block: stored.block, commit: stored.commit)
            alter(&block, &light)
            return (block, light)
        }
    }

    @Test func theLightClientVerifiesTheSnapshotBlockFromTheTrustedOneAndRefusesForgeries() async throws {
        let (node, chain) = try Self.node(height: 6)
        let source = ChainSource(store: node.store, genesis: node.genesis.validators)
        func verifier(_ height: Height, _ hash: Hash, nowMs: UInt64 = 6_000) -> SnapshotBlockVerifier {
            SnapshotBlockVerifier(
                chainID: NodeFixture.chainID, trustHeight: height, trustHash: hash, trustPeriodMs: 10_000, nowMs: nowMs)
        }
        let trusted = verifier(2, chain[1].block.hash)
        let verified = try await trusted.verified(at: 5, from: source)
        #expect(verified.block == chain[4] && verified.nextHeader == chain[5].block.header)
        #expect(try await verifier(5, chain[4].block.hash).verified(at: 5, from: source).block == chain[4])

        let refused: [(String, SnapshotBlockVerifier, ChainSource, Height)] = [
            ("another trusted hash", verifier(2, chain[2].block.hash), source, 5),
            ("below the trusted height", trusted, source, 1),
            ("past the trust period", verifier(2, chain[1].block.hash, nowMs: 12_001), source, 5),
            ("a full block 5 with another state root", trusted, ChainSource(store: node.store, genesis: node.genesis.validators) {
                block, _ in if block.block.height == 5 { block.block.header.stateRoot = SHA256.hash([5]) } }, 5),
            ("a forged light block 5", trusted, ChainSource(store: node.store, genesis: node.genesis.validators) {
                _, light in if light.height == 5 { light.header.stateRoot = SHA256.hash([5]) } }, 5),
            ("no block 7 to verify the set after block 6", trusted, source, 6),
        ]
        for (reason, verifier, source, height) in refused {
            await #expect(throws: StateSyncError.self, "\(reason)") { try await verifier.verified(at: height, from: source) }
        }
    }

    @Test func chunksAreSpreadOverPeersAndAskedAgainOfOthersOnTimeoutOrRejection() throws {
        let (a, b) = (testKey(10).publicKey, testKey(11).publicKey)
        var schedule = ChunkSchedule(chunkCount: 5, peers: [a, b], window: 2, timeoutMs: 100)
        let first = try schedule.requests(nowMs: 0)
        #expect(first.map(\.index) == [0, 1] && first.map(\.peer) == [a, b])
        #expect(try schedule.requests(nowMs: 50).isEmpty, "the window is full")
        schedule.received(0)
        #expect(try schedule.requests(nowMs: 60).map(\.index) == [2])
        schedule.rejected(b)  // chunk 1 goes back, b is asked nothing more
        #expect(!schedule.awaits(1, from: b))
        let again = try schedule.requests(nowMs: 70)
        #expect(again.map(\.index) == [1] && again.allSatisfy { $0.peer == a })
        // Unanswered past the timeout: asked again.
        #expect(try schedule.requests(nowMs: 200).map(\.index).sorted() == [1, 2])
        for index: UInt32 in [1, 2] { schedule.received(index) }
        for request in try schedule.requests(nowMs: 210) { schedule.received(request.index) }
        #expect(schedule.isComplete)
        schedule.rejected(a)
        #expect(throws: StateSyncError.self) { try schedule.requests(nowMs: 300) }
    }
}
