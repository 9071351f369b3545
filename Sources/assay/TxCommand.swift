import ArgumentParser
import AssayAPI
import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayKernels
import AssayTypes
import Foundation

/// Options of every command that signs and submits a transaction.
struct SigningOptions: ParsableArguments {
    @OptionGroup var node: NodeOptions
    @Option(help: "The sender's key file.") var key: String
    @Option(help: "Read the key's passphrase from this file.") var passphraseFile: String?
    @Option(help: "Fee in credits, paid to the block proposer (default: the chain's min_fee).") var fee: String?
    @Option(help: "Nonce (default: the account's next nonce, read from the node).") var nonce: UInt64?
    @Flag(help: "Wait until the transaction is committed and print its outcome and events.") var wait = false
    @Option(help: "Chain id (default: the node's).") var chainId: String?
    @Flag(help: "Print the signed transaction's hex instead of submitting it.") var printHex = false

    /// Unlocks the key (before any network use, so key problems are reported first) and connects to the node.
    func wallet() async throws -> Wallet {
        let (_, secret) = try unlockKeyFile(key, passphraseFile: passphraseFile)
        return try await Wallet(client: try node.client(), key: secret, chainID: chainId)
    }

    func fee(for wallet: Wallet) async throws -> UInt64 {
        if let fee { return try Output.baseUnits(credits: fee) }
        return try await wallet.minimumFee()
    }

    /// Signs `body` (after checking the account can pay its fee plus `spends`) and submits it; prints the hash,
    /// or with `--wait` the committed outcome, exiting 1 when the ledger refused the body.
    @discardableResult
    func submit(_ body: TransactionBody, spends: UInt64 = 0, wallet given: Wallet? = nil) async throws -> Submission {
        let wallet: Wallet
        if let given { wallet = given } else { wallet = try await self.wallet() }
        let fee = try await fee(for: wallet)
        if printHex {
            var nonce = self.nonce ?? 0
            if self.nonce == nil { nonce = try await wallet.account().nonce }
            let transaction = try wallet.sign(body, fee: fee, nonce: nonce)
            print(Hex.encode(transaction.canonicalBytes))
            return Submission(hash: transaction.hash.description, committed: nil)
        }
        let result = try await wallet.submit(body, fee: fee, spends: spends, nonce: nonce, wait: wait)
        try TxOutcome.show(result, json: node.json)
        if let committed = result.committed, committed.code != 0 { throw ExitCode(1) }
        return result
    }
}

/// How a submitted or committed transaction is shown.
enum TxOutcome {
    static func show(_ result: Submission, json: Bool) throws {
        guard let committed = result.committed else {
            if json { return print(try Output.json(SubmittedView(hash: result.hash))) }
            return print("hash: \(result.hash)\nsubmitted (not waiting for the commit)")
        }
        if json { return print(try Output.json(committed)) }
        print("hash: \(committed.hash)")
        print("height: \(committed.height)")
        let code = committed.code
        print(code == 0 ? "result: ok" : "result: FAILED, ledger code \(code) (\(committed.codeName))")
        for event in committed.events {
            let attributes = event.attributes.map { attribute in
                "\(attribute.key)=\(eventAmountKeys.contains(attribute.key) ? Output.credits(attribute.value) : attribute.value)"
            }
            print("event \(event.type): \(attributes.joined(separator: " "))")
        }
    }

    private static let eventAmountKeys: Set<String> = [
        "amount", "escrow", "paid", "refund", "burned", "bond", "to_challenger", "bond_forfeited", "fee", "reward",
    ]
}

struct Tx: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign and submit transactions.",
        subcommands: [
            TransferCommand.self, StakeCommand.self, UnstakeCommand.self, OfferCommand.self, WithdrawOfferCommand.self,
            RegisterModelCommand.self, JobCommand.self, ResultCommand.self, ChallengeCommand.self, SettleCommand.self,
            ProposeCommand.self, VoteCommand.self,
        ])

    struct TransferCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "transfer", abstract: "Send credits.")
        @OptionGroup var signing: SigningOptions
        @Option(help: "Recipient address, assay1...") var to: String
        @Option(help: "Amount in credits, up to six decimals.") var amount: String

        func run() async throws {
            let recipient = try RPCValue.address(to, what: "--to")
            let amount = try Output.baseUnits(credits: amount)
            try await signing.submit(.transfer(Transfer(recipient: recipient, amount: amount)), spends: amount)
        }
    }

    struct StakeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stake", abstract: "Bond credits from the balance as stake (providers and validators).")
        @OptionGroup var signing: SigningOptions
        @Option(help: "Amount in credits.") var amount: String

        func run() async throws {
            let amount = try Output.baseUnits(credits: amount)
            try await signing.submit(.stake(Stake(amount: amount)), spends: amount)
        }
    }

    struct UnstakeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "unstake", abstract: "Start unbonding stake (it returns after unbonding_blocks).")
        @OptionGroup var signing: SigningOptions
        @Option(help: "Amount in credits.") var amount: String

        func run() async throws {
            try await signing.submit(.unstake(Unstake(amount: try Output.baseUnits(credits: amount))))
        }
    }

    struct OfferCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "offer", abstract: "Publish a provider offer (needs min_provider_stake bonded).")
        @OptionGroup var signing: SigningOptions
        @Option(help: "Comma-separated kernels, e.g. gemm-i8/1,mlp-q8/1.") var kernels: String
        @Option(help: "Price per work unit in base units (1 credit = 1,000,000 base units).") var price: UInt64
        @Option(help: "Most jobs open at once.") var capacity: UInt32 = 16
        @Option(help: "Blocks from now until the offer expires.") var expiryBlocks: UInt64 = 100_000

        func run() async throws {
            let wallet = try await signing.wallet()
            let height = try await ChainReads.latestHeight(wallet.client)
            let offer = Offer(
                kernels: try KernelList.parse(kernels), pricePerWorkUnit: price, capacity: capacity,
                expiryHeight: height + expiryBlocks)
            try await signing.submit(.offer(offer), wallet: wallet)
        }
    }

    struct WithdrawOfferCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "withdraw-offer", abstract: "Remove your offer.")
        @OptionGroup var signing: SigningOptions
        @Option(help: "The offer id (hash of its offer transaction).") var offer: String

        func run() async throws {
            try await signing.submit(.withdrawOffer(WithdrawOffer(offerID: try RPCValue.hash(offer, what: "--offer"))))
        }
    }

    struct RegisterModelCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "register-model", abstract: "Upload a model (.npz) as a blob and register it; jobs refer to it by its blob id.")
        @OptionGroup var signing: SigningOptions
        @Option(help: "The model arrays (.npz, names in docs/kernels.md).") var model: String

        func run() async throws {
            let model = try KernelFiles.model(at: model)
            let modelBlob = try await BlobClient(try signing.node.client()).upload(model.canonicalBytes)
            if !signing.node.json { print("model_hash: \(modelBlob.id)") }
            try await signing.submit(.registerModel(RegisterModel(modelBlob: modelBlob)))
        }
    }

    struct JobCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "job",
            abstract: "Submit a job for an already registered model (`assay job submit` also registers it).")
        @OptionGroup var signing: SigningOptions
        @OptionGroup var job: JobRequestOptions
        @Option(help: "The registered model's hash.") var modelHash: String

        func run() async throws {
            let wallet = try await signing.wallet()
            let request = try await job.request(modelHash: try RPCValue.hash(modelHash, what: "--model-hash"), wallet.client)
            try await signing.submit(.job(request.job), spends: request.escrow, wallet: wallet)
        }
    }

    struct ResultCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "result", abstract: "Post a job's output (providers; `assay provider start` does this).")
        @OptionGroup var signing: SigningOptions
        @Option(help: "The job id.") var job: String
        @Option(help: "The output tensor (.npy).") var output: String
        @Option(help: "The trace blob (`assay kernel run --trace`).") var trace: String
        @Option(help: "The trace root `assay kernel run --trace` printed.") var traceRoot: String
        @Option(help: "The work units to charge.") var workUnits: UInt64

        func run() async throws {
            let wallet = try await signing.wallet()
            let id = try await ChainReads.existingJob(job, wallet.client).id
            let root = try RPCValue.hash(traceRoot, what: "--trace-root")
            let blobs = BlobClient(wallet.client)
            let outputBlob = try await blobs.upload(try KernelFiles.tensor(at: output).canonicalBytes)
            let traceBlob = try await blobs.upload(try KernelFiles.read(trace))
            let result = JobResult(
                jobID: id, outputBlob: outputBlob, traceBlob: traceBlob, traceRoot: root, workUnits: workUnits)
            try await signing.submit(.result(result), wallet: wallet)
        }
    }

    struct ChallengeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "challenge",
            abstract: "Dispute one tile of a posted result; the chain recomputes that tile.")
        @OptionGroup var signing: SigningOptions
        @Option(help: "The job id.") var job: String
        @Option(help: "The trace layer of the tile (0 first).") var layer: UInt32
        @Option(help: "The tile within the layer (0 first).") var tile: UInt32
        @Option(help: "Bond in credits (lost if the tile was right).") var bond = "1"

        func run() async throws {
            let wallet = try await signing.wallet()
            let id = try await ChainReads.existingJob(job, wallet.client).id
            let bond = try Output.baseUnits(credits: bond)
            let challenge = Challenge(jobID: id, layer: layer, tile: tile, bond: bond)
            try await signing.submit(.challenge(challenge), spends: bond, wallet: wallet)
        }
    }

    struct SettleCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "settle", abstract: "End a job whose window or deadline has passed.")
        @OptionGroup var signing: SigningOptions
        @Option(help: "The job id.") var job: String

        func run() async throws {
            let wallet = try await signing.wallet()
            let id = try await ChainReads.existingJob(job, wallet.client).id
            try await signing.submit(.settle(Settle(jobID: id)), wallet: wallet)
        }
    }

    struct ProposeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "propose", abstract: "Propose a governance action (validators only); give exactly one action.")
        @OptionGroup var signing: SigningOptions
        @Option(help: "Add a validator (or change its power and node key): its consensus public key, hex.")
        var addValidator: String?
        @Option(help: "Voting power for --add-validator.") var power: UInt64 = 10
        @Option(help: "With --add-validator: the public key (hex) its node's P2P links authenticate with.")
        var nodeKey: String?
        @Option(help: "Remove a validator: its x-only public key, hex.") var removeValidator: String?
        @Option(help: "Set a chain parameter: NAME=VALUE (names in Genesis/README.md).") var set: String?

        func run() async throws {
            let action: ProposalAction
            if nodeKey != nil && addValidator == nil { throw ValidationError("--node-key goes with --add-validator") }
            switch (addValidator, removeValidator, set) {
            case let (key?, nil, nil):
                guard let nodeKey else { throw ValidationError("--add-validator needs --node-key") }
                action = .addValidator(try publicKey(key), power: power, nodeKey: try publicKey(nodeKey))
            case let (nil, key?, nil): action = .removeValidator(try publicKey(key))
            case let (nil, nil, assignment?):
                let (name, value) = try ParameterAssignment.parse(assignment)
                action = .setParameter(name: name, value: value)
            default: throw ValidationError("give exactly one of --add-validator, --remove-validator, --set")
            }
            try await signing.submit(.governancePropose(GovernanceProposal(action: action)))
        }

        private func publicKey(_ text: String) throws -> PublicKey {
            guard let bytes = Hex.decode(text), let key = try? PublicKey(bytes: bytes) else {
                throw CommandFailure("'\(text)' is not a 64-hex-digit x-only public key")
            }
            return key
        }
    }

    struct VoteCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "vote", abstract: "Vote on a governance proposal (validators only).")
        @OptionGroup var signing: SigningOptions
        @Option(help: "The proposal id (hash of its propose transaction).") var proposal: String
        @Flag(inversion: .prefixedNo, help: "Approve (--approve) or reject (--no-approve).") var approve: Bool

        func run() async throws {
            let id = try RPCValue.hash(proposal, what: "--proposal")
            try await signing.submit(.governanceVote(GovernanceVote(proposalID: id, approve: approve)))
        }
    }
}

/// `NAME=VALUE` for a chain parameter, checked against the parameter specs.
enum ParameterAssignment {
    static func parse(_ text: String) throws -> (name: String, value: UInt64) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let value = UInt64(parts[1].replacingOccurrences(of: "_", with: "")) else {
            throw CommandFailure("'\(text)' is not NAME=VALUE with an unsigned integer value")
        }
        guard let spec = Params.spec(named: parts[0]) else {
            throw CommandFailure("unknown parameter '\(parts[0])' (see Genesis/README.md)")
        }
        guard spec.range.contains(value) else {
            throw CommandFailure("\(parts[0]) \(value) is outside \(spec.range.lowerBound)...\(spec.range.upperBound)")
        }
        return (parts[0], value)
    }
}

/// A comma-separated list of catalogue kernels.
enum KernelList {
    static func parse(_ text: String) throws -> [String] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty else { throw CommandFailure("no kernels given") }
        for name in names {
            do { _ = try KernelID(name) } catch { throw CommandFailure("kernel '\(name)': \(error)") }
        }
        return names
    }
}
