import ArgumentParser
import AssayCrypto
import AssayNode
import Foundation
import Logging

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Set up and run a validator node.", subcommands: [Init.self, Start.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a node home: config.toml (see Network/README.md), genesis and the validator, node and account keys.")

        @Option(help: "The node's home directory (created).") var home: String
        @Option(help: "The chain's genesis file.") var genesis: String
        @Option(help: "The validator's consensus key file (signs proposals and votes, nothing else).") var key: String
        @Option(help: "The node key file (authenticates P2P links; the one in the validator's record). Default: a new key.")
        var nodeKey: String?
        @Option(help: "The account key file (signs challenges and evidence; fund it for bonds). Default: a new key.")
        var accountKey: String?
        @Option(help: "A name for logs.") var moniker = "node"
        @Option(help: "P2P listen address, host:port.") var p2pListen = "127.0.0.1:26656"
        @Option(help: "RPC listen address, host:port (keep it on loopback unless you mean it).")
        var rpcListen = "127.0.0.1:26657"
        @Option(name: .customLong("peer"), help: "A peer to dial, host:port (repeatable).") var peers: [String] = []
        @Option(help: "Turn tracing on, sending to this OpenTelemetry collector's OTLP/HTTP base URL ([tracing]).")
        var otlpEndpoint: String?
        @Option(help: "With --otlp-endpoint: http/protobuf or http/json.") var otlpProtocol = "http/protobuf"
        @Option(help: "Take a state sync snapshot every N blocks ([statesync] snapshot_interval; 0: none).")
        var snapshotInterval = 0
        @Option(name: .customLong("allow-node"), help: "A non-validator node key (hex) allowed to connect (repeatable).")
        var allowedNodes: [String] = []
        @Option(help: "Join by state sync, trusting the block at this height (with --trust-hash).")
        var trustHeight: UInt64?
        @Option(help: "The hash (hex) of the block at --trust-height.") var trustHash: String?
        @Option(help: "Keep only the newest N blocks ([storage] retain_blocks; 0: every block).")
        var retainBlocks: UInt64 = 0

        func run() throws {
            for address in [p2pListen, rpcListen] + peers { _ = try hostAndPort(address) }
            // Refuse a home that could never start: the genesis must be valid, the keys key files, a key per role.
            do { _ = try Node.loadGenesis(genesis) } catch { throw CommandFailure("\(error)") }
            let keys = [("--key", key), ("--node-key", nodeKey), ("--account-key", accountKey)]
            var publicKeys: [String: PublicKey] = [:]
            for case let (option, path?) in keys {
                do { publicKeys[option] = try KeyFile.read(from: path).publicKey } catch {
                    throw CommandFailure("\(option) \(path): \(error)")
                }
            }
            if publicKeys["--key"] == publicKeys["--node-key"] || publicKeys["--key"] == publicKeys["--account-key"] {
                throw CommandFailure("the node and account keys must not be the consensus key (--key)")
            }
            var config = NodeConfig.defaults(moniker: moniker, p2pListen: p2pListen, rpcListen: rpcListen, peers: peers)
            if let otlpEndpoint {
                let tracing = NodeConfig.Tracing(enable: true, otlpEndpoint: otlpEndpoint, otlpProtocol: otlpProtocol)
                do { _ = try tracing.settings(moniker: moniker) } catch { throw CommandFailure("\(error)") }
                config.tracing = tracing
            }
            config.p2p.allowedNodeKeys = allowedNodes.isEmpty ? nil : allowedNodes
            var stateSync = NodeConfig.StateSync.defaults
            stateSync.snapshotInterval = snapshotInterval
            if trustHeight != nil || trustHash != nil {
                guard let trustHeight, let trustHash else { throw CommandFailure("--trust-height and --trust-hash go together") }
                (stateSync.enable, stateSync.trustHeight, stateSync.trustHash) = (true, trustHeight, trustHash)
            }
            do {
                _ = try config.p2p.validated()
                _ = try stateSync.trust()
            } catch { throw CommandFailure("\(error)") }
            config.statesync = stateSync
            config.storage = NodeConfig.Storage(minFreeBytes: NodeConfig.Storage.defaults.minFreeBytes, retainBlocks: retainBlocks)
            do {
                try NodeHome(path: home).initialize(
                    config: config, genesisFile: genesis, keyFile: key, nodeKeyFile: nodeKey, accountKeyFile: accountKey)
            } catch {
                throw CommandFailure("\(error)")
            }
            try printKeys(NodeHome(path: home), config)
        }

        /// What the operator needs next: the node key for the add-validator proposal, the account to fund.
        private func printKeys(_ home: NodeHome, _ config: NodeConfig) throws {
            let nodeKey = try KeyFile.read(from: home.resolve(config.node.nodeKeyFile))
            print("initialised \(home.path)")
            print("node key: \(nodeKey.publicKey)")
            if let account = config.account {
                print("account: \(try KeyFile.read(from: home.resolve(account.keyFile)).address)")
            }
        }

        private func hostAndPort(_ text: String) throws -> (String, Int) {
            do { return try NodeHome.hostAndPort(text) } catch { throw CommandFailure("\(error)") }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the node until SIGTERM or SIGINT.")

        @Option(help: "The node's home directory.") var home: String
        @Option(help: "Read the validator key's passphrase from this file.") var passphraseFile: String?
        @Option(help: "Read the account key's passphrase from this file.") var accountPassphraseFile: String?

        func run() async throws {
            let nodeHome = NodeHome(path: home)
            let config: NodeConfig
            do { config = try NodeConfig.load(path: nodeHome.configPath) } catch { throw CommandFailure("\(error)") }
            let keys: NodeKeys
            do {
                keys = try NodeKeys(
                    validatorKey: try unlockKeyFile(nodeHome.resolve(config.node.keyFile), passphraseFile: passphraseFile).key,
                    nodeKey: try unlockKeyFile(nodeHome.resolve(config.node.nodeKeyFile), passphraseFile: nil).key,
                    accountKey: try config.account.map {
                        try unlockKeyFile(nodeHome.resolve($0.keyFile), passphraseFile: accountPassphraseFile).key
                    })
            } catch let error as NodeKeys.Reuse {
                throw CommandFailure("\(error)")
            }
            var logger = Logger(label: "assay.\(config.node.moniker)")
            logger.logLevel = Logger.Level(rawValue: config.log.level) ?? .info
            do {
                try await Node.run(home: nodeHome, keys: keys, logger: logger)
            } catch {
                throw CommandFailure("\(error)")
            }
        }
    }
}
