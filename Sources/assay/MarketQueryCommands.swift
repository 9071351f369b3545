import ArgumentParser
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
            var params: [String: Any] = ["limit": limit]
            if let client { params["client"] = client }
            if let provider { params["provider"] = provider }
            if let state { params["state"] = state }
            let result = try await options.client().object("jobs", params)
            if options.json { return print(try Output.json(result)) }
            let jobs = result["jobs"] as? [[String: Any]] ?? []
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
            var params: [String: Any] = [:]
            if let provider { params["provider"] = provider }
            if let kernel { params["kernel"] = kernel }
            let result = try await options.client().object("offers", params)
            if options.json { return print(try Output.json(result)) }
            let offers = result["offers"] as? [[String: Any]] ?? []
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
            let view = try await options.client().object("provider", ["address": address])
            if options.json { return print(try Output.json(view)) }
            print("provider \(view["address"] ?? address)")
            print("  bonded: \(MarketText.credits(view["bonded"]))")
            for entry in view["unbonding"] as? [[String: Any]] ?? [] {
                print("  unbonding: \(MarketText.credits(entry["amount"])) until height \(entry["release_height"] ?? "?")")
            }
            for offer in view["offers"] as? [[String: Any]] ?? [] { print("  " + MarketText.offerLine(offer)) }
            if let jobs = view["jobs"] as? [String: Any] {
                let counts = MarketText.jobStates.map { "\($0) \(jobs[$0] ?? 0)" }
                print("  jobs: \(counts.joined(separator: ", "))")
            }
        }
    }

    struct ValidatorsQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "validators", abstract: "The validator set.")
        @OptionGroup var options: NodeOptions
        @Option(help: "Height (default: the next height).") var height: UInt64?

        func run() async throws {
            let view = try await options.client().object("validators", height.map { ["height": $0] } ?? [:])
            if options.json { return print(try Output.json(view)) }
            print("height \(view["height"] ?? "?"), total power \(view["total_power"] ?? "?")")
            for member in view["validators"] as? [[String: Any]] ?? [] {
                print("  \(member["address"] ?? "?")  power \(member["power"] ?? "?")  key \(member["public_key"] ?? "?")")
            }
        }
    }

    struct SupplyQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "supply", abstract: "Where every credit is, and whether they add up to the genesis supply.")
        @OptionGroup var options: NodeOptions

        func run() async throws {
            let view = try await options.client().object("supply")
            if options.json { return print(try Output.json(view)) }
            print("height: \(view["height"] ?? "?")")
            for key in ["balances", "bonded", "unbonding", "escrowed", "burned", "total", "genesis_supply"] {
                print("\(key): \(MarketText.credits(view[key]))")
            }
            let conserved = RPCValue.amount(view["total"]) == RPCValue.amount(view["genesis_supply"])
            print(conserved ? "conserved: total equals the genesis supply" : "NOT CONSERVED: total differs from genesis supply")
            if !conserved { throw ExitCode(1) }
        }
    }

    struct ParamsQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "params", abstract: "The chain parameters in force.")
        @OptionGroup var options: NodeOptions

        func run() async throws { try options.show(try await options.client().object("params"), amounts: []) }
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
            let summary: [String: Any] = [
                "height": proven.height, "state_root": proven.stateRoot.description, "key": Hex.encode(stateKey),
                "value": proven.value.map { Hex.encode($0) } ?? NSNull(), "verified": true,
            ]
            if options.json { return print(try Output.json(summary)) }
            print("key: \(Hex.encode(stateKey))")
            print("height: \(proven.height)")
            print("state_root: \(proven.stateRoot)")
            print(proven.value.map { "value: \(MarketText.decodedState(kind, $0))" } ?? "value: absent")
            print("proof: verified against the state root committed in block \(proven.height)'s header "
                + (proven.value == nil ? "(the key is proven absent)" : "(the key holds exactly this value)"))
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

    static func credits(_ value: Any?) -> String { RPCValue.amount(value).map(Output.credits) ?? "?" }

    static func state(_ job: [String: Any]) -> String {
        let state = job["state"] as? String ?? "?"
        guard let reason = job["reason"] as? String else { return state }
        return "\(state) (\(reason))"
    }

    static func jobLine(_ job: [String: Any]) -> String {
        "\(job["id"] ?? "?")  \(state(job))  \(job["kernel"] ?? "?")  provider \(job["provider"] ?? "?")  "
            + "escrow \(credits(job["escrow"]))"
    }

    static func printJob(_ job: [String: Any]) {
        print("job \(job["id"] ?? "?"): \(state(job))")
        print("  client: \(job["client"] ?? "?")")
        print("  provider: \(job["provider"] ?? "?")  offer \(job["offer_id"] ?? "?")")
        print("  kernel: \(job["kernel"] ?? "?")  model \(job["model_hash"] ?? "?")")
        print("  max_work_units: \(job["max_work_units"] ?? "?") at \(job["price_per_work_unit"] ?? "?") base units each")
        print("  escrow: \(credits(job["escrow"]))")
        print("  created at height \(job["created_height"] ?? "?"), deadline \(job["deadline"] ?? "?")")
        if let result = job["result"] as? [String: Any] {
            print("  result: \(result["work_units"] ?? "?") work units, output_hash \(result["output_hash"] ?? "?")")
            print("  result tx \(result["result_tx"] ?? "?"), challenge window ends at \(result["window_end"] ?? "?")")
        }
    }

    static func offerLine(_ offer: [String: Any]) -> String {
        let kernels = (offer["kernels"] as? [String] ?? []).joined(separator: ",")
        return "offer \(offer["id"] ?? "?")  provider \(offer["provider"] ?? "?")  \(kernels)  "
            + "\(offer["price_per_work_unit"] ?? "?") base units/work unit  jobs \(offer["open_jobs"] ?? "?")/"
            + "\(offer["capacity"] ?? "?")  expires at \(offer["expiry_height"] ?? "?")"
    }

    static func name(_ status: JobStatus) -> String {
        switch status {
        case .open: "open"
        case .resultPosted: "result_posted"
        case let .settled(reason): "settled (\(reason))"
        case let .refunded(reason): "refunded (\(reason))"
        case let .slashed(reason): "slashed (\(reason))"
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
