import AssayCodec
import AssayConsensus
import AssayCrypto
import AssayEngine
import AssayStorage
import AssayTypes
import Testing

@Suite struct WALTests {
    private let timeout = WALRecord.timeout(Timeout(kind: .prevote, height: 3, round: 2))
    private let verdict = WALRecord.verdict(SHA256.hash([1, 2, 3]), valid: true)

    @Test func recordsComeBackInOrder() throws {
        let store = InMemoryStore()
        var wal = WriteAheadLog(store: store)
        try wal.append(timeout, durability: .buffered)
        try wal.append(verdict, durability: .synced)
        var reader = WriteAheadLog(store: store)
        let loaded = try reader.load()
        #expect(loaded.records == [timeout, verdict] && !loaded.droppedTornTail)
    }

    @Test func everyTruncationOfTheLastRecordIsDetected() throws {
        let full = WriteAheadLog.encode(verdict)
        for length in 0..<full.count {
            #expect(throws: CodecError.self) { try WriteAheadLog.decode(Array(full.prefix(length))) }
        }
        #expect(try WriteAheadLog.decode(full) == verdict)
    }

    @Test func aFlippedBitFailsTheChecksum() throws {
        var bytes = WriteAheadLog.encode(timeout)
        bytes[bytes.count - 1] ^= 0x01
        #expect(throws: CodecError.self) { try WriteAheadLog.decode(bytes) }
    }

    @Test func resetLeavesOnlyTheNewHeightsFirstRecord() throws {
        let store = InMemoryStore()
        var wal = WriteAheadLog(store: store)
        for _ in 0..<5 { try wal.append(timeout, durability: .buffered) }
        var batch = WriteBatch()
        wal.resetWrites(startingWith: verdict, into: &batch)
        try store.write(batch, durability: .synced)
        wal.didReset()
        try wal.append(timeout, durability: .buffered)
        var reader = WriteAheadLog(store: store)
        #expect(try reader.load().records == [verdict, timeout])
    }
}
