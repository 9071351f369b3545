import AssayBlobs
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Blob upload and download through a node's HTTP API (docs/rpc.md, Blobs): `PUT /blobs/{id}?length=N` and
/// `GET /blobs/{id}` on the RPC port. For bytes a command already holds (tensors and models it encoded);
/// `assay blob put/get` stream whole files.
struct BlobClient {
    let node: URL

    init(_ rpc: RPCClient) { node = rpc.url }

    /// Uploads `bytes` (a node that holds them already answers at once) and returns their reference.
    func put(_ bytes: [UInt8]) async throws -> BlobRef {
        let ref = BlobRef(of: bytes)
        var request = URLRequest(url: try url(ref.id, query: "length=\(ref.length)"), timeoutInterval: 300)
        request.httpMethod = "PUT"
        request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(bytes)
        _ = try await send(request, what: "uploading blob \(ref.id)")
        return ref
    }

    /// Downloads blob `ref` and checks that its bytes hash to its id.
    func get(_ ref: BlobRef) async throws -> [UInt8] {
        let request = URLRequest(url: try url(ref.id, query: nil), timeoutInterval: 300)
        let bytes = try await send(request, what: "downloading blob \(ref.id)")
        let received = BlobRef(of: bytes)
        guard received == ref else {
            throw CommandFailure("the node sent \(received) for blob \(ref): the bytes do not match the id")
        }
        return bytes
    }

    private func url(_ id: BlobID, query: String?) throws -> URL {
        guard var parts = URLComponents(url: node, resolvingAgainstBaseURL: false) else {
            throw CommandFailure("--node '\(node)' is not a URL")
        }
        parts.path = "/blobs/\(id.hex)"
        parts.query = query
        guard let url = parts.url else { throw CommandFailure("--node '\(node)' gives no blob URL") }
        return url
    }

    private func send(_ request: URLRequest, what: String) async throws -> [UInt8] {
        let (data, response): (Data, URLResponse)
        do { (data, response) = try await URLSession.shared.data(for: request) } catch {
            throw CommandFailure("\(what): cannot reach the node at \(node): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            let text = String(decoding: data.prefix(500), as: UTF8.self)
            throw CommandFailure("\(what): HTTP \(status): \(text)")
        }
        return [UInt8](data)
    }
}
