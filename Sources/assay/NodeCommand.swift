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
            abstract: "Write a node home: config.toml (see Network/README.md), genesis and node key.")

        @Option(help: "The node's home directory (created).") var home: String
        @Option(help: "The chain's genesis file.") var genesis: String
        @Option(help: "The validator's key file (signs votes, authenticates P2P).") var key: String
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

        func run() throws {
            for address in [p2pListen, rpcListen] + peers { _ = try hostAndPort(address) }
            // Refuse a home that could never start: the genesis must be valid and the key a key file.
            do { _ = try Node.loadGenesis(genesis) } catch { throw CommandFailure("\(error)") }
            do { _ = try KeyFile.read(from: key) } catch { throw CommandFailure("--key \(key): \(error)") }
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
            do {
                try NodeHome(path: home).initialize(config: config, genesisFile: genesis, keyFile: key)
            } catch {
                throw CommandFailure("\(error)")
            }
            print("initialised \(home)")
        }

        private func hostAndPort(_ text: String) throws -> (String, Int) {
            do { return try NodeHome.hostAndPort(text) } catch { throw CommandFailure("\(error)") }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the node until SIGTERM or SIGINT.")

        @Option(help: "The node's home directory.") var home: String
        @Option(help: "Read the node key's passphrase from this file.") var passphraseFile: String?

        func run() async throws {
            let nodeHome = NodeHome(path: home)
            let config: NodeConfig
            do { config = try NodeConfig.load(path: nodeHome.configPath) } catch { throw CommandFailure("\(error)") }
            let (_, key) = try unlockKeyFile(nodeHome.resolve(config.node.keyFile), passphraseFile: passphraseFile)
            var logger = Logger(label: "assay.\(config.node.moniker)")
            logger.logLevel = Logger.Level(rawValue: config.log.level) ?? .info
            do {
                try await Node.run(home: nodeHome, key: key, logger: logger)
            } catch {
                throw CommandFailure("\(error)")
            }
        }
    }
}
