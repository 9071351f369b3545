import AssayBlobs
import Foundation
import Testing

/// Kills `assay debug write-blobs` (Sources/assay/DebugCommand.swift) at random points and checks the blob store
/// it leaves: every blob is complete and verified or not complete at all, and partials resume.
@Suite struct BlobCrashTests {
    static let chunks = 6

    /// Blob k of the writer: `chunks` MiB + 123 + k bytes, byte i = (i + k) mod 251.
    static func blob(_ k: Int) -> [UInt8] {
        // Whole cycles of the 251-byte pattern, appended, rather than one closure call per byte (slow in debug).
        let length = chunks * blobChunkBytes + 123 + k
        let cycle = (0..<251).map { UInt8(($0 + k) % 251) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(length + cycle.count)
        while bytes.count < length { bytes += cycle }
        return Array(bytes.prefix(length))
    }

    @Test func killedWriterLeavesOnlyVerifiedBlobs() throws {
        let directory = try TemporaryDirectory()
        let path = directory.child("blobs")
        var random = SystemRandomNumberGenerator()
        var partialsSeen = 0
        for round in 0..<4 {
            // The kill lands somewhere in the work after the writer reports this many chunks stored.
            let chunksBeforeKill = Int.random(in: 1...(3 * (Self.chunks + 1)), using: &random)
            try killWriter(directory: path, firstBlob: 100 * round, afterChunks: chunksBeforeKill)
            let store = try BlobStore(directory: path, maxBlobBytes: .max)
            let context = "round \(round), killed after \(chunksBeforeKill) chunks"
            for ref in store.heldRefs {
                let k = Int(ref.length) - Self.chunks * blobChunkBytes - 123
                try #require((0..<1000).contains(k), "\(context): unexpected \(ref)")
                let reader = try store.open(ref.id)
                var hasher = BlobHasher()
                while let piece = try reader.next() { hasher.update(piece) }
                #expect(hasher.finish().ref == ref, "\(context): \(ref) is corrupt")
            }
            let leftovers = try FileManager.default.subpathsOfDirectory(atPath: path).filter { $0.contains(".tmp-") }
            #expect(leftovers.isEmpty, "temporary files survived opening the store: \(leftovers)")
            partialsSeen += try resumePartials(store, directory: path)
        }
        // Kills land mid-blob or mid-assembly most rounds; each such partial must resume above.
        print("blob crash test: \(partialsSeen) partial blobs resumed after kills")
    }

    /// Completes every partial the writer left, from its held chunks plus the missing ones; returns how many.
    private func resumePartials(_ store: BlobStore, directory: String) throws -> Int {
        let partials = try FileManager.default.contentsOfDirectory(atPath: directory + "/partial")
            .filter { !$0.hasSuffix(".leaves") }.sorted()
        for name in partials {
            let parts = name.split(separator: "-")
            let ref = BlobRef(id: try #require(BlobID(hex: String(parts[0]))), length: try #require(UInt64(parts[1])))
            guard case let .partial(_, held) = store.status(ref) else {
                Issue.record("\(ref) has a partial file but is not reported partial")
                continue
            }
            let bytes = Self.blob(Int(ref.length) - Self.chunks * blobChunkBytes - 123)
            for index in 0..<ref.chunkCount where !held.contains(index) {
                let chunk = Array(bytes[index * blobChunkBytes..<min(bytes.count, (index + 1) * blobChunkBytes)])
                try store.writeChunk(ref: ref, index: index, bytes: chunk)
            }
            // Every chunk is now held; this assembles if the last write above did not (none were missing).
            #expect(try store.finish(ref), "\(ref) did not complete from its resumed chunks")
        }
        return partials.count
    }

    private func killWriter(directory: String, firstBlob: Int, afterChunks: Int) throws {
        let writer = Process()
        writer.executableURL = try AssayBinary.url()
        writer.arguments = [
            "debug", "write-blobs", "--dir", directory, "--chunks", "\(Self.chunks)", "--first", "\(firstBlob)",
        ]
        let output = Pipe()
        writer.standardOutput = output
        try writer.run()
        var reported = 0
        while reported < afterChunks {
            // Blocks until the writer prints more (or exits, giving empty data).
            let data = output.fileHandleForReading.availableData
            try #require(!data.isEmpty, "the writer stopped after \(reported) chunks")
            reported += String(decoding: data, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("chunk") }.count
        }
        kill(writer.processIdentifier, SIGKILL)
        writer.waitUntilExit()
        #expect(writer.terminationReason == .uncaughtSignal)
    }
}
