import AssayCodec
import AssayStorage
import AssayTypes
import Foundation
import Logging
import Testing

@testable import AssayEngine
@testable import AssayNode

/// `[storage] retain_blocks`: old blocks go with their commits and index entries, in steps, never the tip's
/// block nor a held snapshot's.
@Suite struct BlockPrunerTests {
    /// A node at height 10 (a transfer in every block) with its tip stored, as the engine leaves it.
    static func node() throws -> (NodeFixture, [Block]) {
        let node = try NodeFixture()
        var blocks: [Block] = []
        var tip = ChainTip(genesisValidators: node.genesis.validators, genesisTimeMs: 0)
        for _ in 1...10 {
            let transfer = try node.sign(node.client, .transfer(Transfer(recipient: address(node.provider), amount: 1)))
            blocks.append(try node.commit([transfer]))
            tip = try tip.committing(blocks[blocks.count - 1], changes: [])
        }
        var batch = WriteBatch()
        batch.put(ChainStore.tipKey, tip.canonicalBytes, in: ChainStore.chainNamespace)
        try node.store.write(batch, durability: .synced)
        return (node, blocks)
    }

    @Test func oldBlocksGoWithTheirIndexEntriesAndTheBaseMovesPastThem() async throws {
        let (node, blocks) = try Self.node()
        let pruner = BlockPruner(retainBlocks: 3, store: node.store, snapshots: nil, logger: Logger(label: "test"))
        #expect(pruner.retainedFrom(tip: 10) == 8 && pruner.retainedFrom(tip: 2) == 1)
        try pruner.prune(below: 8)
        let chain = ChainStore(store: node.store)
        #expect(try chain.base() == 8)
        for block in blocks {
            let kept = block.height >= 8
            #expect((try chain.block(at: block.height) != nil) == kept)
            #expect((try chain.block(hash: block.hash) != nil) == kept)
            #expect((try TransactionIndex.transaction(block.transactions[0].hash, in: node.store) != nil) == kept)
            #expect((await node.service.transaction(hash: block.transactions[0].hash) != nil) == kept)
        }
        #expect((await node.service.status()).earliestHeight == 8)
        #expect(try chain.validators(at: 8, genesis: node.genesis.validators) == node.genesis.validators)
        #expect(try chain.validators(at: 7, genesis: node.genesis.validators) == nil, "below the base")
        try pruner.prune(below: 8)
        #expect(try chain.base() == 8, "pruning again is a no-op")
        try pruner.prune(below: 20)
        #expect(try chain.base() == 10 && chain.block(at: 10) != nil, "the tip's block stays")
    }

    @Test func aStepPrunesAtMostItsLimitAndHeldSnapshotsKeepTheirBlocks() throws {
        let (node, _) = try Self.node()
        var batch = WriteBatch()
        let pruned = try ChainStore(store: node.store).pruneWrites(below: 9, limit: 4, into: &batch)
        #expect(pruned.map(\.height) == [1, 2, 3, 4])
        try node.store.write(batch, durability: .synced)
        #expect(try ChainStore(store: node.store).base() == 5)

        let path = StateSyncTests.directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let snapshots = try SnapshotStore(directory: path, keep: 2)
        try snapshots.take(from: try node.store.snapshot())  // at height 10
        let pruner = BlockPruner(retainBlocks: 1, store: node.store, snapshots: snapshots, logger: Logger(label: "test"))
        #expect(pruner.retainedFrom(tip: 10) == 10 && pruner.retainedFrom(tip: 30) == 10)
    }
}
