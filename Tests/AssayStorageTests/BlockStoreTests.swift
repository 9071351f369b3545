import AssayCodec
import AssayCrypto
import AssayRocksDB
import AssayStorage
import Testing

/// A stand-in block: the real block type lives in AssayTypes, which the block store does not need.
struct TestBlock: StoredBlock, Equatable {
    let height: UInt64
    let payload: [UInt8]

    var hash: Digest32 { SHA256.hash(canonicalBytes) }

    func encode(to writer: inout CanonicalWriter) {
        writer.write(height)
        writer.writeBytes(payload)
    }

    init(height: UInt64, payload: [UInt8]) {
        self.height = height
        self.payload = payload
    }

    init(from reader: inout CanonicalReader) throws(CodecError) {
        height = try reader.readUInt64()
        payload = try reader.readBytes(bound: 1024)
    }
}

struct TestCommit: CanonicalCodable, Equatable {
    let round: UInt32

    func encode(to writer: inout CanonicalWriter) { writer.write(round) }
    init(round: UInt32) { self.round = round }
    init(from reader: inout CanonicalReader) throws(CodecError) { round = try reader.readUInt32() }
}

@Suite struct BlockStoreTests {
    typealias Blocks<Store: KeyValueReader> = BlockStore<TestBlock, TestCommit, Store>

    func block(_ height: UInt64) -> TestBlock { TestBlock(height: height, payload: [UInt8(truncatingIfNeeded: height), 7]) }

    /// Stores blocks `heights` one batch each, with commit round = height.
    func fill(_ store: some KeyValueStore, heights: ClosedRange<UInt64>) throws {
        for height in heights {
            var batch = WriteBatch()
            try Blocks(store).put(block(height), commit: TestCommit(round: UInt32(height)), into: &batch)
            try store.write(batch, durability: .synced)
        }
    }

    @Test func blocksAndCommitsAreFoundByHeightAndHash() throws {
        let store = InMemoryStore()
        let blocks = Blocks(store)
        #expect(try blocks.latestHeight == nil)
        try fill(store, heights: 1...3)
        #expect(try blocks.latestHeight == 3)
        for height in UInt64(1)...3 {
            #expect(try blocks.block(at: height) == block(height))
            #expect(try blocks.block(hash: block(height).hash) == block(height))
            #expect(try blocks.commit(at: height) == TestCommit(round: UInt32(height)))
        }
        #expect(try blocks.block(at: 4) == nil)
        #expect(try blocks.commit(at: 0) == nil)
        #expect(try blocks.block(hash: block(4).hash) == nil)
    }

    @Test(arguments: [UInt64(1), 3, 5])
    func aBlockThatDoesNotFollowTheLatestIsRefused(height: UInt64) throws {
        let store = InMemoryStore()
        try fill(store, heights: 1...3)
        var batch = WriteBatch()
        batch.put([9], [9])
        #expect(throws: BlockStoreError.heightGap(latest: 3, got: height)) {
            try Blocks(store).put(block(height), commit: TestCommit(round: 0), into: &batch)
        }
        #expect(batch.operations.count == 1, "a refused block adds nothing to the batch")
    }

    /// Big-endian height keys keep height order across byte boundaries (255 -> 256).
    @Test func blockKeysScanInHeightOrder() throws {
        let store = InMemoryStore()
        try fill(store, heights: 250...260)
        let stored = try store.scan(.blocks, prefix: [0x01]).map { try TestBlock(canonicalBytes: $0.value).height }
        #expect(stored == Array(250...260))
    }

    @Test func damagedRecordsAreReportedNotTrusted() throws {
        let store = InMemoryStore()
        try fill(store, heights: 1...2)
        var batch = WriteBatch()
        batch.put([0x01] + [0, 0, 0, 0, 0, 0, 0, 2], [0xff], in: .blocks)
        batch.put([0x03] + block(1).hash.bytes, [0, 0, 0, 0, 0, 0, 0, 2], in: .blocks)
        try store.write(batch, durability: .synced)
        let blocks = Blocks(store)
        #expect {
            try blocks.block(at: 2)
        } throws: { error in
            if case .corruptRecord = error as? BlockStoreError { true } else { false }
        }
        #expect(throws: BlockStoreError.self) { try blocks.block(hash: block(1).hash) }
    }

    /// The node commits a block together with its state in one batch; RocksDB applies both or neither.
    @Test func blockAndStateCommitInOneRocksDBBatch() throws {
        let directory = try TemporaryDirectory()
        let state = Namespace("state")
        let path = directory.child("db")
        do {
            let store = try RocksDBStore(path: path, namespaces: [.blocks, state], createIfMissing: true)
            var batch = WriteBatch()
            try Blocks(store).put(block(1), commit: TestCommit(round: 4), into: &batch)
            batch.put([1], [42], in: state)
            try store.write(batch, durability: .synced)
        }
        let reopened = try RocksDBStore(path: path, namespaces: [.blocks, state], createIfMissing: false)
        let blocks = Blocks(reopened)
        #expect(try blocks.latestHeight == 1)
        #expect(try blocks.block(hash: block(1).hash) == block(1))
        #expect(try blocks.commit(at: 1) == TestCommit(round: 4))
        #expect(try reopened.get([1], in: state) == [42])
    }
}
