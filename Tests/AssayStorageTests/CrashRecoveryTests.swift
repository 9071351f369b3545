import AssayRocksDB
import AssayStorage
import Foundation
import Testing

/// Kills a process in the middle of writing batches and checks what survives in its RocksDB directory.
@Suite struct CrashRecoveryTests {
    /// The layout written by `assay debug write-batches` (Sources/assay/DebugCommand.swift): batch n puts
    /// keys `n(8 bytes, big-endian) ‖ i` -> n in `crash-keys` and the marker n -> key count in `crash-markers`.
    let keys = Namespace("crash-keys")
    let markers = Namespace("crash-markers")

    @Test func killedWriterLeavesOnlyWholeBatches() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.child("db")
        let writer = Process()
        writer.executableURL = try AssayBinary.url()
        writer.arguments = ["debug", "write-batches", "--dir", path]
        let output = Pipe()
        writer.standardOutput = output
        try writer.run()
        // Blocks until the writer reports its first batch (or exits, giving empty data).
        let started = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        try #require(started.contains("writing"), "the writer did not start: '\(started)'")
        try await Task.sleep(for: .milliseconds(700))
        kill(writer.processIdentifier, SIGKILL)
        writer.waitUntilExit()
        #expect(writer.terminationReason == .uncaughtSignal)

        let store = try RocksDBStore(path: path, namespaces: [keys, markers], createIfMissing: false)
        let marked = try store.scan(markers, prefix: [])
        let batchCount = UInt64(marked.count)
        #expect(batchCount > 1, "the writer should have finished several batches before the kill")
        // Batches are written one after another, so the survivors are exactly batches 0..<count.
        #expect(marked.map(\.key) == (0..<batchCount).map(Self.tag))
        let keysPerBatch = try #require(marked.first?.value.first)
        #expect(marked.allSatisfy { $0.value == [keysPerBatch] })

        let written = try store.scan(keys, prefix: [])
        #expect(written.count == Int(batchCount) * Int(keysPerBatch), "a batch survived in part")
        let expected = (0..<batchCount).flatMap { number in
            (0..<keysPerBatch).map { (key: Self.tag(number) + [$0], value: Self.tag(number)) }
        }
        #expect(written.map(\.key) == expected.map(\.key))
        #expect(written.map(\.value) == expected.map(\.value))
    }

    static func tag(_ number: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: number >> (56 - 8 * $0)) }
    }
}

/// The `assay` executable built beside this test bundle (`swift test` builds every product).
enum AssayBinary {
    static func url() throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL.deletingLastPathComponent(),
            Bundle.main.bundleURL,
        ].map { $0.appendingPathComponent("assay") }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            let searched = candidates.map(\.path).joined(separator: ", ")
            throw AssayBinaryMissing(description: "no assay executable beside the tests (searched \(searched)); run `swift build` first")
        }
        return found
    }
}

struct AssayBinaryMissing: Error, CustomStringConvertible {
    let description: String
}
