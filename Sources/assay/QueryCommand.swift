import ArgumentParser
import AssayAPI
import Foundation

/// Options every command that talks to a node shares.
struct NodeOptions: ParsableArguments {
    @Option(help: "The node's RPC URL.") var node = "http://127.0.0.1:26657"
    @Flag(help: "Print JSON for scripts instead of text for people.") var json = false

    func client() throws -> RPCClient { try RPCClient(node: node) }

    /// Prints a typed answer as the node sent it (JSON), or as `key: value` lines with amounts in credits.
    func show(_ result: some Encodable, amounts: Set<String> = ["balance", "fee", "amount"]) throws {
        if json { return print(try Output.json(result)) }
        guard case let .object(fields) = try Output.jsonValue(result) else { return print(try Output.json(result)) }
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            switch value {
            case let .string(text) where amounts.contains(key): print("\(key): \(Output.credits(text))")
            case let .string(text): print("\(key): \(text)")
            case .array, .object: print("\(key): \(try Output.json(value).replacingOccurrences(of: "\n", with: "\n  "))")
            default: print("\(key): \(try Output.json(value))")
            }
        }
    }
}

struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read chain state from a node over JSON-RPC.",
        subcommands: [
            Status.self, BlockQuery.self, AccountQuery.self, TxQuery.self, JobsQuery.self, JobQuery.self,
            OffersQuery.self, ProviderQuery.self, ValidatorsQuery.self, ProofQuery.self, SupplyQuery.self,
            ParamsQuery.self,
        ])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The node's latest height, block and state root.")
        @OptionGroup var options: NodeOptions

        func run() async throws { try options.show(try await options.client().call(ChainMethods.status, NoParams())) }
    }

    struct BlockQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "block", abstract: "A committed block.")
        @OptionGroup var options: NodeOptions
        @Option(help: "Height (default: the latest).") var height: UInt64?
        @Option(help: "Block hash, hex.") var hash: String?

        func run() async throws {
            try options.show(try await options.client().call(ChainMethods.block, BlockParams(height: height, hash: hash)))
        }
    }

    struct AccountQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "account", abstract: "An account's balance and nonce.")
        @OptionGroup var options: NodeOptions
        @Argument(help: "The address, assay1...") var address: String

        func run() async throws {
            try options.show(try await options.client().call(ChainMethods.account, AddressParams(address: address)))
        }
    }

    struct TxQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tx", abstract: "A committed transaction with its result and events.")
        @OptionGroup var options: NodeOptions
        @Argument(help: "The transaction hash, hex.") var hash: String

        func run() async throws { try options.show(try await options.client().call(ChainMethods.tx, HashParams(hash: hash))) }
    }
}
