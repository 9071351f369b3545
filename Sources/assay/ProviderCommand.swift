import ArgumentParser
import AssayKernels
import AssayTracing
import Foundation

/// `assay provider start`: a provider that stakes, publishes an offer and serves the jobs assigned to it.
struct ProviderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provider", abstract: "Run a compute provider.", subcommands: [Start.self])

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stake, offer, then run assigned jobs and post their results until stopped.",
            discussion: """
                Follows the node's `jobs` subscription for this provider's address over WebSocket; after a \
                (re)connect it catches up by listing its open jobs. --cheat exists for tests and demos only: \
                wrong:P posts a wrong output with probability P, tile:LAYER:TILE corrupts that tile of each job's \
                trace (recomputing the later layers from it), fraction:Q each tile with probability Q (seeded by \
                --seed and the job id), late posts after the deadline, silent never posts. With \
                OTEL_EXPORTER_OTLP_ENDPOINT set, each job's run is traced to that OpenTelemetry collector \
                (docs/rpc.md, Tracing).
                """)
        @OptionGroup var node: NodeOptions
        @Option(help: "The provider's key file.") var key: String
        @Option(help: "Read the key's passphrase from this file.") var passphraseFile: String?
        @Option(help: "Comma-separated kernels to offer.") var kernels = "gemm-i8/1"
        @Option(help: "Price per work unit in base units.") var price: UInt64
        @Option(help: "Bond stake up to this many credits (default: the chain's min_provider_stake).") var stake: String?
        @Option(help: "Most jobs open at once under the offer.") var capacity: UInt32 = 64
        @Option(help: "Blocks the offer stays open.") var offerBlocks: UInt64 = 100_000
        @Option(help: "Fee per transaction, in credits (default: the chain's min_fee).") var fee: String?
        @Option(help: "Testing only: wrong:P, tile:LAYER:TILE, fraction:Q, late or silent.") var cheat: String?
        @Option(help: "Seed of the cheating coin flips (wrong:P, fraction:Q).") var seed: UInt64 = 1
        @Option(help: "Kernel threads per job (1...64; on a machine shared with a node, leave it a core).") var threads = 1

        func validate() throws {
            guard (1...64).contains(threads) else { throw ValidationError("--threads must be within 1...64") }
        }

        func run() async throws {
            let (_, secret) = try unlockKeyFile(key, passphraseFile: passphraseFile)
            let wallet = try await Wallet(client: try node.client(), key: secret)
            let settings = ProviderWorker.Settings(
                kernels: try KernelList.parse(kernels), price: price, stake: try stake.map(Output.baseUnits(credits:)),
                capacity: capacity, offerBlocks: offerBlocks, fee: try fee.map(Output.baseUnits(credits:)),
                cheat: try ProviderWorker.Cheat(parsing: cheat), seed: seed, threads: threads)
            try await TracingBackend.runCommand(service: "assay-provider", instance: wallet.address.description) { tracer in
                try await ProviderWorker(wallet: wallet, settings: settings, tracer: tracer).run()
            }
        }
    }
}
