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
///   made durable first and the data file last, each under a temporary name, fsynced and renamed, then the
///   directory fsynced: a blob is complete exactly when `<id>` exists.
/// - `partial/<id>-<length>/<index>`: one file per chunk received, each verified as far as the writer can (always its
///   length; against its proof when one is given) and written under a temporary name and renamed, but not fsynced: a
///   SIGKILL keeps the page cache, so a chunk file is absent or whole; after a power loss one may be torn, and then its
///   length check on open or assembly's root check fails, the partial is discarded and the blob fetched again. (Two
///   fsyncs per chunk cost a P2P transfer about a sixth of its speed, for a durability the assembled blob, fsynced
///   itself, does not need.) The length is in the name because it is part of what a writer claims: partials of one id
///   under different claimed lengths never mix. Leaf hashes of partials are not kept: assembly reads every chunk to
///   copy it anyway, and hashing during that copy re-verifies what is on disk for the price of a sidecar read.
/// - Anything named `*.tmp-*` is a write cut short by a crash and is deleted on open.
///
/// After a SIGKILL at any point a blob is therefore complete and verified, or absent (possibly with a resumable
/// partial). No call holds more than one chunk in memory. Thread-safe: a mutex guards the index; file I/O runs
/// outside it, so writers and readers of different blobs (and of different chunks of one blob) do not wait on
/// each other.
public final class BlobStore: Sendable {
    public let directory: String
    private let partialDirectory: String
    private let index: Mutex<Index>
    private let temporaryCounter = Atomic<UInt64>(0)

    /// Opens (creating if needed) the store in `directory`, deleting what a crash left half-written and
    /// re-reading the partial blobs so that they can be resumed.
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
            return .partial(ref: ref, heldChunks: partial.held.sorted())
        }
    }

    /// The status of a blob known only by id (HTTP `GET /blobs/{id}/status`): complete, or of its partials (one
    /// per length writers have claimed) the one with the most chunks held, or absent.
    public func status(_ id: BlobID) -> BlobStatus {
        let best = index.withLock { index -> BlobRef? in
            if let length = index.complete[id] { return BlobRef(id: id, length: length) }
            return index.partials.filter { $0.key.id == id }
                .max { ($0.value.held.count, $1.key.length) < ($1.value.held.count, $0.key.length) }?.key
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

    /// Stores chunk `index` of `ref`, and assembles the blob when this was the last missing chunk.
    ///
    /// The chunk must have the length its position implies. With a `proof` (P2P: required) it must hash up to
    /// the id, or nothing is stored; without one (an HTTP upload, whose client sends bare bytes) it is checked
    /// when the last chunk arrives: if the chunks then do not hash to the id the partial blob is discarded
    /// (`rootMismatch`). Whatever the proofs, the blob becomes complete only if all its chunks hash to the id,
    /// which also proves the length. Partials are kept per claimed length, so a writer claiming a wrong length
    /// cannot spoil the partial of the right one; when one completes, the others of that id are deleted.
    @discardableResult
    public func writeChunk(ref: BlobRef, index chunkIndex: Int, bytes: [UInt8], proof: ChunkProof? = nil)
        throws(BlobError) -> ChunkWriteOutcome
    {
        try checkSize(ref)
        if let proof { try verify(chunk: bytes, index: chunkIndex, proof: proof, ref: ref) } else {
            try checkShape(chunk: bytes, index: chunkIndex, ref: ref)
        }
        switch try reserve(ref, chunkIndex) {
        case .complete: return .complete
        case .held: return try assembleIfFull(ref)
        case .write:
            try writeChunkFile(ref, chunkIndex, bytes)
            return try assembleIfFull(ref)
        }
    }

    /// Assembles the blob if every chunk is held (after a crash cut an assembly short, say); true if the blob
    /// is complete afterwards.
    @discardableResult
    public func finish(_ ref: BlobRef) throws(BlobError) -> Bool {
        switch status(ref) {
        case .absent: return false
        case .complete: return true
        case .partial: return try assembleIfFull(ref) == .complete
        }
    }

    /// Deletes a complete or partial blob; false if there was none.
    @discardableResult
    public func remove(_ id: BlobID) throws(BlobError) -> Bool {
        let removed = index.withLock { index -> (complete: Bool, partials: [BlobRef]) in
            let length = index.complete.removeValue(forKey: id)
            if let length { index.heldBytes -= length }
            return (length != nil, index.removePartials(of: id))
        }
        if removed.complete {
            // Data first: without `<id>` the blob is absent even if the leaves outlive a crash here.
            try FileIO.remove(dataPath(id))
            try FileIO.remove(leavesPath(id))
            try FileIO.syncDirectory(directory)
        }
        for partial in removed.partials { try FileIO.removeTree(partialPath(partial)) }
        return removed.complete || !removed.partials.isEmpty
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

        /// Drops every partial of `id` from the index, returning them sorted (their directories are the
        /// caller's to delete).
        mutating func removePartials(of id: BlobID) -> [BlobRef] {
            let refs = partials.keys.filter { $0.id == id }.sorted { $0.length < $1.length }
            for ref in refs { partials[ref] = nil }
            return refs
        }
    }

    struct Partial {
        var held: Set<Int> = []
        /// One thread at a time assembles a blob; others see the flag and leave it to that thread.
        var assembling = false
    }

    private enum Reservation { case complete, held, write }

    /// Decides under the lock what the caller does outside it, creating the partial's index entry if needed.
    private func reserve(_ ref: BlobRef, _ chunkIndex: Int) throws(BlobError) -> Reservation {
        try index.withLock { (index) throws(BlobError) -> Reservation in
            if let length = index.complete[ref.id] {
                guard length == ref.length else {
                    throw .lengthMismatch(id: ref.id, recorded: length, stated: ref.length)
                }
                return .complete
            }
            if index.partials[ref]?.held.contains(chunkIndex) == true { return .held }
            if index.partials[ref] == nil { index.partials[ref] = Partial() }
            return .write
        }
    }

    private func writeChunkFile(_ ref: BlobRef, _ chunkIndex: Int, _ bytes: [UInt8]) throws(BlobError) {
        let directory = partialPath(ref)
        do throws(BlobError) {
            try FileIO.makeDirectory(directory, parent: partialDirectory)
            // Not fsynced: assembly re-hashes every chunk, so one torn by a power loss fails the root check.
            let path = directory + "/\(chunkIndex)"
            try FileIO.writeAtomically(path, temporary: temporaryPath(path)) { (file) throws(BlobError) in
                try file.write(bytes)
            }
        } catch {
            // A concurrent writer may have completed (and so removed) this partial meanwhile.
            if has(ref.id) { return }
            throw error
        }
        index.withLock { index in _ = index.partials[ref]?.held.insert(chunkIndex) }
    }

    /// Assembles `ref` if all its chunks are held and no other thread is doing so.
    private func assembleIfFull(_ ref: BlobRef) throws(BlobError) -> ChunkWriteOutcome {
        let progress = index.withLock { index -> ChunkWriteOutcome? in
            if index.complete[ref.id] != nil { return .complete }
            // A partial removed meanwhile (by `remove`) counts as nothing held.
            guard var partial = index.partials[ref] else { return .stored(held: 0, of: ref.chunkCount) }
            let held = ChunkWriteOutcome.stored(held: partial.held.count, of: ref.chunkCount)
            guard partial.held.count == ref.chunkCount, !partial.assembling else { return held }
            partial.assembling = true
            index.partials[ref] = partial
            return nil
        }
        if let progress { return progress }
        do throws(BlobError) {
            try assemble(ref)
        } catch {
            index.withLock { index in
                if case .rootMismatch = error { index.partials[ref] = nil } else {
                    index.partials[ref]?.assembling = false
                }
            }
            if case .rootMismatch = error { try? FileIO.removeTree(partialPath(ref)) }
            throw error
        }
        return .complete
    }

    /// Streams the chunk files into `<id>` while hashing them, and makes it visible only if they hash to the id.
    private func assemble(_ ref: BlobRef) throws(BlobError) {
        let temporary = temporaryPath(dataPath(ref.id))
        let leaves: BlobTree
        do throws(BlobError) {
            let file = try Descriptor(creating: temporary)
            var hashes: [Digest32] = []
            for chunkIndex in 0..<ref.chunkCount {
                let chunk = try Descriptor(reading: partialPath(ref) + "/\(chunkIndex)")
                let bytes = try chunk.read(count: chunkLength(index: chunkIndex, length: ref.length), at: 0)
                hashes.append(blobLeafHash(bytes))
                try file.write(bytes)
            }
            leaves = try BlobTree(leaves: hashes, length: ref.length)
            guard leaves.id == ref.id else { throw .rootMismatch(expected: ref.id, actual: leaves.id) }
            try FileIO.writeDurably(
                leavesPath(ref.id), directory: directory, temporary: temporaryPath(leavesPath(ref.id))
            ) { (leafFile) throws(BlobError) in try leafFile.write(leaves.leafBytes) }
            try file.sync()
            try FileIO.rename(temporary, to: dataPath(ref.id))
            try FileIO.syncDirectory(directory)
        } catch {
            unlink(temporary)
            if FileIO.fileSize(dataPath(ref.id)) == nil { unlink(leavesPath(ref.id)) }
            throw error
        }
        let partials = index.withLock { index in
            index.complete[ref.id] = ref.length
            index.heldBytes += ref.length
            return index.removePartials(of: ref.id)
        }
        // The blob is complete; a crash before these removals leaves partials that the next open deletes.
        for partial in partials { try? FileIO.removeTree(partialPath(partial)) }
    }

    private func completeRef(_ id: BlobID) throws(BlobError) -> BlobRef {
        guard let length = index.withLock({ $0.complete[id] }) else { throw .notFound(id) }
        return BlobRef(id: id, length: length)
    }

    // MARK: Paths and start-up

    private func dataPath(_ id: BlobID) -> String { directory + "/" + id.hex }
    private func leavesPath(_ id: BlobID) -> String { dataPath(id) + ".leaves" }
    private func partialPath(_ ref: BlobRef) -> String { partialDirectory + "/\(ref.id.hex)-\(ref.length)" }

    /// A name no other write uses, so concurrent writers of one chunk never share a temporary file.
    private func temporaryPath(_ path: String) -> String {
        path + ".tmp-\(temporaryCounter.add(1, ordering: .relaxed).newValue)"
    }

    static func isTemporary(_ name: String) -> Bool { name.contains(".tmp-") }

    /// Complete blobs: `<id>` with a leaf file of the right size. A leaf file without data (a crash between the
    /// two renames of an assembly or a removal) and temporary files are deleted.
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

    /// Partial blobs: chunk files of the right length are held; anything else in a partial directory, and the
    /// partials of blobs already complete, are deleted.
    private static func loadPartials(_ directory: String, into index: inout Index) throws(BlobError) {
        for name in try FileIO.list(directory) {
            let path = directory + "/" + name
            let parts = name.split(separator: "-")
            guard parts.count == 2, let id = BlobID(hex: String(parts[0])), let length = UInt64(parts[1]),
                String(length) == parts[1], index.complete[id] == nil, FileIO.isDirectory(path)
            else {
                try FileIO.isDirectory(path) ? FileIO.removeTree(path) : FileIO.remove(path)
                continue
            }
            var partial = Partial()
            let count = chunkCount(length: length)
            for chunkName in try FileIO.list(path) {
                if let chunkIndex = Int(chunkName), String(chunkIndex) == chunkName, chunkIndex < count,
                    FileIO.fileSize(path + "/" + chunkName) == UInt64(chunkLength(index: chunkIndex, length: length))
                {
                    partial.held.insert(chunkIndex)
                } else {
                    try FileIO.remove(path + "/" + chunkName)
                }
            }
            index.partials[BlobRef(id: id, length: length)] = partial
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
