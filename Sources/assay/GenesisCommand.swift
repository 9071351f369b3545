import ArgumentParser
import AssayCrypto
import AssayTypes
import Foundation

/// `assay genesis init|validate`: make a devnet genesis with its keys, or check a genesis file.
struct GenesisCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genesis",
        abstract: "Create or check a genesis file (format: Genesis/README.md).",
        subcommands: [Init.self, Validate.self]
    )
}

extension GenesisCommand {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write genesis.json and unencrypted key files for a devnet's validators and funded accounts.",
            discussion: """
                Each validator I gets three keys: validator-I.json (consensus: funded and bonded), node-key-I.json \
                (P2P, in its genesis record) and validator-account-I.json (its node's account: funded).
                """)

        @Option(help: "Number of validators (each also funded and bonded).")
        var validators: Int

        @Option(help: "Number of funded accounts besides the validators.")
        var accounts: Int = 0

        @Option(help: "Directory to write genesis.json and the key files into (created if missing).")
        var out: String

        @Option(help: "Chain id.")
        var chainID = "assay-devnet"

        @Option(help: "Balance of every account and validator, in credits.")
        var balanceCredits: UInt64 = 1_000_000

        @Option(help: "Stake bonded by each validator at genesis, in credits.")
        var validatorStakeCredits: UInt64 = 10_000

        @Option(help: "Voting power of each validator.")
        var power: UInt64 = 10

        @Option(name: .customLong("param"), help: "Set a chain parameter, NAME=VALUE (repeatable; Genesis/README.md).")
        var parameters: [String] = []

        @Option(help: "Funded accounts without key files (addresses from SHA-256 of their index): a large state to measure.")
        var bulkAccounts: Int = 0

        func validate() throws {
            guard (1...ValidatorSet.sizeMax).contains(validators) else {
                throw ValidationError("--validators must be 1 to \(ValidatorSet.sizeMax)")
            }
            guard accounts >= 0, bulkAccounts >= 0 else {
                throw ValidationError("--accounts and --bulk-accounts must not be negative")
            }
        }

        func run() throws {
            let params = try chosenParams()
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let credit = Amount.baseUnitsPerCredit
            let balance = try balanceCredits.multiplied(by: credit)
            let stake = try validatorStakeCredits.multiplied(by: credit)
            var members: [Validator] = []
            var nodeKeys: [PublicKey: PublicKey] = [:]
            var funded: [Genesis.Account] = []
            for index in 0..<validators {
                let key = try SecretKey.generate()
                let nodeKey = try SecretKey.generate()
                let account = try SecretKey.generate()
                try writeKey(key, name: "validator-\(index).json")
                try writeKey(nodeKey, name: "node-key-\(index).json")
                try writeKey(account, name: "validator-account-\(index).json")
                members.append(Validator(publicKey: key.publicKey, power: power))
                nodeKeys[key.publicKey] = nodeKey.publicKey
                funded.append(Genesis.Account(address: Address(publicKey: key.publicKey), balance: balance, bonded: stake))
                funded.append(Genesis.Account(address: Address(publicKey: account.publicKey), balance: balance))
            }
            for index in 0..<accounts {
                let key = try SecretKey.generate()
                try writeKey(key, name: "account-\(index).json")
                funded.append(Genesis.Account(address: Address(publicKey: key.publicKey), balance: balance))
            }
            for index in 0..<bulkAccounts {
                let digest = SHA256.hash(Array("assay bulk account \(index)".utf8))
                funded.append(Genesis.Account(address: try Address(bytes: Array(digest.bytes.prefix(20))), balance: balance))
            }
            let genesis = Genesis(
                chainID: chainID, genesisTimeMs: UInt64(Date().timeIntervalSince1970 * 1_000), accounts: funded,
                validators: try ValidatorSet(members), nodeKeys: nodeKeys, params: params)
            let path = (out as NSString).appendingPathComponent("genesis.json")
            // Round-trip through the checker so that init never writes a file validate would refuse.
            _ = try Genesis.parse(json: genesis.json())
            try genesis.json().write(to: URL(fileURLWithPath: path))
            print("wrote \(path): chain \(chainID), \(validators) validators, \(accounts + bulkAccounts) accounts")
        }

        /// The defaults with every `--param` applied; the rules between parameters are checked on the result.
        private func chosenParams() throws -> Params {
            var params = Params()
            for assignment in parameters {
                let (name, value) = try ParameterAssignment.parse(assignment)
                params[keyPath: Params.spec(named: name)!.keyPath] = value
            }
            if let problem = params.problems().first { throw CommandFailure("--param: \(problem)") }
            return params
        }

        /// Devnet keys are plaintext key files (mode 0600), readable by `assay keys show`.
        private func writeKey(_ key: SecretKey, name: String) throws {
            try KeyFile(key: key, protection: .insecurePlaintext)
                .write(to: (out as NSString).appendingPathComponent(name))
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a genesis file; print each problem with its JSON path and exit 1 if there are any.")

        @Argument(help: "The genesis JSON file.")
        var file: String

        func run() throws {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
                throw CommandFailure("cannot read \(file): \(error.localizedDescription)")
            }
            do {
                let genesis = try Genesis.parse(json: data)
                print("ok: chain \(genesis.chainID), \(genesis.validators.count) validators, "
                    + "\(genesis.accounts.count) accounts, supply \(genesis.totalSupply) base units")
            } catch {
                for problem in error.problems { print(problem) }
                throw ExitCode(1)
            }
        }
    }
}
