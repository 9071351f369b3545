import ArgumentParser
import AssayBlobs
import AssayRocksDB
import AssayStorage
#if canImport(Glibc)
import Glibc
#endif

/// Hidden tools that tests drive as child processes.
struct Debug: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Developer tools used by the test suite.",
        shouldDisplay: false,
        subcommands: [WriteBatches.self, WriteBlobs.self]
    )
}

/// Writes numbered batches with buffered durability until killed; the crash-recovery test SIGKILLs it
/// and checks that every batch survived whole or not at all.
/// Batch n puts `keysPerBatch` keys `n(8 bytes, big-endian) ‖ i` -> n in namespace `crash-keys`
/// and the marker `n` -> keysPerBatch in `crash-markers`.
struct WriteBatches: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write-batches",
        abstract: "Write numbered batches to a RocksDB directory until killed."
    )

    @Option(help: "The RocksDB data directory (created if missing).")
    var dir: String

    @Option(help: "Keys in each batch besides its marker.")
    var keysPerBatch: UInt8 = 50

    func run() throws {
        let keys = Namespace("crash-keys")
        let markers = Namespace("crash-markers")
        let store = try RocksDBStore(path: dir, namespaces: [keys, markers], createIfMissing: true)
        for number in UInt64(0)... {
            let tag = (0..<8).map { UInt8(truncatingIfNeeded: number >> (56 - 8 * $0)) }
            var batch = WriteBatch()
            for index in 0..<keysPerBatch {
                batch.put(tag + [index], tag, in: keys)
            }
            batch.put(tag, [keysPerBatch], in: markers)
            try store.write(batch, durability: .buffered)
            if number == 0 {
                print("writing")
                fflush(nil)
            }
        }
    }
}

/// Writes blobs chunk by chunk into a `BlobStore` until killed, printing a line per chunk stored; the blob crash
/// test SIGKILLs it after a random number of lines and checks that every blob in the store is complete and
/// verified or not complete at all.
/// Blob k is `chunks` MiB + 123 + k bytes, byte i being `(i + k) mod 251`; even k are written last chunk first
/// with proofs (as P2P does), odd k first chunk first without (as an HTTP upload does).
struct WriteBlobs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write-blobs",
        abstract: "Write test blobs into a blob store directory until killed."
    )

    @Option(help: "The blob store directory (created if missing).")
    var dir: String

    @Option(help: "Whole chunks in each blob (each blob also has a short last chunk).")
    var chunks = 6

    @Option(help: "The number k of the first blob to write.")
    var first = 0

    func run() throws {
        let store = try BlobStore(directory: dir, maxBlobBytes: .max)
        print("writing")
        fflush(nil)
        for k in first... {
            let bytes = (k..<k + chunks * blobChunkBytes + 123 + k).map { UInt8($0 % 251) }
            var hasher = BlobHasher()
            hasher.update(bytes)
            let tree = hasher.finish()
            let order = k % 2 == 0 ? Array((0..<tree.leaves.count).reversed()) : Array(0..<tree.leaves.count)
            for index in order {
                let chunk = Array(bytes[index * blobChunkBytes..<min(bytes.count, (index + 1) * blobChunkBytes)])
                let proof = k % 2 == 0 ? tree.proof(chunk: index) : nil
                try store.writeChunk(ref: tree.ref, index: index, bytes: chunk, proof: proof)
                print("chunk \(k) \(index)")
                fflush(nil)
            }
        }
    }
}
