import AssayBlobs
import AssayCrypto
import Foundation
import Testing

/// A fresh directory under the system temporary directory, deleted when the value is released.
final class ScratchDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("blobs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func files(under child: String = "") -> [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: path + "/" + child)) ?? []).sorted()
    }
}

/// A test blob: the documented pattern, its tree, and its chunks.
struct TestBlob {
    let bytes: [UInt8]
    let tree: BlobTree
    var ref: BlobRef { tree.ref }

    init(length: Int, offset: Int = 0) {
        bytes = patternBytes(offset..<offset + length)
        tree = AssayBlobsTests.tree(of: bytes)
    }

    func chunk(_ index: Int) -> [UInt8] { Array(AssayBlobsTests.chunk(bytes, index)) }
    func proof(_ index: Int) -> ChunkProof { tree.proof(chunk: index) }
}

func readAll(_ store: BlobStore, _ id: BlobID, range: Range<UInt64>? = nil, piece: Int = 100_000) throws -> [UInt8] {
    let reader = try store.open(id, range: range)
    var out: [UInt8] = []
    while let bytes = try reader.next(maxBytes: piece) { out += bytes }
    return out
}

@Suite struct BlobStoreTests {
    static let max: UInt64 = 64 << 20

    @Test func outOfOrderChunksAssembleIntoAReadableBlob() throws {
        let scratch = try ScratchDirectory()
        let store = try BlobStore(directory: scratch.path + "/blobs", maxBlobBytes: Self.max)
        let blob = TestBlob(length: 3 * blobChunkBytes + 500)
        #expect(store.status(blob.ref) == .absent)
        for (step, index) in [2, 0, 3].enumerated() {
            let outcome = try store.writeChunk(ref: blob.ref, index: index, bytes: blob.chunk(index), proof: blob.proof(index))
            #expect(outcome == .stored(held: step + 1, of: 4))
        }
        #expect(store.status(blob.ref) == .partial(ref: blob.ref, heldChunks: [0, 2, 3]))
        #expect(store.status(blob.ref.id) == .partial(ref: blob.ref, heldChunks: [0, 2, 3]))
        #expect(!store.has(blob.ref.id))
        #expect(throws: BlobError.notFound(blob.ref.id)) { try store.readChunk(blob.ref.id, index: 0) }
        // A repeated chunk changes nothing.
        #expect(try store.writeChunk(ref: blob.ref, index: 2, bytes: blob.chunk(2)) == .stored(held: 3, of: 4))

        #expect(try store.writeChunk(ref: blob.ref, index: 1, bytes: blob.chunk(1), proof: blob.proof(1)) == .complete)
        #expect(store.status(blob.ref) == .complete(ref: blob.ref))
        #expect(store.has(blob.ref.id))
        #expect(store.heldBytes == blob.ref.length && store.heldCount == 1 && store.heldRefs == [blob.ref])
        #expect(try readAll(store, blob.ref.id) == blob.bytes)
        #expect(try readAll(store, blob.ref.id, range: 1_048_000..<2_200_000) == Array(blob.bytes[1_048_000..<2_200_000]))
        #expect(try readAll(store, blob.ref.id, range: 7..<7).isEmpty)
        #expect(try store.readChunk(blob.ref.id, index: 3) == blob.chunk(3))
        #expect(try store.proof(blob.ref.id, index: 1) == blob.proof(1))
        #expect(try store.tree(blob.ref.id) == blob.tree)
        #expect(scratch.files(under: "blobs") == ["\(blob.ref.id.hex)", "\(blob.ref.id.hex).leaves", "partial"])
        #expect(try store.writeChunk(ref: blob.ref, index: 0, bytes: blob.chunk(0)) == .complete)
    }

    @Test func badInputGetsAClearErrorAndChangesNothing() throws {
        let scratch = try ScratchDirectory()
        let store = try BlobStore(directory: scratch.path, maxBlobBytes: Self.max)
        let blob = TestBlob(length: 2 * blobChunkBytes + 9)
        var flipped = blob.chunk(1)
        flipped[77] ^= 1
        #expect(throws: BlobError.chunkMismatch(id: blob.ref.id, index: 1)) {
            try store.writeChunk(ref: blob.ref, index: 1, bytes: flipped, proof: blob.proof(1))
        }
        #expect(throws: BlobError.wrongChunkLength(index: 2, expected: 9, actual: 8)) {
            try store.writeChunk(ref: blob.ref, index: 2, bytes: Array(blob.chunk(2).dropLast()))
        }
        #expect(throws: BlobError.chunkIndexOutOfRange(index: 3, chunkCount: 3)) {
            try store.writeChunk(ref: blob.ref, index: 3, bytes: blob.chunk(2))
        }
        let huge = BlobRef(id: blob.ref.id, length: Self.max + 1)
        #expect(throws: BlobError.tooLarge(length: Self.max + 1, max: Self.max)) {
            try store.writeChunk(ref: huge, index: 0, bytes: blob.chunk(0))
        }
        #expect(throws: BlobError.tooLarge(length: Self.max + 1, max: Self.max)) { try store.checkSize(huge) }
        #expect(store.status(blob.ref) == .absent)
        #expect(scratch.files() == ["partial"])

        for index in 0..<3 { try store.writeChunk(ref: blob.ref, index: index, bytes: blob.chunk(index)) }
        let longer = BlobRef(id: blob.ref.id, length: blob.ref.length + 1)
        #expect(throws: BlobError.lengthMismatch(id: blob.ref.id, recorded: blob.ref.length, stated: longer.length)) {
            try store.writeChunk(ref: longer, index: 0, bytes: blob.chunk(0))
        }
        #expect(throws: BlobError.rangeOutOfBounds(lower: 0, upper: longer.length, length: blob.ref.length)) {
            try store.open(blob.ref.id, range: 0..<longer.length)
        }
        #expect(throws: BlobError.chunkIndexOutOfRange(index: 3, chunkCount: 3)) { try store.proof(blob.ref.id, index: 3) }
        let other = TestBlob(length: 5, offset: 1).ref.id
        #expect(throws: BlobError.notFound(other)) { try store.open(other) }
    }

    @Test func unprovenChunksThatMissTheRootAreDiscarded() throws {
        let scratch = try ScratchDirectory()
        let store = try BlobStore(directory: scratch.path, maxBlobBytes: Self.max)
        let blob = TestBlob(length: blobChunkBytes + 1)
        var wrong = blob.chunk(0)
        wrong[0] ^= 0xff
        try store.writeChunk(ref: blob.ref, index: 0, bytes: wrong)
        let actual = tree(of: wrong + blob.chunk(1)).id
        #expect(throws: BlobError.rootMismatch(expected: blob.ref.id, actual: actual)) {
            try store.writeChunk(ref: blob.ref, index: 1, bytes: blob.chunk(1))
        }
        #expect(store.status(blob.ref) == .absent)
        #expect(scratch.files() == ["partial"])
        // The right bytes still go in afterwards.
        try store.writeChunk(ref: blob.ref, index: 0, bytes: blob.chunk(0))
        #expect(try store.writeChunk(ref: blob.ref, index: 1, bytes: blob.chunk(1)) == .complete)
    }

    @Test func aWrongLengthNeverCompletesAndDoesNotSpoilTheRightOne() throws {
        let scratch = try ScratchDirectory()
        let store = try BlobStore(directory: scratch.path, maxBlobBytes: Self.max)
        let blob = TestBlob(length: 3 * blobChunkBytes)
        // Three full chunks claimed as a blob of four (the last one byte): chunk 0's proof even passes, since its
        // path has the same shape in both trees; the root over all chunks does not.
        let claimed = BlobRef(id: blob.ref.id, length: blob.ref.length + 1)
        try store.writeChunk(ref: claimed, index: 0, bytes: blob.chunk(0), proof: blob.proof(0))
        try store.writeChunk(ref: blob.ref, index: 1, bytes: blob.chunk(1), proof: blob.proof(1))
        try store.writeChunk(ref: blob.ref, index: 2, bytes: blob.chunk(2), proof: blob.proof(2))
        #expect(store.status(claimed) == .partial(ref: claimed, heldChunks: [0]))
        #expect(try store.writeChunk(ref: blob.ref, index: 0, bytes: blob.chunk(0), proof: blob.proof(0)) == .complete)
        #expect(store.status(claimed) == .complete(ref: blob.ref))
        #expect(scratch.files(under: "partial").isEmpty)
    }

    @Test func theEmptyBlobIsOneEmptyChunk() throws {
        let scratch = try ScratchDirectory()
        let store = try BlobStore(directory: scratch.path, maxBlobBytes: Self.max)
        let blob = TestBlob(length: 0)
        #expect(try store.writeChunk(ref: blob.ref, index: 0, bytes: [], proof: blob.proof(0)) == .complete)
        #expect(try readAll(store, blob.ref.id).isEmpty)
        #expect(try store.readChunk(blob.ref.id, index: 0).isEmpty)
    }

    @Test func aPartialSurvivesARestartAndIsNeverComplete() throws {
        let scratch = try ScratchDirectory()
        let blob = TestBlob(length: 3 * blobChunkBytes + 1)
        do {
            let store = try BlobStore(directory: scratch.path, maxBlobBytes: Self.max)
            try store.writeChunk(ref: blob.ref, index: 3, bytes: blob.chunk(3))
            try store.writeChunk(ref: blob.ref, index: 1, bytes: blob.chunk(1), proof: blob.proof(1))
        }
        let reopened = try BlobStore(directory: scratch.path, maxBlobBytes: Self.max)
        #expect(reopened.status(blob.ref) == .partial(ref: blob.ref, heldChunks: [1, 3]))
        #expect(!reopened.has(blob.ref.id) && reopened.heldCount == 0)
        try reopened.writeChunk(ref: blob.ref, index: 0, bytes: blob.chunk(0))
        #expect(try reopened.writeChunk(ref: blob.ref, index: 2, bytes: blob.chunk(2)) == .complete)
        let again = try BlobStore(directory: scratch.path, maxBlobBytes: Self.max)
        #expect(again.status(blob.ref) == .complete(ref: blob.ref))
        #expect(try readAll(again, blob.ref.id) == blob.bytes)
        #expect(try again.remove(blob.ref.id))
        #expect(try BlobStore(directory: scratch.path, maxBlobBytes: Self.max).status(blob.ref) == .absent)
        #expect(scratch.files() == ["partial"])
    }

    @Test func leftoversOfACrashAreCleanedOnOpen() throws {
        let scratch = try ScratchDirectory()
        let complete = TestBlob(length: 10)
        let partial = TestBlob(length: blobChunkBytes + 10, offset: 3)
        do {
            let store = try BlobStore(directory: scratch.path, maxBlobBytes: Self.max)
            try store.writeChunk(ref: complete.ref, index: 0, bytes: complete.chunk(0))
            try store.writeChunk(ref: partial.ref, index: 1, bytes: partial.chunk(1))
        }
        let partialName = "\(partial.ref.id.hex)-\(partial.ref.length)"
        let partialFile = "partial/" + partialName
        #expect(scratch.files(under: "partial") == [partialName, partialName + ".leaves"])
        let orphanLeaves = TestBlob(length: 20, offset: 9).ref.id.hex + ".leaves"
        let leftovers = [
            "\(complete.ref.id.hex).tmp-7", orphanLeaves, "partial/\(complete.ref.id.hex)-10",
            "partial/\(complete.ref.id.hex)-10.leaves", "partial/not-a-blob", "partial/\(orphanLeaves)",
            // A partial of the older layout, one file per chunk.
            "partial/\(TestBlob(length: 30, offset: 5).ref.id.hex)-30/0",
        ]
        for name in leftovers {
            let path = scratch.path + "/" + name
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3])))
        }

        let store = try BlobStore(directory: scratch.path, maxBlobBytes: Self.max)
        #expect(store.status(complete.ref) == .complete(ref: complete.ref))
        #expect(store.status(partial.ref) == .partial(ref: partial.ref, heldChunks: [1]))
        #expect(
            scratch.files() == [
                complete.ref.id.hex, complete.ref.id.hex + ".leaves", "partial", partialFile, partialFile + ".leaves",
            ].sorted())
    }

    /// A partial's chunks and records are not fsynced: after a power loss a record may survive without its bytes
    /// (zeros, say), even though the chunk's proof was checked when it arrived. Opening the store re-hashes every
    /// recorded chunk and forgets the ones that no longer match, so they are fetched again.
    @Test func aChunkTornByAPowerLossIsNotHeldAfterARestart() throws {
        let scratch = try ScratchDirectory()
        let blob = TestBlob(length: 2 * blobChunkBytes + 5)
        do {
            let store = try BlobStore(directory: scratch.path, maxBlobBytes: Self.max)
            try store.writeChunk(ref: blob.ref, index: 0, bytes: blob.chunk(0), proof: blob.proof(0))
            try store.writeChunk(ref: blob.ref, index: 2, bytes: blob.chunk(2), proof: blob.proof(2))
        }
        let data = try #require(
            FileHandle(forWritingAtPath: scratch.path + "/partial/\(blob.ref.id.hex)-\(blob.ref.length)"))
        try data.seek(toOffset: 100)
        try data.write(contentsOf: Data([0, 0, 0]))
        try data.close()

        let store = try BlobStore(directory: scratch.path, maxBlobBytes: Self.max)
        #expect(store.status(blob.ref) == .partial(ref: blob.ref, heldChunks: [2]))
        // The cleared record stays cleared: another restart does not trust the chunk either.
        #expect(try BlobStore(directory: scratch.path, maxBlobBytes: Self.max).status(blob.ref)
            == .partial(ref: blob.ref, heldChunks: [2]))
        try store.writeChunk(ref: blob.ref, index: 1, bytes: blob.chunk(1), proof: blob.proof(1))
        #expect(try store.writeChunk(ref: blob.ref, index: 0, bytes: blob.chunk(0), proof: blob.proof(0)) == .complete)
        #expect(try readAll(store, blob.ref.id) == blob.bytes)
        #expect(scratch.files() == [blob.ref.id.hex, blob.ref.id.hex + ".leaves", "partial"])
    }

    @Test func anIdlePartialCanBeRemovedAlone() throws {
        let scratch = try ScratchDirectory()
        let store = try BlobStore(directory: scratch.path, maxBlobBytes: Self.max)
        let blob = TestBlob(length: blobChunkBytes + 1)
        let longer = BlobRef(id: blob.ref.id, length: blob.ref.length + 1)
        try store.writeChunk(ref: blob.ref, index: 0, bytes: blob.chunk(0))
        try store.writeChunk(ref: longer, index: 1, bytes: [1, 2])
        #expect(store.partials.map(\.ref) == [blob.ref, longer] && store.partials.map(\.heldChunks) == [1, 1])
        #expect(try store.removePartial(longer))
        #expect(try !store.removePartial(longer))
        #expect(store.partials.map(\.ref) == [blob.ref])
        #expect(try store.writeChunk(ref: blob.ref, index: 1, bytes: blob.chunk(1)) == .complete)
        #expect(store.partials.isEmpty)
    }

    @Test func concurrentWritersOfOneBlobCompleteItOnce() async throws {
        let scratch = try ScratchDirectory()
        let store = try BlobStore(directory: scratch.path, maxBlobBytes: Self.max)
        let blob = TestBlob(length: 6 * blobChunkBytes + 3)
        let outcomes = try await withThrowingTaskGroup(of: ChunkWriteOutcome.self) { group in
            // Every chunk twice, from different tasks, as two peers might serve them.
            for index in Array(0..<blob.ref.chunkCount) + Array(0..<blob.ref.chunkCount) {
                let (ref, bytes, proof) = (blob.ref, blob.chunk(index), blob.proof(index))
                group.addTask { try store.writeChunk(ref: ref, index: index, bytes: bytes, proof: proof) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.contains(.complete))
        #expect(store.status(blob.ref) == .complete(ref: blob.ref))
        #expect(store.heldBytes == blob.ref.length)
        #expect(try readAll(store, blob.ref.id) == blob.bytes)
        #expect(scratch.files() == [blob.ref.id.hex, blob.ref.id.hex + ".leaves", "partial"])
    }

    @Test func maxBlobBytesCanChange() throws {
        let scratch = try ScratchDirectory()
        let store = try BlobStore(directory: scratch.path, maxBlobBytes: 5)
        let blob = TestBlob(length: 6)
        #expect(throws: BlobError.tooLarge(length: 6, max: 5)) { try store.writeChunk(ref: blob.ref, index: 0, bytes: blob.chunk(0)) }
        store.maxBlobBytes = 6
        #expect(try store.writeChunk(ref: blob.ref, index: 0, bytes: blob.chunk(0)) == .complete)
    }
}

/// A full disk: a 3 MiB tmpfs as the store's directory (needs root to mount; skipped with a note otherwise).
@Suite struct BlobStoreDiskFullTests {
    @Test func aFullDiskGivesAClearErrorAndLeavesTheStoreConsistent() throws {
        let scratch = try ScratchDirectory()
        guard mount("tmpfs", scratch.path, "tmpfs", 0, "size=3m") == 0 else {
            print("skipped: cannot mount a tmpfs here (errno \(errno)); the disk-full test needs root")
            return
        }
        defer { umount(scratch.path) }
        let store = try BlobStore(directory: scratch.path + "/blobs", maxBlobBytes: 64 << 20)
        let big = TestBlob(length: 5 * blobChunkBytes)
        var held: [Int] = []
        var failure: BlobError?
        for index in 0..<big.ref.chunkCount {
            do {
                try store.writeChunk(ref: big.ref, index: index, bytes: big.chunk(index), proof: big.proof(index))
                held.append(index)
            } catch {
                failure = error
                break
            }
        }
        guard case .diskFull = try #require(failure) else {
            Issue.record("expected diskFull, got \(String(describing: failure))")
            return
        }
        #expect(held.count <= 3, "3 MiB holds at most three chunks")
        #expect(store.status(big.ref) == .partial(ref: big.ref, heldChunks: held))
        #expect(!scratch.files().contains { $0.contains(".tmp-") })
        #expect(try store.remove(big.ref.id))

        // Completing a blob renames its partial file into place: 2.5 MiB completes in 3 MiB (no second copy).
        let medium = TestBlob(length: 2 * blobChunkBytes + blobChunkBytes / 2, offset: 1)
        for index in 0..<medium.ref.chunkCount { try store.writeChunk(ref: medium.ref, index: index, bytes: medium.chunk(index)) }
        #expect(try readAll(store, medium.ref.id) == medium.bytes)
        #expect(scratch.files(under: "blobs/partial").isEmpty)
        // A chunk refused for lack of room can be sent again once there is room; what was held stays.
        let small = TestBlob(length: blobChunkBytes + 1, offset: 2)
        try store.writeChunk(ref: small.ref, index: 1, bytes: small.chunk(1))
        #expect(throws: BlobError.self) { try store.writeChunk(ref: small.ref, index: 0, bytes: small.chunk(0)) }
        #expect(store.status(small.ref) == .partial(ref: small.ref, heldChunks: [1]))
        #expect(mount("tmpfs", scratch.path, "tmpfs", UInt(MS_REMOUNT), "size=8m") == 0)
        let reopened = try BlobStore(directory: scratch.path + "/blobs", maxBlobBytes: 64 << 20)
        #expect(reopened.status(small.ref) == .partial(ref: small.ref, heldChunks: [1]))
        #expect(try reopened.writeChunk(ref: small.ref, index: 0, bytes: small.chunk(0)) == .complete)
        #expect(try readAll(reopened, small.ref.id) == small.bytes)
    }
}
