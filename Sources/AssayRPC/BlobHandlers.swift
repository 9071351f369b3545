import AssayAPI
import AssayBlobs

/// The node's side of `BlobMethods`, over its blob store; the bytes themselves move over HTTP (`BlobRoutes`).
enum BlobHandlers {
    static let all: [RPCMethod] = [
        RPCMethod(BlobMethods.status) { params, node in
            guard let id = BlobID(hex: params.id) else { throw RPCError.invalidParams("'id' must be 64 lower-case hex digits") }
            guard let view = BlobStatusView.of(id, length: params.length, in: node.blobs) else {
                throw RPCError.notFound("blob \(params.id)")
            }
            return view
        }
    ]
}
