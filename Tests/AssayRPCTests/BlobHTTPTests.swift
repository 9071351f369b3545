import AssayAPI
import AssayBlobs
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AssayRPC

/// Bytes `k mod 251` from `offset` on (docs/encoding.md's test pattern), with their id.
struct PatternBlob {
    let bytes: [UInt8]
    let id: BlobID

    init(length: Int, offset: Int = 0) {
        bytes = (0..<length).map { UInt8(($0 + offset) % 251) }
        var hasher = BlobHasher()
        hasher.update(bytes)
        id = hasher.finish().id
    }

    var length: Int { bytes.count }
    func slice(_ range: Range<Int>) -> ByteBuffer { ByteBuffer(bytes: bytes[range]) }
}

private let chunk = blobChunkBytes

/// Runs `body` against a live server (127.0.0.1, a free port) over `node`, stopped afterwards.
private func withServer(_ node: FakeNode = FakeNode(), _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
    try await RPCServer(config: RPCServerConfig(port: 0), node: node).application().test(.live, body)
}

/// The response body as JSON (null when it is not JSON, which the expectations then reject).
private func json(_ response: TestResponse) -> JSONValue { (try? JSONValue.parse(Array(buffer: response.body))) ?? .null }

private func reason(_ response: TestResponse) -> JSONValue? { json(response)["error"]?["reason"] }

@Suite struct BlobHTTPTests {
    @Test func uploadsInOneGoThenServesTheBlobAndItsRanges() async throws {
        let blob = PatternBlob(length: 2 * chunk + 12_345)
        let node = FakeNode()
        try await withServer(node) { client in
            try await client.execute(uri: "/blobs/\(blob.id)/status", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(reason(response) == .string("not_found"))
            }
            try await client.execute(
                uri: "/blobs/\(blob.id)?length=\(blob.length)", method: .put, body: blob.slice(0..<blob.length)
            ) { response in
                #expect(response.status == .ok)
                let status = json(response)
                #expect(status["complete"] == .bool(true))
                #expect(status["chunk_count"] == .integer(3))
            }
            try await client.execute(uri: "/blobs/\(blob.id)/status", method: .get) { response in
                let status = json(response)
                #expect(status["id"] == .string(blob.id.hex))
                #expect(status["length"] == .integer(Int64(blob.length)))
                #expect(status["held_chunks"] == .array([.integer(0), .integer(1), .integer(2)]))
            }
            try await client.execute(uri: "/blobs/\(blob.id)", method: .get) { response in
                #expect(response.status == .ok)
                #expect(Array(buffer: response.body) == blob.bytes)
            }
            let middle = chunk - 10..<chunk + 20
            try await client.execute(
                uri: "/blobs/\(blob.id)", method: .get, headers: [.range: "bytes=\(middle.lowerBound)-\(middle.upperBound - 1)"]
            ) { response in
                #expect(response.status == .partialContent)
                #expect(response.headers[.contentRange] == "bytes \(middle.lowerBound)-\(middle.upperBound - 1)/\(blob.length)")
                #expect(Array(buffer: response.body) == Array(blob.bytes[middle]))
            }
            try await client.execute(uri: "/blobs/\(blob.id)", method: .get, headers: [.range: "bytes=-100"]) { response in
                #expect(response.status == .partialContent)
                #expect(Array(buffer: response.body) == Array(blob.bytes.suffix(100)))
            }
            try await client.execute(uri: "/blobs/\(blob.id)", method: .get, headers: [.range: "bytes=\(blob.length)-"]) { response in
                #expect(response.status == .rangeNotSatisfiable)
                #expect(response.headers[.contentRange] == "bytes */\(blob.length)")
            }
            try await client.execute(uri: "/blobs/\(blob.id)", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentLength] == String(blob.length))
            }
        }
        #expect(node.blobs.status(blob.id) == .complete(ref: BlobRef(id: blob.id, length: UInt64(blob.length))))
    }

    @Test func resumesAnUploadSentInTwoParts() async throws {
        let blob = PatternBlob(length: 3 * chunk + 7)
        try await withServer { client in
            let first = 0..<2 * chunk
            try await client.execute(
                uri: "/blobs/\(blob.id)", method: .put,
                headers: [.contentRange: "bytes 0-\(first.upperBound - 1)/\(blob.length)"], body: blob.slice(first)
            ) { response in
                #expect(response.status == .ok)
                #expect(json(response)["complete"] == .bool(false))
            }
            try await client.execute(uri: "/blobs/\(blob.id)/status", method: .get) { response in
                #expect(json(response)["held_chunks"] == .array([.integer(0), .integer(1)]))
            }
            let rest = 2 * chunk..<blob.length
            try await client.execute(
                uri: "/blobs/\(blob.id)?length=\(blob.length)", method: .put,
                headers: [.contentRange: "bytes \(rest.lowerBound)-\(rest.upperBound - 1)/\(blob.length)"],
                body: blob.slice(rest)
            ) { response in
                #expect(response.status == .ok)
                #expect(json(response)["complete"] == .bool(true))
            }
            let call = #"{"jsonrpc":"2.0","id":1,"method":"blob_status","params":[""# + blob.id.hex + #""]}"#
            try await client.execute(uri: "/", method: .post, body: ByteBuffer(string: call)) { response in
                let result = json(response)["result"]
                #expect(result?["complete"] == .bool(true))
                #expect(result?["chunk_count"] == .integer(4))
            }
            try await client.execute(uri: "/blobs/\(blob.id)", method: .get) { response in
                #expect(Array(buffer: response.body) == blob.bytes)
            }
        }
    }

    @Test func uploadsTheEmptyBlob() async throws {
        let blob = PatternBlob(length: 0)
        try await withServer { client in
            try await client.execute(uri: "/blobs/\(blob.id)?length=0", method: .put) { response in
                #expect(response.status == .ok)
                #expect(json(response)["complete"] == .bool(true))
            }
            try await client.execute(uri: "/blobs/\(blob.id)", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
            }
        }
    }

    @Test func refusesBadUploadsWithTheirCodesAndKeepsTheStoreConsistent() async throws {
        let blob = PatternBlob(length: chunk + 100)
        let other = PatternBlob(length: chunk + 100, offset: 1)
        let node = FakeNode(maxBlobBytes: 2 * UInt64(chunk))
        let ref = BlobRef(id: blob.id, length: UInt64(blob.length))
        try await withServer(node) { client in
            let refusals: [(uri: String, headers: HTTPFields, body: ByteBuffer, status: HTTPResponse.Status, reason: String)] = [
                ("/blobs/\(blob.id.hex.uppercased())?length=\(blob.length)", [:], blob.slice(0..<blob.length), .badRequest, "bad_id"),
                ("/blobs/xyz?length=1", [:], ByteBuffer(bytes: [1]), .badRequest, "bad_id"),
                ("/blobs/\(blob.id)?length=\(3 * chunk)", [:], ByteBuffer(bytes: [1]), .contentTooLarge, "too_large"),
                ("/blobs/\(blob.id)?length=\(blob.length + 1)", [:], blob.slice(0..<blob.length), .badRequest, "wrong_length"),
                ("/blobs/\(blob.id)?length=-1", [:], blob.slice(0..<blob.length), .badRequest, "bad_length"),
                (
                    "/blobs/\(blob.id)", [.contentRange: "bytes 10-\(chunk - 1)/\(blob.length)"],
                    blob.slice(10..<chunk), .badRequest, "unaligned_range"
                ),
                (
                    "/blobs/\(blob.id)?length=5", [.contentRange: "bytes 0-\(chunk - 1)/\(blob.length)"],
                    blob.slice(0..<chunk), .badRequest, "wrong_length"
                ),
                // The right length, another blob's bytes: every chunk arrives, the root does not match.
                ("/blobs/\(blob.id)?length=\(blob.length)", [:], other.slice(0..<other.length), .unprocessableContent, "root_mismatch"),
            ]
            for refusal in refusals {
                try await client.execute(uri: refusal.uri, method: .put, headers: refusal.headers, body: refusal.body) {
                    response in
                    #expect(response.status == refusal.status, "\(refusal.uri) \(refusal.headers)")
                    #expect(reason(response) == .string(refusal.reason), "\(refusal.uri)")
                }
            }
            #expect(node.blobs.status(blob.id) == .absent)
            try await client.execute(uri: "/blobs/\(blob.id)", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/blobs/nothex/status", method: .get) { #expect($0.status == .badRequest) }

            // After all that, the right upload still completes; a second one claiming another length is refused.
            try await client.execute(uri: "/blobs/\(blob.id)?length=\(blob.length)", method: .put, body: blob.slice(0..<blob.length)) {
                #expect($0.status == .ok)
            }
            try await client.execute(
                uri: "/blobs/\(blob.id)?length=\(blob.length - 100)", method: .put, body: blob.slice(0..<blob.length - 100)
            ) { response in
                #expect(response.status == .unprocessableContent)
                #expect(reason(response) == .string("length_mismatch"))
            }
        }
        #expect(node.blobs.status(blob.id) == .complete(ref: ref))
        #expect(node.blobs.heldCount == 1)
    }

    /// A 3 MiB tmpfs as the blob directory (mounting needs root; skipped with a note otherwise).
    @Test func aFullDiskGives507AndKeepsTheChunksThatFit() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("assay-rpc-full-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        guard mount("tmpfs", scratch, "tmpfs", 0, "size=3m") == 0 else {
            print("skipped: cannot mount a tmpfs here (errno \(errno)); the disk-full test needs root")
            return
        }
        defer { umount(scratch) }
        let blob = PatternBlob(length: 5 * chunk)
        let node = FakeNode(blobDirectory: scratch + "/blobs")
        try await withServer(node) { client in
            try await client.execute(uri: "/blobs/\(blob.id)?length=\(blob.length)", method: .put, body: blob.slice(0..<blob.length)) {
                response in
                #expect(response.status.code == 507)
                #expect(reason(response) == .string("disk_full"))
            }
            try await client.execute(uri: "/blobs/\(blob.id)/status?length=\(blob.length)", method: .get) { response in
                let held = json(response)["held_chunks"]
                guard case let .array(indices)? = held else { return #expect(Bool(false), "no held_chunks: \(String(describing: held))") }
                #expect(indices.count <= 3, "3 MiB holds at most three chunks")
            }
        }
        let names = try FileManager.default.subpathsOfDirectory(atPath: scratch)
        #expect(!names.contains { $0.contains(".tmp-") })
        #expect(!node.blobs.has(blob.id))
    }
}

@Suite struct BlobHTTPParsingTests {
    @Test func parsesSingleByteRanges() {
        #expect(ByteRange.parse("bytes=0-9", length: 100) == .part(0..<10))
        #expect(ByteRange.parse("bytes=90-", length: 100) == .part(90..<100))
        #expect(ByteRange.parse("bytes=95-200", length: 100) == .part(95..<100))
        #expect(ByteRange.parse("bytes=-10", length: 100) == .part(90..<100))
        #expect(ByteRange.parse("bytes=-1000", length: 100) == .part(0..<100))
        #expect(ByteRange.parse("bytes=100-", length: 100) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=-0", length: 100) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=0-", length: 0) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=0-1,5-6", length: 100) == .whole)
        #expect(ByteRange.parse("items=0-1", length: 100) == .whole)
        #expect(ByteRange.parse("bytes=9-1", length: 100) == .whole)
        // The largest position a client can write must not overflow (it once trapped the node).
        #expect(ByteRange.parse("bytes=0-\(UInt64.max)", length: 100) == .part(0..<100))
    }

    @Test func plansUploadsFromLengthAndContentRange() throws {
        let id = PatternBlob(length: 0).id
        let total = 3 * chunk + 5
        let whole = try UploadPlan(id: id, length: String(total), contentRange: nil, contentLength: String(total))
        #expect(whole.chunks == 0..<4)
        let tail = try UploadPlan(id: id, length: nil, contentRange: "bytes \(3 * chunk)-\(total - 1)/\(total)", contentLength: "5")
        #expect(tail.chunks == 3..<4)
        try tail.checkContentLength()
        #expect(throws: BlobHTTPError.self) {
            try UploadPlan(id: id, length: String(total), contentRange: nil, contentLength: "5").checkContentLength()
        }
        #expect(tail.ref.length == UInt64(total))
        #expect(try UploadPlan(id: id, length: "0", contentRange: nil, contentLength: nil).chunks == 0..<1)
        #expect(throws: BlobHTTPError.self) { try UploadPlan(id: id, length: nil, contentRange: nil, contentLength: nil) }
        #expect(throws: BlobHTTPError.self) {
            try UploadPlan(id: id, length: nil, contentRange: "bytes 0-\(chunk)/\(total)", contentLength: nil)
        }
        #expect(throws: BlobHTTPError.self) {
            try UploadPlan(id: id, length: nil, contentRange: "bytes 0-\(total)/\(total)", contentLength: nil)
        }
    }

    /// Positions and lengths near 2^64 are refused or planned, never trapped on (each once crashed the node).
    @Test func plansNeverOverflowOnTheLargestNumbers() throws {
        let id = PatternBlob(length: 0).id
        #expect(throws: BlobHTTPError.self) {
            try UploadPlan(id: id, length: nil, contentRange: "bytes 0-\(UInt64.max)/\(UInt64.max)", contentLength: nil)
        }
        let huge = try UploadPlan(id: id, length: String(UInt64.max), contentRange: nil, contentLength: nil)
        #expect(huge.bodyBytes == UInt64.max)
    }
}
