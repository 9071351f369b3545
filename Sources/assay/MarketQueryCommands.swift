import ArgumentParser
import AssayAPI
import AssayCodec
import AssayCrypto
import AssayLedger
import AssayTypes
import Foundation

/// `assay query jobs|job|offers|provider|validators|proof|supply|params`: the market's state over RPC.
extension Query {
    struct JobsQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "jobs", abstract: "Jobs, filtered.")
        @OptionGroup var options: NodeOptions
        @Option(help: "Only jobs of this client.") var client: String?
        @Option(help: "Only jobs of this provider.") var provider: String?
        @Option(help: "Only jobs in this state: open, result_posted, settled, refunded, slashed.") var state: String?
        @Option(help: "At most this many (the node caps it at 1000).") var limit = 100

        func run() async throws {
            let params = JobsParams(client: client, provider: provider, state: state, limit: limit)
            let result = try await options.client().call(MarketMethods.jobs, params)
            if options.json { return print(try Output.json(result)) }
            let jobs = result.jobs
            for job in jobs { print(MarketText.jobLine(job)) }
            print("\(jobs.count) job\(jobs.count == 1 ? "" : "s")")
        }
    }

    struct JobQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "job", abstract: "One job: its terms, state and result.")
        @OptionGroup var options: NodeOptions
        @Argument(help: "The job id (hash of its job transaction).") var id: String

        func run() async throws {
            let view = try await ChainReads.existingJob(id, try options.client()).view
            if options.json { return print(try Output.json(view)) }
            MarketText.printJob(view)
        }
    }

    struct OffersQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "offers", abstract: "Live offers.")
        @OptionGroup var options: NodeOptions
        @Option(help: "Only this provider's.") var provider: String?
        @Option(help: "Only offers of this kernel.") var kernel: String?

        func run() async throws {
            let result = try await options.client().call(
                MarketMethods.offers, OffersParams(provider: provider, kernel: kernel))
            if options.json { return print(try Output.json(result)) }
            let offers = result.offers
            for offer in offers { print(MarketText.offerLine(offer)) }
            print("\(offers.count) offer\(offers.count == 1 ? "" : "s")")
        }
    }

    struct ProviderQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "provider", abstract: "A provider's stake, unbonding entries, offers and job counts.")
        @OptionGroup var options: NodeOptions
        @Argument(help: "The provider's address, assay1...") var address: String

        func run() async throws {
            let view = try await options.client().call(MarketMethods.provider, AddressParams(address: address))
            if options.json { return print(try Output.json(view)) }
            print("provider \(view.address)")
            print("  bonded: \(Output.credits(view.bonded))")
            for entry in view.unbonding {
                print("  unbonding: \(Output.credits(entry.amount)) until height \(entry.releaseHeight)")
            }
            for offer in view.offers { print("  " + MarketText.offerLine(offer)) }
            let counts = MarketText.jobStates.map { "\($0) \(view.jobs[$0] ?? 0)" }
            print("  jobs: \(counts.joined(separator: ", "))")
        }
    }

    struct ValidatorsQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "validators", abstract: "The validator set.")
        @OptionGroup var options: NodeOptions
        @Option(help: "Height (default: the next height).") var height: UInt64?

        func run() async throws {
            let view = try await options.client().call(ChainMethods.validators, HeightParams(height: height))
            if options.json { return print(try Output.json(view)) }
            print("height \(view.height), total power \(view.totalPower)")
            for member in view.validators {
                print("  \(member.address)  power \(member.power)  key \(member.publicKey)")
            }
        }
    }

    struct SupplyQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "supply", abstract: "Where every credit is, and whether they add up to the genesis supply.")
        @OptionGroup var options: NodeOptions

        func run() async throws {
            let view = try await options.client().call(MarketMethods.supply, NoParams())
            if options.json { return print(try Output.json(view)) }
            print("height: \(view.height)")
            let parts = [
                ("balances", view.balances), ("bonded", view.bonded), ("unbonding", view.unbonding),
                ("escrowed", view.escrowed), ("burned", view.burned), ("total", view.total),
                ("genesis_supply", view.genesisSupply),
            ]
            for (name, amount) in parts { print("\(name): \(Output.credits(amount))") }
            let conserved = view.total == view.genesisSupply
            print(conserved ? "conserved: total equals the genesis supply" : "NOT CONSERVED: total differs from genesis supply")
            if !conserved { throw ExitCode(1) }
        }
    }

    struct ParamsQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "params", abstract: "The chain parameters in force.")
        @OptionGroup var options: NodeOptions

        func run() async throws {
            try options.show(try await options.client().call(MarketMethods.params, NoParams()), amounts: [])
        }
    }

    struct ProofQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "proof",
            abstract: "A state entry with its Merkle proof, verified here against the committed state root.")
        @OptionGroup var options: NodeOptions
        @Option(help: "An account's balance and nonce, by address.") var account: String?
        @Option(help: "A stake record, by address.") var stake: String?
        @Option(help: "A job, by id.") var job: String?
        @Option(help: "An offer, by id.") var offer: String?
        @Option(help: "A registered model, by hash.") var model: String?
        @Option(help: "A raw state key, hex.") var key: String?

        func run() async throws {
            let (stateKey, kind) = try self.stateKey()
            let proven = try await ChainReads.proven(stateKey, try options.client())
            if options.json {
                let value: JSONValue = proven.value.map { .string(Hex.encode($0)) } ?? .null
                return print(try Output.json(JSONValue.object([
                    "height": .unsigned(proven.height), "state_root": .string(proven.stateRoot.description),
                    "key": .string(Hex.encode(stateKey)), "value": value, "verified": .bool(true),
                    "light_client_trusted_height": proven.trustedFrom.map { .unsigned($0) } ?? .null,
                ])))
            }
            print("key: \(Hex.encode(stateKey))")
            print("height: \(proven.height)")
            print("state_root: \(proven.stateRoot)")
            print(proven.value.map { "value: \(MarketText.decodedState(kind, $0))" } ?? "value: absent")
            print("proof: verified against the state root committed in block \(proven.height)'s header "
                + (proven.value == nil ? "(the key is proven absent)" : "(the key holds exactly this value)"))
            print(proven.trustedFrom.map { "header: verified by the light client from trusted height \($0)" }
                ?? "header: as the node answered (no light client trust file)")
        }

        enum Kind { case account, stake, job, other }

        private func stateKey() throws -> ([UInt8], Kind) {
            let chosen = [account, stake, job, offer, model, key].compactMap { $0 }
            guard chosen.count == 1 else {
                throw ValidationError("give exactly one of --account, --stake, --job, --offer, --model, --key")
            }
            if let account { return (StateKey.account(try RPCValue.address(account, what: "--account")), .account) }
            if let stake { return (StateKey.stake(try RPCValue.address(stake, what: "--stake")), .stake) }
            if let job { return (StateKey.job(try RPCValue.hash(job, what: "--job")), .job) }
            if let offer { return (StateKey.offer(try RPCValue.hash(offer, what: "--offer")), .other) }
            if let model { return (StateKey.model(try RPCValue.hash(model, what: "--model")), .other) }
            guard let key, let bytes = Hex.decode(key), !bytes.isEmpty else { throw CommandFailure("--key is not hex") }
            return (bytes, .other)
        }
    }
}

/// Text for people: credits with decimals, job states by name.
enum MarketText {
    static let jobStates = ["open", "result_posted", "settled", "refunded", "slashed"]

    static func state(_ job: JobView) -> String { job.reason.map { "\(job.state) (\($0))" } ?? job.state }

    static func jobLine(_ job: JobView) -> String {
        "\(job.id)  \(state(job))  \(job.kernel)  provider \(job.provider)  escrow \(Output.credits(job.escrow))"
    }

    static func printJob(_ job: JobView) {
        print("job \(job.id): \(state(job))")
        print("  client: \(job.client)")
        print("  provider: \(job.provider)  offer \(job.offerId)")
        print("  kernel: \(job.kernel)  model \(job.modelHash)")
        print("  max_work_units: \(job.maxWorkUnits) at \(job.pricePerWorkUnit) base units each")
        print("  escrow: \(Output.credits(job.escrow))")
        print("  created at height \(job.createdHeight), deadline \(job.deadline)")
        if let result = job.result {
            print("  result: \(result.workUnits) work units, output_hash \(result.outputHash)")
            print("  result tx \(result.resultTx), challenge window ends at \(result.windowEnd)")
        }
        if let end = job.settlement {
            print("  ended at height \(end.height): paid \(Output.credits(end.paid)), burned \(Output.credits(end.burned)), "
                + "refund \(Output.credits(end.refund)), provider stake slashed \(Output.credits(end.slashed))")
        }
    }

    static func offerLine(_ offer: OfferView) -> String {
        "offer \(offer.id)  provider \(offer.provider)  \(offer.kernels.joined(separator: ","))  "
            + "\(offer.pricePerWorkUnit) base units/work unit  jobs \(offer.openJobs)/\(offer.capacity)  "
            + "expires at \(offer.expiryHeight)"
    }

    static func name(_ status: JobStatus) -> String {
        switch status {
        case .open: "open"
        case .resultPosted: "result_posted"
        case let .settled(reason, _): "settled (\(reason))"
        case let .refunded(reason, _): "refunded (\(reason))"
        case let .slashed(reason, _): "slashed (\(reason))"
        }
    }

    /// A proven state value decoded by the kind of entry it is, or its hex.
    static func decodedState(_ kind: Query.ProofQuery.Kind, _ value: [UInt8]) -> String {
        switch kind {
        case .account:
            if let account = try? Account(canonicalBytes: value) {
                return "balance \(Output.credits(account.balance)), nonce \(account.nonce)"
            }
        case .stake:
            if let stake = try? StakeRecord(canonicalBytes: value) {
                return "bonded \(Output.credits(stake.bonded)), unbonding \(Output.credits(stake.unbondingTotal))"
            }
        case .job:
            if let job = try? JobRecord(canonicalBytes: value) {
                return "job of \(job.client) with \(job.provider): \(name(job.status)), escrow \(Output.credits(job.escrow))"
            }
        case .other: break
        }
        return Hex.encode(value)
    }
}
