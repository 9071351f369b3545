import AssayCrypto
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where a blob stands in a store.
public enum BlobStatus: Equatable, Sendable {
    case absent
    /// Some chunks are held (sorted indices); never readable, and resumed after a restart.
    case partial(ref: BlobRef, heldChunks: [Int])
    case complete(ref: BlobRef)
}

/// What `writeChunk` did.
public enum ChunkWriteOutcome: Equatable, Sendable {
    /// The chunk is held (now or already); `held` of the blob's `of` chunks are.
    case stored(held: Int, of: Int)
    /// The blob is complete and verified (this write finished it, or it already was).
    case complete
}

/// The node's blobs as content-addressed files under one directory (`<data dir>/blobs`), crash-safe and streaming.
///
/// Layout (docs/ARCHITECTURE.md, Blobs):
/// - `<id>`: a complete blob, `<id>.leaves`: its leaf hashes (32 bytes per chunk, for proofs). The leaves are
///   made durable first and the data file last (fsynced, renamed into place, the directory fsynced): a blob is
///   complete exactly when `<id>` exists.
/// - `partial/<id>-<length>`: a blob being received, one file of its final length; each chunk is written at its
///   offset once it is verified as far as the writer can (always its length; against its proof when one is given).
///   `partial/<id>-<length>.leaves` records the leaf hash of each chunk written (all zeros where none is), after
///   the chunk's bytes. Neither is fsynced per chunk: a SIGKILL keeps the page cache, but a power loss may keep a
///   record without its bytes, so on open every recorded chunk is read and hashed again and kept only if it still
///   matches its record. Completion computes the root from the recorded leaves (no re-read, no re-hash), fsyncs
///   the data once and renames it to `<id>`. The length is in the name because it is part of what a writer
///   claims: partials of one id under different claimed lengths never mix.
/// - Anything named `*.tmp-*` is a write cut short by a crash and is deleted on open.
///
/// After a SIGKILL at any point a blob is therefore complete and verified, or absent (possibly with a resumable
/// partial). No call holds more than one chunk in memory. Thread-safe: a mutex guards the index, and the few
/// metadata operations that must agree with it (creating a partial's files, renames into place, unlinks) run
/// under it; reads, writes, hashing and fsyncs run outside it, so writers and readers of different blobs (and of
/// different chunks of one blob) do not wait on each other.
public final class BlobStore: Sendable {
    public let directory: String
    private let partialDirectory: String
    private let index: Mutex<Index>
    private let temporaryCounter = Atomic<UInt64>(0)

    /// Opens (creating if needed) the store in `directory`, deleting what a crash left half-written and
    /// re-reading the partial blobs (re-hashing their recorded chunks) so that they can be resumed.
    public init(directory: String, maxBlobBytes: UInt64) throws(BlobError) {
        self.directory = directory
        partialDirectory = directory + "/partial"
        try FileIO.makeDirectory(directory, parent: directory + "/..")
        try FileIO.makeDirectory(partialDirectory, parent: directory)
        var found = Index(maxBlobBytes: maxBlobBytes)
        try Self.loadComplete(directory, into: &found)
        try Self.loadPartials(partialDirectory, into: &found)
        index = Mutex(found)
    }

    // MARK: Queries

    /// Whether the complete blob is held.
    public func has(_ id: BlobID) -> Bool { heldLength(id) != nil }

    /// The length of the complete blob `id`, or nil when it is not held in full.
    public func heldLength(_ id: BlobID) -> UInt64? { index.withLock { $0.complete[id] } }

    /// The status of `ref`: complete, partial under exactly this length, or absent. A complete blob of another
    /// length is reported as it is (its `ref` shows the true length).
    public func status(_ ref: BlobRef) -> BlobStatus {
        index.withLock { index in
            if let length = index.complete[ref.id] { return .complete(ref: BlobRef(id: ref.id, length: length)) }
            guard let partial = index.partials[ref] else { return .absent }
            return .partial(ref: ref, heldChunks: partial.leaves.keys.sorted())
        }
    }

    /// The status of a blob known only by id (HTTP `GET /blobs/{id}/status`): complete, or of its partials (one
    /// per length writers have claimed) the one with the most chunks held, or absent.
    public func status(_ id: BlobID) -> BlobStatus {
        let best = index.withLock { index -> BlobRef? in
            if let length = index.complete[id] { return BlobRef(id: id, length: length) }
            return index.partials.filter { $0.key.id == id }
                .max { ($0.value.leaves.count, $1.key.length) < ($1.value.leaves.count, $0.key.length) }?.key
        }
        return best.map(status) ?? .absent
    }

    /// Bytes of complete blobs held (partials not counted).
    public var heldBytes: UInt64 { index.withLock { $0.heldBytes } }
    /// Number of complete blobs held.
    public var heldCount: Int { index.withLock { $0.complete.count } }
    /// Every complete blob, sorted by id (for garbage collection and metrics).
    public var heldRefs: [BlobRef] {
        index.withLock { $0.complete.map { BlobRef(id: $0.key, length: $0.value) } }.sorted { $0.id < $1.id }
    }
    /// Every partial blob with the number of chunks it holds, sorted by id and length (for garbage collection).
    public var partials: [(ref: BlobRef, heldChunks: Int)] {
        index.withLock { $0.partials.map { (ref: $0.key, heldChunks: $0.value.leaves.count) } }
            .sorted { ($0.ref.id, $0.ref.length) < ($1.ref.id, $1.ref.length) }
    }

    public var maxBlobBytes: UInt64 {
        get { index.withLock { $0.maxBlobBytes } }
        set { index.withLock { $0.maxBlobBytes = newValue } }
    }

    /// Throws `tooLarge` for a blob over `max_blob_bytes`: lets an upload be refused before any byte arrives.
    public func checkSize(_ ref: BlobRef) throws(BlobError) {
        let max = maxBlobBytes
        guard ref.length <= max else { throw .tooLarge(length: ref.length, max: max) }
    }

    // MARK: Writing

    /// Stores chunk `index` of `ref`, and completes the blob when this was the last missing chunk.
    ///
    /// The chunk must have the length its position implies. With a `proof` (P2P: required) it must hash up to
    /// the id, or nothing is stored; without one (an HTTP upload, whose client sends bare bytes) it is checked
    /// when the last chunk arrives: if the chunks then do not hash to the id the partial blob is discarded
    /// (`rootMismatch`). Whatever the proofs, the blob becomes complete only if all its chunks hash to the id,
    /// which also proves the length. Partials are kept per claimed length, so a writer claiming a wrong length
    /// cannot spoil the partial of the right one; when one completes, the others of that id are deleted. A chunk
    /// that another call is writing at the moment counts as held (if that write fails, `status` shows it missing).
    @discardableResult
    public func writeChunk(ref: BlobRef, index chunkIndex: Int, bytes: [UInt8], proof: ChunkProof? = nil)
        throws(BlobError) -> ChunkWriteOutcome
    {
        try checkSize(ref)
        let leaf: Digest32
        if let proof { leaf = try verifiedLeaf(chunk: bytes, index: chunkIndex, proof: proof, ref: ref) } else {
            try checkShape(chunk: bytes, index: chunkIndex, ref: ref)
            leaf = blobLeafHash(bytes)
        }
        switch try reserve(ref, chunkIndex) {
        case .complete: return .complete
        case .held: return try completeIfFull(ref)
        case .write(let files):
            try write(bytes, leaf: leaf, of: ref, index: chunkIndex, into: files)
            return try completeIfFull(ref)
        }
    }

    /// Completes the blob if every chunk is held (after a crash or a full disk cut a completion short, say); true
    /// if the blob is complete afterwards.
    @discardableResult
    public func finish(_ ref: BlobRef) throws(BlobError) -> Bool {
        switch status(ref) {
        case .absent: return false
        case .complete: return true
        case .partial: return try completeIfFull(ref) == .complete
        }
    }

    /// Deletes a complete or partial blob; false if there was none.
    @discardableResult
    public func remove(_ id: BlobID) throws(BlobError) -> Bool {
        let removed = try index.withLock { (index) throws(BlobError) -> Bool in
            var removed = try removePartials(of: id, from: &index)
            if let length = index.complete[id] {
                // Data first: without `<id>` the blob is absent even if the leaves outlive a crash here.
                try FileIO.remove(dataPath(id))
                try FileIO.remove(leavesPath(id))
                index.complete[id] = nil
                index.heldBytes -= length
                removed = true
            }
            return removed
        }
        if removed { try FileIO.syncDirectory(directory) }
        return removed
    }

    /// Deletes one partial blob (an upload or fetch that stopped); false if there was none.
    @discardableResult
    public func removePartial(_ ref: BlobRef) throws(BlobError) -> Bool {
        try index.withLock { (index) throws(BlobError) -> Bool in
            guard index.partials.removeValue(forKey: ref) != nil else { return false }
            try removePartialFiles(ref)
            return true
        }
    }

    // MARK: Reading

    /// Chunk `index` of a complete blob (at most `blobChunkBytes` bytes).
    public func readChunk(_ id: BlobID, index chunkIndex: Int) throws(BlobError) -> [UInt8] {
        let ref = try completeRef(id)
        guard chunkIndex >= 0, chunkIndex < ref.chunkCount else {
            throw .chunkIndexOutOfRange(index: chunkIndex, chunkCount: ref.chunkCount)
        }
        let file = try Descriptor(reading: dataPath(id))
        return try file.read(
            count: chunkLength(index: chunkIndex, length: ref.length), at: UInt64(chunkIndex) * UInt64(blobChunkBytes))
    }

    /// A reader over `range` (the whole blob if nil) of a complete blob, for HTTP Range responses and copies.
    /// The reader keeps the file open, so a concurrent `remove` does not cut it short.
    public func open(_ id: BlobID, range: Range<UInt64>? = nil) throws(BlobError) -> BlobReader {
        let ref = try completeRef(id)
        let range = range ?? 0..<ref.length
        guard range.upperBound <= ref.length else {
            throw .rangeOutOfBounds(lower: range.lowerBound, upper: range.upperBound, length: ref.length)
        }
        return BlobReader(file: try Descriptor(reading: dataPath(id)), range: range)
    }

    /// The tree of a complete blob, read from its leaf file: serves proofs for many chunks at one read.
    public func tree(_ id: BlobID) throws(BlobError) -> BlobTree {
        let ref = try completeRef(id)
        let file = try Descriptor(reading: leavesPath(id))
        return try BlobTree(leafBytes: try file.read(count: ref.chunkCount * 32, at: 0), length: ref.length)
    }

    /// The proof of chunk `index` of a complete blob.
    public func proof(_ id: BlobID, index chunkIndex: Int) throws(BlobError) -> ChunkProof {
        let tree = try tree(id)
        guard chunkIndex >= 0, chunkIndex < tree.leaves.count else {
            throw .chunkIndexOutOfRange(index: chunkIndex, chunkCount: tree.leaves.count)
        }
        return tree.proof(chunk: chunkIndex)
    }

    // MARK: Index

    struct Index {
        var complete: [BlobID: UInt64] = [:]
        var partials: [BlobRef: Partial] = [:]
        var heldBytes: UInt64 = 0
        var maxBlobBytes: UInt64
    }

    struct Partial {
        let files: PartialFiles
        /// The leaf hash of each chunk held, by index.
        var leaves: [Int: Digest32] = [:]
        /// Chunks some call is writing now: a second writer of one leaves it to the first, so the recorded leaf
        /// is always that of the bytes in the file.
        var writing: Set<Int> = []
        /// One thread at a time completes a blob; others see the flag and leave it to that thread.
        var completing = false
    }

    /// A partial blob's data file and leaf record, open while it is in the index.
    final class PartialFiles: Sendable {
        let data: Descriptor
        /// Whole chunks bypass the page cache where the file system allows it.
        private let direct: DirectWriter?
        let leaves: Descriptor

        init(_ ref: BlobRef, dataPath: String) throws(BlobError) {
            data = try Descriptor(updating: dataPath, size: ref.length)
            direct = DirectWriter(path: dataPath)
            leaves = try Descriptor(updating: dataPath + ".leaves", size: UInt64(ref.chunkCount * Digest32.byteCount))
        }

        /// Writes chunk `chunkIndex`. A direct write that fails for any reason (a file system that opens with
        /// O_DIRECT but refuses the write) is done again through the page cache, which reports a real error.
        func writeChunk(_ bytes: [UInt8], index chunkIndex: Int) throws(BlobError) {
            let offset = UInt64(chunkIndex) * UInt64(blobChunkBytes)
            if let direct, direct.accepts(count: bytes.count, at: offset), (try? direct.write(bytes, at: offset)) != nil {
                return
            }
            try data.write(bytes, at: offset)
        }

        /// The recorded leaves whose chunk still hashes to them; records that do not (a power loss kept the
        /// record but not the bytes) are cleared.
        func verifiedLeaves(_ ref: BlobRef) throws(BlobError) -> [Int: Digest32] {
            let records = try leaves.read(count: ref.chunkCount * Digest32.byteCount, at: 0)
            var held: [Int: Digest32] = [:]
            for chunkIndex in 0..<ref.chunkCount {
                let start = chunkIndex * Digest32.byteCount
                let record = Digest32(Array(records[start..<start + Digest32.byteCount]))
                guard record != .zero else { continue }
                let offset = UInt64(chunkIndex) * UInt64(blobChunkBytes)
                let bytes = try data.read(count: chunkLength(index: chunkIndex, length: ref.length), at: offset)
                if blobLeafHash(bytes) == record {
                    held[chunkIndex] = record
                } else {
                    try leaves.write(Digest32.zero.bytes, at: UInt64(start))
                }
            }
            return held
        }
    }

    private enum Reservation { case complete, held, write(PartialFiles) }
    private enum CompletionClaim { case outcome(ChunkWriteOutcome), completeNow(Partial) }

    /// Decides under the lock what the caller does outside it, creating the partial (and its files) if needed.
    private func reserve(_ ref: BlobRef, _ chunkIndex: Int) throws(BlobError) -> Reservation {
        try index.withLock { (index) throws(BlobError) -> Reservation in
            if let length = index.complete[ref.id] {
                guard length == ref.length else {
                    throw .lengthMismatch(id: ref.id, recorded: length, stated: ref.length)
                }
                return .complete
            }
            if index.partials[ref] == nil {
                index.partials[ref] = Partial(files: try PartialFiles(ref, dataPath: partialPath(ref)))
            }
            guard let partial = index.partials[ref], partial.leaves[chunkIndex] == nil,
                !partial.writing.contains(chunkIndex)
            else { return .held }
            index.partials[ref]?.writing.insert(chunkIndex)
            return .write(partial.files)
        }
    }

    /// Writes the chunk at its offset, then its leaf record, then counts it as held (unless the partial was
    /// removed meanwhile: `files` identify the partial this write belongs to).
    private func write(
        _ bytes: [UInt8], leaf: Digest32, of ref: BlobRef, index chunkIndex: Int, into files: PartialFiles
    ) throws(BlobError) {
        var failure: BlobError?
        do throws(BlobError) {
            try files.writeChunk(bytes, index: chunkIndex)
            try files.leaves.write(leaf.bytes, at: UInt64(chunkIndex * Digest32.byteCount))
        } catch {
            failure = error
        }
        index.withLock { index in
            guard index.partials[ref]?.files === files else { return }
            index.partials[ref]?.writing.remove(chunkIndex)
            if failure == nil { index.partials[ref]?.leaves[chunkIndex] = leaf }
        }
        if let failure { throw failure }
    }

    /// Completes `ref` if all its chunks are held and no other thread is doing so.
    private func completeIfFull(_ ref: BlobRef) throws(BlobError) -> ChunkWriteOutcome {
        let claim = index.withLock { index -> CompletionClaim in
            if index.complete[ref.id] != nil { return .outcome(.complete) }
            // A partial removed meanwhile (by `remove`) counts as nothing held.
            guard var partial = index.partials[ref] else { return .outcome(.stored(held: 0, of: ref.chunkCount)) }
            guard partial.leaves.count == ref.chunkCount, !partial.completing else {
                return .outcome(.stored(held: partial.leaves.count, of: ref.chunkCount))
            }
            partial.completing = true
            index.partials[ref] = partial
            return .completeNow(partial)
        }
        let partial: Partial
        switch claim {
        case .outcome(let progress): return progress
        case .completeNow(let claimed): partial = claimed
        }
        do throws(BlobError) {
            try complete(ref, partial)
        } catch {
            try index.withLock { (index) throws(BlobError) in
                guard case .rootMismatch = error else {
                    index.partials[ref]?.completing = false
                    return
                }
                index.partials[ref] = nil
                try removePartialFiles(ref)
            }
            throw error
        }
        return .complete
    }

    /// Makes the partial `ref` the complete blob, if its recorded leaves hash to the id: leaf file durable, data
    /// fsynced, then renamed into place.
    private func complete(_ ref: BlobRef, _ partial: Partial) throws(BlobError) {
        let tree = try BlobTree(leaves: (0..<ref.chunkCount).map { partial.leaves[$0]! }, length: ref.length)
        guard tree.id == ref.id else { throw .rootMismatch(expected: ref.id, actual: tree.id) }
        do throws(BlobError) {
            try FileIO.writeDurably(
                leavesPath(ref.id), directory: directory, temporary: temporaryPath(leavesPath(ref.id))
            ) { (leafFile) throws(BlobError) in try leafFile.write(tree.leafBytes) }
            try partial.files.data.sync()
            try index.withLock { (index) throws(BlobError) in
                try FileIO.rename(partialPath(ref), to: dataPath(ref.id))
                index.complete[ref.id] = ref.length
                index.heldBytes += ref.length
                // The blob is complete; a crash before these removals leaves partials that the next open deletes.
                _ = try? removePartials(of: ref.id, from: &index)
            }
        } catch {
            if FileIO.fileSize(dataPath(ref.id)) == nil { unlink(leavesPath(ref.id)) }
            throw error
        }
        try FileIO.syncDirectory(directory)
    }

    /// Drops every partial of `id` from the index and deletes their files; true if there was one.
    private func removePartials(of id: BlobID, from index: inout Index) throws(BlobError) -> Bool {
        let refs = index.partials.keys.filter { $0.id == id }.sorted { $0.length < $1.length }
        for ref in refs {
            index.partials[ref] = nil
            try removePartialFiles(ref)
        }
        return !refs.isEmpty
    }

    private func removePartialFiles(_ ref: BlobRef) throws(BlobError) {
        try FileIO.remove(partialPath(ref))
        try FileIO.remove(partialPath(ref) + ".leaves")
    }

    private func completeRef(_ id: BlobID) throws(BlobError) -> BlobRef {
        guard let length = index.withLock({ $0.complete[id] }) else { throw .notFound(id) }
        return BlobRef(id: id, length: length)
    }

    // MARK: Paths and start-up

    private func dataPath(_ id: BlobID) -> String { directory + "/" + id.hex }
    private func leavesPath(_ id: BlobID) -> String { dataPath(id) + ".leaves" }
    private func partialPath(_ ref: BlobRef) -> String { partialDirectory + "/\(ref.id.hex)-\(ref.length)" }

    /// A name no other write uses, so concurrent writers of one file never share a temporary file.
    private func temporaryPath(_ path: String) -> String {
        path + ".tmp-\(temporaryCounter.add(1, ordering: .relaxed).newValue)"
    }

    static func isTemporary(_ name: String) -> Bool { name.contains(".tmp-") }

    /// Complete blobs: `<id>` with a leaf file of the right size. A leaf file without data (a crash between the
    /// two renames of a completion or a removal) and temporary files are deleted.
    private static func loadComplete(_ directory: String, into index: inout Index) throws(BlobError) {
        for name in try FileIO.list(directory) where name != "partial" {
            let path = directory + "/" + name
            if isTemporary(name) { try FileIO.remove(path); continue }
            let stem = name.hasSuffix(".leaves") ? String(name.dropLast(".leaves".count)) : name
            guard let id = BlobID(hex: stem) else { continue }
            if name.hasSuffix(".leaves") {
                if FileIO.fileSize(directory + "/" + stem) == nil { try FileIO.remove(path) }
                continue
            }
            guard let length = FileIO.fileSize(path) else { continue }
            guard FileIO.fileSize(path + ".leaves") == UInt64(chunkCount(length: length) * 32) else {
                // Never produced by this store (leaves are durable before the data): treat the blob as absent.
                try FileIO.remove(path)
                try FileIO.remove(path + ".leaves")
                continue
            }
            index.complete[id] = length
            index.heldBytes += length
        }
    }

    /// Partial blobs: `<id>-<length>` files, each holding the recorded chunks that still hash to their records.
    /// A record file without its data file, anything else in the partial directory, and the partials of blobs
    /// already complete are deleted.
    private static func loadPartials(_ directory: String, into index: inout Index) throws(BlobError) {
        for name in try FileIO.list(directory) {
            let path = directory + "/" + name
            if name.hasSuffix(".leaves"), FileIO.fileSize(String(path.dropLast(".leaves".count))) != nil { continue }
            let parts = name.split(separator: "-")
            guard parts.count == 2, let id = BlobID(hex: String(parts[0])), let length = UInt64(parts[1]),
                String(length) == parts[1], index.complete[id] == nil,
                FileIO.fileSize(path) != nil
            else {
                // Directories are partials of an older layout (one file per chunk): fetched again.
                try FileIO.isDirectory(path) ? FileIO.removeTree(path) : FileIO.remove(path)
                try FileIO.remove(path + ".leaves")
                continue
            }
            let ref = BlobRef(id: id, length: length)
            let files = try PartialFiles(ref, dataPath: path)
            index.partials[ref] = Partial(files: files, leaves: try files.verifiedLeaves(ref))
        }
    }
}

/// Reads a byte range of a complete blob in pieces, holding one piece at a time.
public final class BlobReader {
    private let file: Descriptor
    public let range: Range<UInt64>
    private var position: UInt64

    init(file: Descriptor, range: Range<UInt64>) {
        self.file = file
        self.range = range
        position = range.lowerBound
    }

    /// The next piece of at most `maxBytes` bytes, or nil at the end of the range.
    public func next(maxBytes: Int = blobChunkBytes) throws(BlobError) -> [UInt8]? {
        precondition(maxBytes > 0, "a piece has at least one byte")
        guard position < range.upperBound else { return nil }
        let count = Int(min(UInt64(maxBytes), range.upperBound - position))
        let bytes = try file.read(count: count, at: position)
        position += UInt64(count)
        return bytes
    }
}
