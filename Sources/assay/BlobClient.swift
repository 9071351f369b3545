import AssayAPI
import AssayBlobs
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The node's blob routes (docs/rpc.md, Blobs over HTTP) for the command line: every request carries at most
/// `requestChunks` chunks, so neither side ever holds a whole blob.
struct BlobClient {
    let base: URL
    /// Chunks per upload request and per download range: 8 MiB bounds memory and keeps requests few.
    static let requestChunks = 8

    init(node: String) throws { base = try RPCClient(node: node).url }

    struct Status {
        let length: UInt64
        let complete: Bool
        let held: Set<Int>

        init(_ view: BlobStatusView) {
            length = view.length
            complete = view.complete
            held = Set(view.heldChunks)
        }
    }

    /// What the node holds of `id`: of the upload claiming `length` when given, else of the complete blob or its
    /// fullest partial; nil when nothing is held.
    func status(_ id: BlobID, length: UInt64? = nil) async throws -> Status? {
        let query = length.map { "?length=\($0)" } ?? ""
        let (data, response) = try await send(URLRequest(url: url("blobs/\(id.hex)/status\(query)")))
        if response.statusCode == 404 { return nil }
        return Status(try answer(data, response))
    }

    /// Sends `bytes`, which start at chunk `first` of `ref`; returns the status the node answers.
    func put(_ ref: BlobRef, first: Int, bytes: Data) async throws -> Status {
        var request = URLRequest(url: url("blobs/\(ref.id.hex)?length=\(ref.length)"), timeoutInterval: 120)
        request.httpMethod = "PUT"
        request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        if !bytes.isEmpty {
            let start = UInt64(first) * UInt64(blobChunkBytes)
            request.setValue(
                "bytes \(start)-\(start + UInt64(bytes.count) - 1)/\(ref.length)", forHTTPHeaderField: "Content-Range")
        }
        request.httpBody = bytes
        let (data, response) = try await send(request)
        return Status(try answer(data, response))
    }

    /// Bytes `range` of the complete blob `id`.
    func get(_ id: BlobID, range: Range<UInt64>) async throws -> Data {
        var request = URLRequest(url: url("blobs/\(id.hex)"), timeoutInterval: 120)
        request.setValue("bytes=\(range.lowerBound)-\(range.upperBound - 1)", forHTTPHeaderField: "Range")
        let (data, response) = try await send(request)
        guard response.statusCode == 206 || response.statusCode == 200 else { throw refusal(data, response) }
        guard data.count == range.count else {
            throw CommandFailure("the node sent \(data.count) bytes for range \(range) of blob \(id)")
        }
        return data
    }

    /// Streams the complete blob `ref` in ranges of `requestChunks` chunks, handing each piece to `consume` as it
    /// arrives while hashing it; throws unless the bytes hash to the id, so callers keep what they made of the
    /// pieces only when this returns.
    func download(_ ref: BlobRef, progress: ProgressBar? = nil, _ consume: (Data) throws -> Void) async throws {
        var hasher = BlobHasher()
        let step = UInt64(Self.requestChunks * blobChunkBytes)
        var offset: UInt64 = 0
        while offset < ref.length {
            let piece = try await get(ref.id, range: offset..<min(ref.length, offset + step))
            piece.withUnsafeBytes { hasher.update($0) }
            try consume(piece)
            offset += UInt64(piece.count)
            progress?.show(offset)
        }
        progress?.end()
        let actual = hasher.finish().id
        guard actual == ref.id else {
            throw CommandFailure("the node sent bytes that hash to \(actual), not to blob \(ref.id); nothing was kept")
        }
    }

    /// Writes `path` from `fill` under a temporary name beside it (so the rename stays on one file system), fsyncs
    /// and renames it: `path` appears only complete, and a failure leaves nothing behind.
    static func writeFile(_ path: String, _ fill: (FileHandle) async throws -> Void) async throws {
        let temporary = path + ".partial-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
            let file = FileHandle(forWritingAtPath: temporary)
        else { throw CommandFailure("cannot create \(temporary)") }
        do {
            defer { try? file.close() }
            try await fill(file)
            try file.synchronize()
            guard rename(temporary, path) == 0 else {
                throw CommandFailure("cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    private func url(_ path: String) -> URL { URL(string: path, relativeTo: base.appendingPathComponent("/"))! }

    private func send(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        let (data, response): (Data, URLResponse)
        do { (data, response) = try await URLSession.shared.data(for: request) } catch {
            throw CommandFailure("cannot reach the node at \(base): \(error.localizedDescription)")
        }
        guard let http = response as? HTTPURLResponse else { throw CommandFailure("no HTTP answer from \(base)") }
        return (data, http)
    }

    /// The status object of a 2xx answer, or the node's error message (docs/rpc.md) as a failure.
    private func answer(_ data: Data, _ response: HTTPURLResponse) throws -> BlobStatusView {
        guard (200..<300).contains(response.statusCode) else { throw refusal(data, response) }
        do { return try JSONDecoder().decode(BlobStatusView.self, from: data) } catch {
            throw CommandFailure("unexpected blob status from \(base): \(String(decoding: data, as: UTF8.self))")
        }
    }

    /// The node's refusal, `{"error":{"message","reason"}}`, as one line.
    private func refusal(_ data: Data, _ response: HTTPURLResponse) -> CommandFailure {
        let error = (try? JSONDecoder().decode(BlobRefusalView.self, from: data))?.error
        let message = error?.message ?? "HTTP \(response.statusCode)"
        return CommandFailure("\(message) (HTTP \(response.statusCode)\(error.map { ", \($0.reason)" } ?? ""))")
    }
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
struct ProgressBar {
    let label: String
    let total: UInt64
    let visible: Bool

    init(_ label: String, total: UInt64, quiet: Bool) {
        self.label = label
        self.total = total
        visible = !quiet && isatty(STDERR_FILENO) == 1
    }

    func show(_ done: UInt64) {
        guard visible else { return }
        let fraction = total == 0 ? 1 : Double(done) / Double(total)
        let filled = Int(fraction * 30)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
        let mib = { (bytes: UInt64) in String(format: "%.1f", Double(bytes) / 1_048_576) }
        let line = "\r\(label) [\(bar)] \(Int(fraction * 100))% \(mib(done))/\(mib(total)) MiB"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func end() { if visible { FileHandle.standardError.write(Data("\n".utf8)) } }
}
