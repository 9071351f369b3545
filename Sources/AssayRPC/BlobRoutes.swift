import AssayAPI
import AssayBlobs
import Foundation
import Hummingbird
import NIOCore
import NIOPosix

/// HTTP upload and download of blobs on the RPC port (docs/rpc.md, Blobs):
/// `PUT /blobs/{id}?length=N` (streamed, resumable with `Content-Range`), `GET /blobs/{id}/status`,
/// `GET`/`HEAD /blobs/{id}` (with a single `Range`). Bodies are never held whole: an upload is cut into chunks as it
/// arrives, each written to the store on NIO's blocking-I/O pool; a download is read in pieces.
struct BlobRoutes: Sendable {
    let store: BlobStore

    /// Pieces a download is read and sent in: small enough to keep many concurrent downloads cheap.
    static let downloadPieceBytes = 256 << 10

    func register(on router: Router<BasicRequestContext>) {
        router.put("/blobs/:id") { request, context in await respond { try await upload(request, context) } }
        router.get("/blobs/:id/status") { request, context in await respond { try status(request, context) } }
        router.get("/blobs/:id") { request, context in await respond { try download(request, context, body: true) } }
        router.head("/blobs/:id") { request, context in await respond { try download(request, context, body: false) } }
    }

    // MARK: Handlers

    private func status(_ request: Request, _ context: BasicRequestContext) throws(BlobHTTPError) -> Response {
        let id = try blobID(context)
        let length = try request.uri.queryParameters.get("length").map { text throws(BlobHTTPError) in
            try Self.number(String(text), name: "length")
        }
        guard let view = BlobStatusView.of(id, length: length, in: store) else {
            throw BlobHTTPError(.notFound, "not_found", "blob \(id) is not held, not even in part")
        }
        return Self.json(view, status: .ok)
    }

    private func upload(_ request: Request, _ context: BasicRequestContext) async throws(BlobHTTPError) -> Response {
        let plan = try UploadPlan(
            id: try blobID(context), length: request.uri.queryParameters.get("length").map { String($0) },
            contentRange: request.headers[.contentRange], contentLength: request.headers[.contentLength])
        do throws(BlobError) { try store.checkSize(plan.ref) } catch { throw BlobHTTPError(error) }
        try plan.checkContentLength()
        var chunk = plan.chunks.lowerBound
        var pending: [UInt8] = []
        pending.reserveCapacity(blobChunkBytes)
        do {
            for try await var buffer in request.body {
                while buffer.readableBytes > 0 {
                    guard chunk < plan.chunks.upperBound else { throw BlobHTTPError.bodyLength(plan, longer: true) }
                    let take = min(chunkLength(index: chunk, length: plan.ref.length) - pending.count, buffer.readableBytes)
                    pending.append(contentsOf: buffer.readBytes(length: take)!)
                    try await storeIfFull(&pending, &chunk, plan)
                }
            }
        } catch let error as BlobHTTPError { throw error } catch {
            throw BlobHTTPError(.badRequest, "body_error", "the request body could not be read: \(error)")
        }
        // The empty blob is one empty chunk, full before any byte arrives.
        try await storeIfFull(&pending, &chunk, plan)
        guard chunk == plan.chunks.upperBound else { throw BlobHTTPError.bodyLength(plan, longer: false) }
        return Self.json(BlobStatusView.of(plan.ref, in: store), status: .ok)
    }

    /// Writes the pending bytes as chunk `chunk` once they make it whole, then moves on to the next chunk.
    private func storeIfFull(_ pending: inout [UInt8], _ chunk: inout Int, _ plan: UploadPlan) async throws(BlobHTTPError) {
        guard chunk < plan.chunks.upperBound, pending.count == chunkLength(index: chunk, length: plan.ref.length) else {
            return
        }
        let (store, bytes, index) = (store, pending, chunk)
        do {
            // File writes and fsyncs block, so they run on NIO's pool rather than on a concurrency thread.
            _ = try await NIOThreadPool.singleton.runIfActive { try store.writeChunk(ref: plan.ref, index: index, bytes: bytes) }
        } catch let error as BlobError { throw BlobHTTPError(error) } catch {
            throw BlobHTTPError(.serviceUnavailable, "unavailable", "the node is shutting down: \(error)")
        }
        pending.removeAll(keepingCapacity: true)
        chunk += 1
    }

    private func download(_ request: Request, _ context: BasicRequestContext, body: Bool) throws(BlobHTTPError) -> Response {
        let id = try blobID(context)
        guard case let .complete(ref) = store.status(id) else {
            throw BlobHTTPError(.notFound, "not_found", "blob \(id) is not held in full")
        }
        var headers: HTTPFields = [.contentType: "application/octet-stream", .acceptRanges: "bytes"]
        var status = HTTPResponse.Status.ok
        var range = 0..<ref.length
        if let header = request.headers[.range] {
            switch ByteRange.parse(header, length: ref.length) {
            case .whole: break
            case let .part(part):
                range = part
                status = .partialContent
                headers[.contentRange] = "bytes \(part.lowerBound)-\(part.upperBound - 1)/\(ref.length)"
            case .unsatisfiable:
                throw BlobHTTPError(
                    .rangeNotSatisfiable, "range_not_satisfiable",
                    "range '\(header)' lies outside the blob of \(ref.length) bytes",
                    headers: [.contentRange: "bytes */\(ref.length)"])
            }
        }
        headers[.contentLength] = String(range.count)
        guard body else { return Response(status: status, headers: headers) }
        // Only the body writer touches the reader from here on.
        nonisolated(unsafe) let reader: BlobReader
        do throws(BlobError) { reader = try store.open(id, range: range) } catch { throw BlobHTTPError(error) }
        return Response(
            status: status, headers: headers,
            body: ResponseBody(contentLength: Int(range.count)) { writer in
                while let piece = try reader.next(maxBytes: Self.downloadPieceBytes) {
                    try await writer.write(ByteBuffer(bytes: piece))
                }
                try await writer.finish(nil)
            })
    }

    // MARK: Helpers

    private func blobID(_ context: BasicRequestContext) throws(BlobHTTPError) -> BlobID {
        let text = context.parameters.get("id") ?? ""
        guard let id = BlobID(hex: text) else {
            throw BlobHTTPError(.badRequest, "bad_id", "'\(text)' is not a blob id: 64 lower-case hex digits expected")
        }
        return id
    }

    static func number(_ text: String, name: String) throws(BlobHTTPError) -> UInt64 {
        guard let value = UInt64(text), String(value) == text else {
            throw BlobHTTPError(.badRequest, "bad_\(name)", "'\(name)' must be a decimal byte count, not '\(text)'")
        }
        return value
    }

    private func respond(_ handler: () async throws -> Response) async -> Response {
        do { return try await handler() } catch {
            let error = error as? BlobHTTPError ?? BlobHTTPError(.internalServerError, "internal", "\(error)")
            var response = Self.json(error.body, status: error.status)
            response.headers.append(contentsOf: error.headers)
            return response
        }
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: RPCDispatcher.encode(value))))
    }
}

/// What one `PUT /blobs/{id}` carries: the blob (id and length) and the chunks its body holds.
struct UploadPlan: Equatable, Sendable {
    let ref: BlobRef
    /// The chunk indices the body covers, in order.
    let chunks: Range<Int>
    /// The body's byte count.
    let bodyBytes: UInt64

    /// The length comes from `?length=`, else from the `Content-Range` total, else (a whole-blob upload) from
    /// `Content-Length`; when several are given they must agree. A `Content-Range` must start and end on chunk
    /// boundaries (the last chunk ends at the blob's end).
    init(id: BlobID, length: String?, contentRange: String?, contentLength: String?) throws(BlobHTTPError) {
        let stated = try length.map { text throws(BlobHTTPError) in try BlobRoutes.number(text, name: "length") }
        let sent = try contentLength.map { text throws(BlobHTTPError) in try BlobRoutes.number(text, name: "content_length") }
        let range = try contentRange.map { text throws(BlobHTTPError) in try ContentRange(text) }
        guard let total = stated ?? range?.total ?? sent else {
            throw BlobHTTPError(.lengthRequired, "length_required", "say the blob's length with ?length=N")
        }
        if let range, range.total != total {
            throw BlobHTTPError(
                .badRequest, "wrong_length", "Content-Range total \(range.total) differs from length \(total)")
        }
        ref = BlobRef(id: id, length: total)
        if let range, range.last >= total {
            throw BlobHTTPError(.badRequest, "bad_range", "Content-Range ends past the blob's \(total) bytes")
        }
        let bytes = range.map { $0.first..<($0.last + 1) } ?? 0..<total
        let chunk = UInt64(blobChunkBytes)
        guard bytes.lowerBound % chunk == 0, bytes.upperBound % chunk == 0 || bytes.upperBound == total else {
            throw BlobHTTPError(
                .badRequest, "unaligned_range",
                "Content-Range must start and end on \(chunk)-byte chunk boundaries (or at the blob's end)")
        }
        let first = Int(bytes.lowerBound / chunk)
        chunks = first..<(bytes.isEmpty ? first + (total == 0 ? 1 : 0) : Int((bytes.upperBound - 1) / chunk) + 1)
        bodyBytes = bytes.upperBound - bytes.lowerBound
        statedBodyBytes = sent
    }

    /// The `Content-Length` the request stated, if any.
    let statedBodyBytes: UInt64?

    /// Refuses a body whose stated size is not what the upload covers (checked after the blob's size, so an
    /// oversized blob gets 413 whatever its body).
    func checkContentLength() throws(BlobHTTPError) {
        guard let statedBodyBytes, statedBodyBytes != bodyBytes else { return }
        throw BlobHTTPError(
            .badRequest, "wrong_length", "Content-Length \(statedBodyBytes) differs from the \(bodyBytes) bytes the upload covers")
    }
}

/// `Content-Range: bytes FIRST-LAST/TOTAL` of an upload (inclusive byte positions).
struct ContentRange: Equatable {
    let first: UInt64
    let last: UInt64
    let total: UInt64

    init(_ text: String) throws(BlobHTTPError) {
        let bad = BlobHTTPError(
            .badRequest, "bad_range", "Content-Range must read 'bytes FIRST-LAST/TOTAL', not '\(text)'")
        guard text.hasPrefix("bytes ") else { throw bad }
        let parts = text.dropFirst("bytes ".count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let total = UInt64(parts[1]) else { throw bad }
        let ends = parts[0].split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count == 2, let first = UInt64(ends[0]), let last = UInt64(ends[1]), first <= last else { throw bad }
        (self.first, self.last, self.total) = (first, last, total)
    }
}

/// A request's `Range` header against a blob of `length` bytes: one range of the forms `bytes=a-b`, `bytes=a-`
/// and `bytes=-n` (RFC 9110 section 14.1.2). Headers this server does not understand (other units, several
/// ranges) are ignored, so the whole blob is sent, as the RFC allows.
enum ByteRange: Equatable {
    case whole
    case part(Range<UInt64>)
    case unsatisfiable

    static func parse(_ header: String, length: UInt64) -> ByteRange {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return .whole }
        let ends = header.dropFirst("bytes=".count).split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count == 2 else { return .whole }
        let (first, last) = (UInt64(ends[0].trimmingCharacters(in: .whitespaces)), UInt64(ends[1].trimmingCharacters(in: .whitespaces)))
        switch (first, last) {
        case let (first?, last):
            if let last, last < first { return .whole }
            guard first < length else { return .unsatisfiable }
            return .part(first..<(min(last ?? .max, length - 1) + 1))
        case let (nil, suffix?):
            guard suffix > 0, length > 0 else { return .unsatisfiable }
            return .part((length - min(suffix, length))..<length)
        case (nil, nil): return .whole
        }
    }
}

/// A refused blob request: its HTTP status and a JSON body `{"error": {"message", "reason"}}`.
struct BlobHTTPError: Error {
    let status: HTTPResponse.Status
    let reason: String
    let message: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ reason: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.reason = reason
        self.message = message
        self.headers = headers
    }

    init(_ error: BlobError) {
        let (status, reason): (HTTPResponse.Status, String) =
            switch error {
            case .notFound: (.notFound, "not_found")
            case .tooLarge: (.contentTooLarge, "too_large")
            case .wrongChunkLength, .chunkIndexOutOfRange: (.badRequest, "wrong_length")
            case .lengthMismatch: (.unprocessableContent, "length_mismatch")
            case .chunkMismatch: (.unprocessableContent, "chunk_mismatch")
            case .rootMismatch: (.unprocessableContent, "root_mismatch")
            case .rangeOutOfBounds: (.rangeNotSatisfiable, "range_not_satisfiable")
            case .diskFull: (HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), "disk_full")
            case .wrongLeafCount, .io: (.internalServerError, "io_error")
            }
        self.init(status, reason, error.description)
    }

    static func bodyLength(_ plan: UploadPlan, longer: Bool) -> BlobHTTPError {
        BlobHTTPError(
            .badRequest, "wrong_length",
            "the body is \(longer ? "longer" : "shorter") than the \(plan.bodyBytes) bytes the upload covers; "
                + "the whole chunks received are kept (see /status)")
    }

    var body: BlobRefusalView { BlobRefusalView(message: message, reason: reason) }
}
