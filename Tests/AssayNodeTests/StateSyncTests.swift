import AssayCodec
import AssayCrypto
import AssayLedger
import AssayP2P
import AssayStorage
import AssayTypes
import Foundation
import Testing

@testable import AssayEngine
@testable import AssayNode

/// Snapshots on disk, the manifest's check against the verified block, the hash-chain walk from the trusted
/// block, and the chunk schedule of a joining node.
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
        try manifest.verify(against: chain[3].block)
        #expect(throws: SnapshotError.self) { try manifest.verify(against: chain[2].block) }

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

    @Test func theHashChainProvesTheSnapshotBlockFromTheTrustedOneAndRefusesAnyBreak() async throws {
        let (_, chain) = try Self.node(height: 6)
        let byHeight = Dictionary(uniqueKeysWithValues: chain.map { ($0.block.height, $0) })
        let fetch: @Sendable (Height) async throws -> CommittedBlock = { height in
            guard let block = byHeight[height] else { throw StateSyncError("no block \(height)") }
            return block
        }
        let trusted = HashChainVerifier(trustHeight: 2, trustHash: chain[1].block.hash)
        #expect(try await trusted.verifiedBlock(at: 6, fetch: fetch) == chain[5])
        #expect(try await HashChainVerifier(trustHeight: 6, trustHash: chain[5].block.hash).verifiedBlock(at: 6, fetch: fetch)
            == chain[5])

        let wrongTrust = HashChainVerifier(trustHeight: 2, trustHash: chain[2].block.hash)
        await #expect(throws: StateSyncError.self) { try await wrongTrust.verifiedBlock(at: 6, fetch: fetch) }
        await #expect(throws: StateSyncError.self) { try await trusted.verifiedBlock(at: 1, fetch: fetch) }
        // A peer that forges block 4 (another state root) cannot link it to block 5.
        let forging: @Sendable (Height) async throws -> CommittedBlock = { height in
            var block = try await fetch(height)
            if height == 4 { block.block.header.stateRoot = SHA256.hash([4]) }
            return block
        }
        await #expect(throws: StateSyncError.self) { try await trusted.verifiedBlock(at: 6, fetch: forging) }
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
