#if canImport(Glibc)
import Glibc
#endif

/// `Tools/bench [SUITE...]`: release-mode benchmarks that print one figure a line.
/// Each suite registers itself here; with no argument the foundation suite runs.
@main
struct BenchMain {
    static let suites: [(name: String, run: @Sendable () throws -> Void)] = [
        ("foundation", FoundationBench.run),
        ("codec", CodecBench.run),
        ("ledger", LedgerBench.run),
        ("crypto", CryptoBench.run),
        ("storage", StorageBench.run),
        ("kernels", KernelBench.run),
        ("models", ModelBench.run),
        ("mempool", MempoolBench.run),
        ("blobs", BlobBench.run),
        ("dispute", DisputeBench.run),
    ]

    static func main() throws {
        let requested = Array(CommandLine.arguments.dropFirst())
        // The blob bench runs each node in a process of its own: this binary, started with a hidden role.
        if requested.first == BlobBench.nodeRole {
            try BlobBench.runNode(Array(requested.dropFirst()))
            return
        }
        let names = requested.isEmpty ? ["foundation"] : requested
        for name in names {
            guard let suite = suites.first(where: { $0.name == name }) else {
                let known = suites.map(\.name).joined(separator: ", ")
                print("unknown bench suite '\(name)'; known: \(known)")
                exit(2)
            }
            print("== \(name)")
            try suite.run()
        }
    }
}
