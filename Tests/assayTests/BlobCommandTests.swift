import Foundation
import Testing

@testable import assay

@Suite("assay blob")
struct BlobCommandTests {
    @Test func groupsMissingChunksIntoBoundedRuns() {
        #expect(BlobCommand.Put.runs([], longest: 8) == [])
        #expect(BlobCommand.Put.runs([0, 1, 2, 5, 6, 9], longest: 8) == [0..<3, 5..<7, 9..<10])
        #expect(BlobCommand.Put.runs(Array(0..<20), longest: 8) == [0..<8, 8..<16, 16..<20])
    }

    /// The file is hashed in pieces to the id docs/encoding.md gives for the 5,243,003-byte test blob.
    @Test func hashesAFileToTheDocumentedID() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("assay-blob-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data((0..<5_243_003).map { UInt8($0 % 251) })))
        let ref = try BlobCommand.Put.hash(path)
        #expect(ref.id.hex == "794b9c1f653cf6d33baef518592e458f10096010c247fdb281e296afd2796372")
        #expect(ref.length == 5_243_003)
        #expect(throws: CommandFailure.self) { try BlobCommand.Put.hash(path + ".missing") }
    }
}
