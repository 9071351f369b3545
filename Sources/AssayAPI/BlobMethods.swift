/// The typed blob method; the bytes themselves move over HTTP (docs/rpc.md, Blobs over HTTP).
public enum BlobMethods {
    public static let status = Method<BlobStatusParams, BlobStatusView>(
        "blob_status",
        "Which chunks of a blob the node holds (the same object as GET /blobs/{id}/status); not found when none.",
        parameters: [.required("id", "string"), .optional("length", "integer")])
}

public struct BlobStatusParams: Codable, Sendable, Equatable {
    /// 64 lower-case hex digits.
    public let id: String
    /// The upload claiming this length; nil: the complete blob or else the fullest partial.
    public let length: UInt64?

    public init(id: String, length: UInt64? = nil) {
        self.id = id
        self.length = length
    }
}

/// What `blob_status` and `GET /blobs/{id}/status` answer (and `PUT /blobs/{id}` once it has written): the blob's
/// length, whether it is complete, and which chunks are held (sorted; all of them once complete).
public struct BlobStatusView: Codable, Sendable, Equatable {
    public let id: String
    public let length: UInt64
    public let complete: Bool
    public let heldChunks: [Int]
    public let chunkCount: Int

    public init(id: String, length: UInt64, complete: Bool, heldChunks: [Int], chunkCount: Int) {
        self.id = id
        self.length = length
        self.complete = complete
        self.heldChunks = heldChunks
        self.chunkCount = chunkCount
    }

    private enum CodingKeys: String, CodingKey {
        case id, length, complete, heldChunks = "held_chunks", chunkCount = "chunk_count"
    }
}

/// The body of a refused blob request over HTTP: `{"error":{"message","reason"}}` (docs/rpc.md, Blobs over HTTP).
public struct BlobRefusalView: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public let message: String
        /// Stable and machine-readable: `bad_id`, `too_large`, `root_mismatch`, ...
        public let reason: String

        public init(message: String, reason: String) {
            self.message = message
            self.reason = reason
        }
    }

    public let error: Detail

    public init(message: String, reason: String) { error = Detail(message: message, reason: reason) }
}
