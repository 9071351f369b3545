import AssayAPI
import AssayBlobs

/// JSON-RPC methods over the node's blob store; the bytes themselves move over HTTP (`BlobRoutes`).
enum BlobMethods {
    static let all: [RPCMethod] = [
        RPCMethod(
            "blob_status",
            "Which chunks of a blob the node holds (the same object as GET /blobs/{id}/status); not found when none.",
            parameters: [.required("id", "string"), .optional("length", "integer")], StatusParams.self
        ) { params, node in
            guard let id = BlobID(hex: params.id) else { throw RPCError.invalidParams("'id' must be 64 lower-case hex digits") }
            guard let view = BlobStatusView.of(id, length: params.length, in: node.blobs) else {
                throw RPCError.notFound("blob \(params.id)")
            }
            return view
        }
    ]

    struct StatusParams: Decodable, Sendable {
        let id: String
        let length: UInt64?
    }
}
