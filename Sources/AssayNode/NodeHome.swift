import AssayCrypto
import AssayTypes
import Foundation

/// A node's home directory: `config.toml`, `genesis.json`, the key files `validator_key.json` (consensus),
/// `node_key.json` (P2P) and `account_key.json` (challenges, evidence), and the `data/` RocksDB directory.
public struct NodeHome: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public var configPath: String { resolve("config.toml") }

    public func resolve(_ relative: String) -> String {
        relative.hasPrefix("/") ? relative : (path as NSString).appendingPathComponent(relative)
    }

    public enum InitError: Error, CustomStringConvertible {
        case alreadyInitialized(String)
        case io(String)

        public var description: String {
            switch self {
            case let .alreadyInitialized(path): "\(path) already exists: refusing to overwrite a node's configuration"
            case let .io(reason): reason
            }
        }
    }

    /// Writes a new home: the config, a copy of the genesis file and of the validator key file, and the node and
    /// account key files: copies of `nodeKeyFile` and `accountKeyFile`, or new plaintext keys (mode 0600) when nil.
    public func initialize(
        config: NodeConfig, genesisFile: String, keyFile: String, nodeKeyFile: String?, accountKeyFile: String?
    ) throws {
        let files = FileManager.default
        guard !files.fileExists(atPath: configPath) else { throw InitError.alreadyInitialized(configPath) }
        do {
            try files.createDirectory(atPath: path, withIntermediateDirectories: true)
            try copy(genesisFile, to: resolve(config.node.genesisFile), permissions: 0o644)
            try copy(keyFile, to: resolve(config.node.keyFile), permissions: 0o600)
            try copyOrGenerateKey(nodeKeyFile, to: resolve(config.node.nodeKeyFile))
            if let account = config.account { try copyOrGenerateKey(accountKeyFile, to: resolve(account.keyFile)) }
            try config.tomlText().write(toFile: configPath, atomically: true, encoding: .utf8)
        } catch let error as InitError {
            throw error
        } catch {
            throw InitError.io("cannot initialise \(path): \(error.localizedDescription)")
        }
    }

    private func copyOrGenerateKey(_ source: String?, to destination: String) throws {
        if let source { return try copy(source, to: destination, permissions: 0o600) }
        try KeyFile(key: try SecretKey.generate(), protection: .insecurePlaintext).write(to: destination)
    }

    private func copy(_ source: String, to destination: String, permissions: Int) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: source))
        try data.write(to: URL(fileURLWithPath: destination), options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: destination)
    }

    /// Parses a `host:port` listen or peer address.
    public static func hostAndPort(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65_535).contains(port), colon != text.startIndex
        else { throw InitError.io("'\(text)' is not a host:port address") }
        return (String(text[..<colon]), port)
    }
}
