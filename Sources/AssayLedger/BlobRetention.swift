import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayTypes

/// Which blobs the chain still needs, counted in state so that every node decides the same: a model while it is
/// registered (models are never unregistered), a job's input, output and trace until `blob_retention_blocks` after the
/// job ends. One blob may serve several jobs (content addressing), so each use is counted; when the last use
/// ends the ledger emits `blobReleased` and nodes delete the file (local I/O after the commit).
extension BlockExecutor {
    func retainBlob(_ id: Hash) throws(LedgerError) {
        let uses: UInt64 = try state.read(StateKey.blobUses(id)) ?? 0
        state.write(StateKey.blobUses(id), uses + 1)
    }

    func releaseBlob(_ id: Hash) throws(LedgerError) {
        guard let uses: UInt64 = try state.read(StateKey.blobUses(id)), uses > 0 else {
            throw .corruptState(key: Hex.encode(StateKey.blobUses(id)), reason: "released a blob that is not retained")
        }
        if uses == 1 {
            state.set(StateKey.blobUses(id), nil)
            emit(.blobReleased(blob: id))
        } else {
            state.write(StateKey.blobUses(id), uses - 1)
        }
    }

    /// Called when a job ends: its input (and output and trace, if a result was posted) are released
    /// `blob_retention_blocks` later. The ids wait under the job's id (a timeout key has no room for them).
    func scheduleBlobRelease(_ id: Hash, _ job: JobRecord) {
        var blobs = job.request.inputBlob.id.digest.bytes
        if case let .resultPosted(outputHash, traceBlob, _, _, _, _) = job.status {
            blobs += outputHash.bytes + traceBlob.id.digest.bytes
        }
        state.set(StateKey.blobRelease(id), blobs)
        addTimeout(at: height + params.blobRetentionBlocks, .blobRelease, id: id.bytes)
    }

    func releaseJobBlobs(_ job: Hash) throws(LedgerError) {
        let key = StateKey.blobRelease(job)
        guard let blobs = try state.get(key), !blobs.isEmpty, blobs.count % Hash.byteCount == 0 else {
            throw .corruptState(key: Hex.encode(key), reason: "bad blob release entry")
        }
        state.set(key, nil)
        for start in stride(from: 0, to: blobs.count, by: Hash.byteCount) {
            try releaseBlob(Hash(Array(blobs[start..<start + Hash.byteCount])))
        }
    }
}
