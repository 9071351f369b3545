import AssayAPI
import AssayBlobs

/// What `GET /blobs/{id}/status` and `blob_status` answer, from the node's blob store, so an uploader sends only the
/// chunks not held.
extension BlobStatusView {
    /// Nil for a blob that is absent (no chunk held under any length, or under `length` when given).
    init?(_ status: BlobStatus) {
        switch status {
        case .absent: return nil
        case let .partial(ref, held): self.init(ref: ref, complete: false, heldChunks: held)
        case let .complete(ref): self.init(ref: ref, complete: true, heldChunks: Array(0..<ref.chunkCount))
        }
    }

    /// A blob of known length with nothing held yet: what a client resuming an upload of `ref` starts from.
    init(nothingHeldOf ref: BlobRef) { self.init(ref: ref, complete: false, heldChunks: []) }

    private init(ref: BlobRef, complete: Bool, heldChunks: [Int]) {
        self.init(id: ref.id.hex, length: ref.length, complete: complete, heldChunks: heldChunks, chunkCount: ref.chunkCount)
    }

    /// The status of `id`, of the partial claimed with `length` when given (absent under it: nothing held yet),
    /// otherwise of the complete blob or the fullest partial; nil when there is nothing to report.
    static func of(_ id: BlobID, length: UInt64?, in store: BlobStore) -> BlobStatusView? {
        guard let length else { return BlobStatusView(store.status(id)) }
        return of(BlobRef(id: id, length: length), in: store)
    }

    /// The status of `ref`: complete, partial under its length, or nothing held yet.
    static func of(_ ref: BlobRef, in store: BlobStore) -> BlobStatusView {
        BlobStatusView(store.status(ref)) ?? BlobStatusView(nothingHeldOf: ref)
    }
}
