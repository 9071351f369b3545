import AssayCrypto
import AssayNode
import Foundation
import Testing
@testable import assay

/// `assay node init`, in-process: a home with a key file for each role.
@Suite("assay node init")
final class NodeInitCommandTests {
    let directory = NSTemporaryDirectory() + "assay-node-init-" + UUID().uuidString

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    private func run(_ arguments: [String]) throws {
        var command = try Assay.parseAsRoot(arguments)
        try command.run()
    }

    private func initHome(_ name: String, _ extra: [String] = []) throws -> NodeHome {
        let home = NodeHome(path: directory + "/" + name)
        try run(
            ["node", "init", "--home", home.path, "--genesis", directory + "/genesis/genesis.json", "--key",
             directory + "/genesis/validator-0.json"] + extra)
        return home
    }

    init() throws {
        try run(["genesis", "init", "--validators", "1", "--out", directory + "/genesis"])
    }

    @Test func initWritesAKeyFileForEachRole() throws {
        let given = try initHome("given", [
            "--node-key", directory + "/genesis/node-key-0.json",
            "--account-key", directory + "/genesis/validator-account-0.json",
        ])
        let config = try NodeConfig.load(path: given.configPath)
        let account = try #require(config.account)
        #expect(try KeyFile.read(from: given.resolve(config.node.keyFile)).publicKey
            == KeyFile.read(from: directory + "/genesis/validator-0.json").publicKey)
        #expect(try KeyFile.read(from: given.resolve(config.node.nodeKeyFile)).publicKey
            == KeyFile.read(from: directory + "/genesis/node-key-0.json").publicKey)
        #expect(try KeyFile.read(from: given.resolve(account.keyFile)).publicKey
            == KeyFile.read(from: directory + "/genesis/validator-account-0.json").publicKey)

        // Without --node-key and --account-key, new keys of their own (mode 0600).
        let fresh = try initHome("fresh")
        let keys = try [config.node.keyFile, config.node.nodeKeyFile, account.keyFile].map {
            try KeyFile.read(from: fresh.resolve($0)).publicKey
        }
        #expect(Set(keys).count == 3)
        let mode = try FileManager.default.attributesOfItem(atPath: fresh.resolve(config.node.nodeKeyFile))[.posixPermissions]
        #expect(mode as? Int == 0o600)
    }

    @Test func theConsensusKeyIsRefusedForAnotherRole() throws {
        for option in ["--node-key", "--account-key"] {
            #expect(throws: CommandFailure.self) {
                try initHome("reused" + option, [option, directory + "/genesis/validator-0.json"])
            }
            #expect(!FileManager.default.fileExists(atPath: directory + "/reused" + option))
        }
    }
}
