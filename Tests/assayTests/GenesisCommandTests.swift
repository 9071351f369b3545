import ArgumentParser
import AssayCrypto
import AssayTypes
import Foundation
import Testing
@testable import assay

/// `assay genesis init` then `validate`, in-process.
@Suite("assay genesis")
final class GenesisCommandTests {
    let directory = NSTemporaryDirectory() + "assay-genesis-" + UUID().uuidString

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    private func run(_ arguments: [String]) throws {
        var command = try Assay.parseAsRoot(arguments)
        try command.run()
    }

    @Test func initThenValidateSucceeds() throws {
        try run(["genesis", "init", "--validators", "3", "--accounts", "2", "--out", directory])
        try run(["genesis", "validate", directory + "/genesis.json"])
        let genesis = try Genesis.parse(json: Data(contentsOf: URL(fileURLWithPath: directory + "/genesis.json")))
        #expect(genesis.validators.count == 3)
        #expect(genesis.accounts.count == 8)  // each validator's consensus and account addresses, and 2 others
        let key = try KeyFile.read(from: directory + "/validator-0.json").secretKey(passphrase: nil)
        #expect(genesis.validators.power(of: key.publicKey) == 10)
        let nodeKey = try KeyFile.read(from: directory + "/node-key-0.json")
        #expect(genesis.nodeKey(of: key.publicKey) == nodeKey.publicKey)
        let account = try KeyFile.read(from: directory + "/validator-account-0.json").address
        #expect(genesis.accounts.first { $0.address == account }?.balance == 1_000_000 * Amount.baseUnitsPerCredit)
        let mode = try FileManager.default.attributesOfItem(atPath: directory + "/account-1.json")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func validateOfABrokenFileExitsNonZero() throws {
        try run(["genesis", "init", "--validators", "1", "--out", directory])
        let path = directory + "/genesis.json"
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\"power\" : 10", with: "\"power\" : 0")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let error = try #require(throws: ExitCode.self) { try run(["genesis", "validate", path]) }
        #expect(error == ExitCode(1))
    }

    @Test func paramsOptionSetsParametersAndRefusesBadOnesBeforeWritingAnything() throws {
        try run([
            "genesis", "init", "--validators", "1", "--out", directory, "--param", "challenge_window_blocks=8",
            "--param", "max_job_work_units=1000000000",
        ])
        let genesis = try Genesis.parse(json: Data(contentsOf: URL(fileURLWithPath: directory + "/genesis.json")))
        #expect(genesis.params.challengeWindowBlocks == 8)
        #expect(genesis.params.maxJobWorkUnits == 1_000_000_000)

        let refused = directory + "-refused"
        for bad in ["bogus=1", "take_rate_bps=20000", "max_tile_work_units=2000000000", "min_fee"] {
            #expect(throws: CommandFailure.self) {
                try run(["genesis", "init", "--validators", "1", "--out", refused, "--param", bad])
            }
        }
        #expect(!FileManager.default.fileExists(atPath: refused))
    }
}
