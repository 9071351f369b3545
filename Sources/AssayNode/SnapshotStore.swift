import AssayCodec
import AssayCrypto
import AssayEngine
import AssayLedger
import AssayP2P
import AssayRocksDB
import AssayStorage
import AssayTypes
import Foundation
import Logging
import Synchronization

/// What a node offers for state sync: the ledger snapshot's manifest and the chain tip of the same height (the
/// engine's starting point: the sets of that height and the next two, with their proposer rotations).
struct StateSyncManifest: Hashable, Sendable, CanonicalCodable {
    let ledger: SnapshotManifest
    let tip: ChainTip

    var height: Height { ledger.height }

    /// Refuses a manifest that is not the state and chain of the verified block `block` (its header's state root
    /// and validator set hashes, its hash), whose following set `nextHeader` (the verified header of the height
    /// after it) names. The proposer priorities are not in any header: they are the
    /// offering peer's word (docs/p2p.md, State sync, what is trusted).
    func verify(against block: Block, nextHeader: Header) throws(SnapshotError) {
        let header = block.header
        guard tip.height == ledger.height, tip.height == header.height, tip.blockHash == block.hash else {
            throw .manifestMismatch("chain tip \(tip.height) \(tip.blockHash) is not the verified block \(header.height)")
        }
        guard tip.lastValidators.hash == header.validatorSetHash,
            tip.nextRotation.validators.hash == header.nextValidatorSetHash,
            nextHeader.height == header.height + 1,
            tip.followingRotation.validators.hash == nextHeader.nextValidatorSetHash
        else { throw .manifestMismatch("validator sets do not match the verified headers'") }
        try ledger.verify(trustedStateRoot: header.stateRoot)
    }

    func encode(to writer: inout CanonicalWriter) {
        writer.write(ledger)
        writer.write(tip)
    }

    init(ledger: SnapshotManifest, tip: ChainTip) {
        self.ledger = ledger
        self.tip = tip
    }

    init(from reader: inout CanonicalReader) throws(CodecError) {
        ledger = try reader.read()
        tip = try reader.read()
    }
}

/// The node's state snapshots on disk, `<data dir>/snapshots/<height>/` holding `manifest` and `chunk-<index>`
/// files. A snapshot is written under `<height>.partial` and renamed when complete, so a directory without that
/// suffix is whole; the newest `keep` are kept. Chunks are read one at a time to serve them.
final class SnapshotStore: Sendable {
    let directory: String
    let keep: Int
    /// Heights of the complete snapshots, ascending.
    private let heights: Mutex<[Height]>

    init(directory: String, keep: Int) throws {
        precondition(keep >= 1)
        self.directory = directory
        self.keep = keep
        let files = FileManager.default
        try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var found: [Height] = []
        for name in try files.contentsOfDirectory(atPath: directory) {
            if let height = Height(name) { found.append(height) } else { try files.removeItem(atPath: directory + "/" + name) }
        }
        heights = Mutex(found.sorted())
    }

    var latestHeight: Height? { heights.withLock { $0.last } }
    var oldestHeight: Height? { heights.withLock { $0.first } }

    /// Writes the snapshot of the state and tip `reader` holds (a store snapshot taken right after a commit), then
    /// drops the oldest beyond `keep`. Entries are spilled to one file per chunk as the state is scanned, so memory
    /// holds one chunk at a time.
    func take(from reader: some KeyValueReader) throws {
        guard let tip = try ChainStore.tip(in: reader) else { return }
        let partial = "\(directory)/\(tip.height).partial"
        try? FileManager.default.removeItem(atPath: partial)
        try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: false)
        try spill(reader, into: partial)
        var summaries: [StateChunk.Summary] = []
        for index in 0..<SnapshotManifest.chunkCount {
            let spilled = try Self.read("\(partial)/spill-\(index)")
            let chunk = StateChunk(index: index, entries: try Self.decodeEntries(spilled))
            try Self.write(chunk.canonicalBytes, to: "\(partial)/chunk-\(index)")
            try FileManager.default.removeItem(atPath: "\(partial)/spill-\(index)")
            summaries.append(chunk.summary)
        }
        let manifest = StateSyncManifest(ledger: SnapshotManifest(height: tip.height, summaries: summaries), tip: tip)
        try Self.write(manifest.canonicalBytes, to: "\(partial)/manifest")
        try FileManager.default.moveItem(atPath: partial, toPath: "\(directory)/\(tip.height)")
        let dropped: [Height] = heights.withLock { heights in
            heights.append(tip.height)
            heights.sort()
            let excess = max(0, heights.count - keep)
            defer { heights.removeFirst(excess) }
            return Array(heights.prefix(excess))
        }
        for height in dropped { try? FileManager.default.removeItem(atPath: "\(directory)/\(height)") }
    }

    /// The latest complete snapshot's manifest bytes.
    func latestManifest() -> [UInt8]? {
        guard let height = latestHeight else { return nil }
        return try? Self.read("\(directory)/\(height)/manifest")
    }

    /// Chunk `index` of the snapshot at `height`, if held.
    func chunk(height: Height, index: UInt32) -> [UInt8]? {
        guard index < SnapshotManifest.chunkCount, heights.withLock({ $0.contains(height) }) else { return nil }
        return try? Self.read("\(directory)/\(height)/chunk-\(index)")
    }

    /// Appends each state entry's encoding to its chunk's spill file, through 64 KiB buffers.
    private func spill(_ reader: some KeyValueReader, into partial: String) throws {
        let handles = try (0..<SnapshotManifest.chunkCount).map { index in
            let path = "\(partial)/spill-\(index)"
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw Node.StartError("cannot create \(path)")
            }
            return try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }
        defer { for handle in handles { try? handle.close() } }
        var buffers = [CanonicalWriter](repeating: CanonicalWriter(), count: SnapshotManifest.chunkCount)
        try StateRestore.forEachEntry(in: reader) { entry in
            let index = StateChunk.index(ofKey: entry.key)
            buffers[index].write(entry)
            if buffers[index].bytes.count >= Self.spillBufferBytes {
                try handles[index].write(contentsOf: buffers[index].bytes)
                buffers[index] = CanonicalWriter()
            }
        }
        for (handle, buffer) in zip(handles, buffers) { try handle.write(contentsOf: buffer.bytes) }
    }

    private static let spillBufferBytes = 64 << 10

    static func decodeEntries(_ bytes: [UInt8]) throws -> [StateEntry] {
        var reader = CanonicalReader(bytes)
        var entries: [StateEntry] = []
        while reader.remaining > 0 { entries.append(try reader.read()) }
        return entries
    }

    private static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw Node.StartError("cannot read \(path)") }
        return [UInt8](data)
    }

    /// Written and fsynced before the directory is renamed, so a complete snapshot survives a crash whole.
    private static func write(_ bytes: [UInt8], to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw Node.StartError("cannot write \(path)")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.synchronize()
    }
}

/// Answers peers' state sync requests from the snapshot store: the latest manifest, and chunks read from disk
/// off the inbound loop, at most `readsMax` at a time (a request beyond that gets "not held" and is asked of
/// another peer), so serving holds at most that many chunks in memory.
final class SnapshotServer: Sendable {
    let snapshots: SnapshotStore?
    let p2p: P2PService
    private let reading = Atomic<Int>(0)
    static let readsMax = 2

    init(snapshots: SnapshotStore?, p2p: P2PService) {
        self.snapshots = snapshots
        self.p2p = p2p
    }

    func offer(to peer: PublicKey) {
        guard let manifest = snapshots?.latestManifest() else { return }
        p2p.send(to: peer, WireMessage.snapshotOffer(manifest: manifest).canonicalBytes)
    }

    func serveChunk(height: Height, index: UInt32, to peer: PublicKey) {
        let notHeld = WireMessage.snapshotChunkNotHeld(height: height, index: index).canonicalBytes
        guard let snapshots, reading.add(1, ordering: .relaxed).newValue <= Self.readsMax else {
            reading.subtract(1, ordering: .relaxed)
            p2p.send(to: peer, notHeld)
            return
        }
        DispatchQueue.global(qos: .utility).async { [self] in
            defer { reading.subtract(1, ordering: .relaxed) }
            let answer = snapshots.chunk(height: height, index: index).map {
                WireMessage.snapshotChunk(height: height, index: index, bytes: $0).canonicalBytes
            }
            // A chunk larger than a frame cannot be sent: the asker would drop the link (docs/p2p.md).
            if let answer, answer.count <= p2p.config.messageBytesMax {
                p2p.send(to: peer, answer)
            } else {
                p2p.send(to: peer, notHeld)
            }
        }
    }
}

/// Takes a snapshot after every `interval`-th block, off the engine's queue: the store view is taken on the
/// queue right after the commit (so it is exactly that height), the scan and the files on a background queue.
/// One at a time: a snapshot that falls due while the previous is still being written is skipped and logged.
final class SnapshotTaker: Sendable {
    let snapshots: SnapshotStore
    let interval: Height
    let logger: Logger
    private let busy = Atomic<Bool>(false)

    init(snapshots: SnapshotStore, interval: Height, logger: Logger) {
        precondition(interval > 0)
        self.snapshots = snapshots
        self.interval = interval
        self.logger = logger
    }

    /// Called on the engine's queue after block `height` was written.
    func committed(height: Height, store: RocksDBStore) {
        guard height % interval == 0 else { return }
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            logger.warning("snapshot at height \(height) skipped: the previous one is still being written")
            return
        }
        let view: RocksDBStore.Snapshot
        do { view = try store.snapshot() } catch {
            busy.store(false, ordering: .releasing)
            logger.error("snapshot at height \(height) not taken: \(error)")
            return
        }
        DispatchQueue.global(qos: .utility).async { [self] in
            defer { busy.store(false, ordering: .releasing) }
            let started = DispatchTime.now().uptimeNanoseconds
            do {
                try snapshots.take(from: view)
                let ms = (DispatchTime.now().uptimeNanoseconds - started) / 1_000_000
                logger.info("snapshot at height \(height) written in \(ms) ms")
            } catch {
                logger.error("snapshot at height \(height) failed: \(error)")
            }
        }
    }
}
