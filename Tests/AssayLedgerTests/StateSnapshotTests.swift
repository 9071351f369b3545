import AssayCodec
import AssayCrypto
import AssayStorage
import AssayTypes
import Testing

@testable import AssayLedger

@Suite struct StateSnapshotTests {
    /// The chunks of the state held in `store`, as a node takes them.
    static func chunks(of store: some KeyValueReader) throws -> [StateChunk] {
        var buckets = [[StateEntry]](repeating: [], count: SnapshotManifest.chunkCount)
        try StateRestore.forEachEntry(in: store, pageEntries: 7) { buckets[StateChunk.index(ofKey: $0.key)].append($0) }
        return buckets.indices.map { StateChunk(index: $0, entries: buckets[$0]) }
    }

    /// A store holding `state`, written through the ledger's own tree updater.
    static func store(holding state: [[UInt8]: [UInt8]]) throws -> InMemoryStore {
        let tree = MemoryTree()
        let entries = state.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        try tree.apply(entries.map { ($0.key, $0.value) })
        var batch = WriteBatch()
        for (key, value) in entries { batch.put(key, value, in: LedgerNamespace.state) }
        for (path, node) in tree.nodes { batch.put(path.storageKey, node.encoded, in: LedgerNamespace.smt) }
        batch.put(SparseMerkleTree.rootKey, tree.root.canonicalBytes, in: LedgerNamespace.smt)
        let store = InMemoryStore()
        try store.write(batch, durability: .buffered)
        return store
    }

    static func restore(_ chunks: [StateChunk], _ manifest: SnapshotManifest, into store: InMemoryStore) throws {
        try StateRestore.requireEmpty(store)
        for chunk in chunks {
            try chunk.verify(against: manifest)
            try store.write(try StateRestore.writes(for: chunk, store: store), durability: .buffered)
        }
        try StateRestore.finish(manifest, store: store)
    }

    /// States of 0, 1, 2 and a few entries exercise the lifted leaves above depth 2; thousands fill every subtree.
    @Test(arguments: [0, 1, 2, 5, 40, 3000])
    func restoreRebuildsTheSameRootAndTree(count: Int) throws {
        let state = SparseMerkleTreeTests.randomState(seed: UInt64(count) + 7, count: count)
        let original = try Self.store(holding: state)
        let root = try Ledger.stateRoot(of: original)
        let chunks = try Self.chunks(of: original)
        let manifest = SnapshotManifest(height: 9, chunks: chunks)
        #expect(manifest.stateRoot == root)
        try manifest.verify(trustedStateRoot: root)

        let restored = InMemoryStore()
        // Any order: chunks arrive from several peers.
        try Self.restore(Array(chunks.reversed()), manifest, into: restored)
        #expect(try Ledger.stateRoot(of: restored) == root)
        for namespace in LedgerNamespace.all {
            let want = try original.scan(namespace, from: [], to: nil, limit: .max)
            let got = try restored.scan(namespace, from: [], to: nil, limit: .max)
            #expect(want.map(\.key) == got.map(\.key) && want.map(\.value) == got.map(\.value), "\(namespace) differs")
        }
    }

    @Test func aLedgerStateAfterBlocksRestoresAndExecutesTheNextBlockAlike() throws {
        let chain = try inMemoryChain()
        let sender = testKey(5)
        try chain.commit([try chain.sign(sender, .transfer(Transfer(recipient: address(testKey(6)), amount: 10)))])
        try chain.advance(to: 3)
        let chunks = try Self.chunks(of: chain.store)
        let manifest = SnapshotManifest(height: chain.height, chunks: chunks)
        let restored = InMemoryStore()
        try Self.restore(chunks, manifest, into: restored)
        let next = try chain.sign(sender, .transfer(Transfer(recipient: address(testKey(7)), amount: 3)))
        let context = BlockContext(
            chainID: chain.genesis.chainID, height: chain.height + 1, timeMs: 1_000 * (chain.height + 1),
            proposer: chain.proposer, validators: chain.validators(at: chain.height + 1), checkSignatures: true,
            blobs: chain.blobs)
        let fresh = try Ledger().execute(
            parentRoot: manifest.stateRoot, store: restored, context: context, transactions: [next])
        #expect(try chain.commit([next]).stateRoot == fresh.stateRoot)
    }

    @Test func aManifestIsRejectedUnlessItsSlotsHashToTheTrustedRoot() throws {
        let original = try Self.store(holding: SparseMerkleTreeTests.randomState(seed: 3, count: 3000))
        let manifest = SnapshotManifest(height: 4, chunks: try Self.chunks(of: original))
        #expect(throws: SnapshotError.self) { try manifest.verify(trustedStateRoot: SHA256.hash([1])) }

        var bytes = manifest.canonicalBytes
        bytes[8 + 32 + 40] ^= 1  // inside a subtree slot: the stated root no longer follows from the slots
        let altered = try SnapshotManifest(canonicalBytes: bytes)
        #expect {
            try altered.verify(trustedStateRoot: manifest.stateRoot)
        } throws: { error in
            if case .manifestMismatch = error as? SnapshotError { return true }
            return false
        }
    }

    @Test func anAlteredTruncatedOrForeignChunkIsRejectedAndWritesNothing() throws {
        let original = try Self.store(holding: SparseMerkleTreeTests.randomState(seed: 4, count: 3000))
        let chunks = try Self.chunks(of: original)
        let manifest = SnapshotManifest(height: 4, chunks: chunks)
        let chunk = chunks[17]
        func rejected(_ candidate: StateChunk) -> Bool {
            do { try candidate.verify(against: manifest) } catch let error as SnapshotError {
                if case .chunkMismatch(17, _) = error { return true }
            } catch {}
            return false
        }
        var entries = chunk.entries
        entries[0].value += [1]
        #expect(rejected(StateChunk(index: 17, entries: entries)), "one altered value")
        #expect(rejected(StateChunk(index: 17, entries: Array(chunk.entries.dropLast()))), "an entry left out")

        // The same subtree from a later state, where one of its entries changed.
        var later = SparseMerkleTreeTests.randomState(seed: 4, count: 3000)
        later[chunk.entries[0].key] = [1, 2, 3]
        let foreign = try Self.chunks(of: try Self.store(holding: later))[17]
        #expect(rejected(foreign), "a chunk of another snapshot")

        // Bytes cut short do not decode at all.
        let bytes = chunk.canonicalBytes
        #expect(throws: CodecError.self) { try StateChunk(canonicalBytes: Array(bytes.dropLast(5))) }
    }
}
