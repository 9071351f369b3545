import ArgumentParser
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
        subcommands: [WriteBatches.self]
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
