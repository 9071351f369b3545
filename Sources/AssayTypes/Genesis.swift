import AssayCodec
import AssayCrypto
import Foundation

/// The chain's starting point: identity, time, funded accounts, the first validator set and the parameters.
/// Its JSON form is documented in Genesis/README.md; `Genesis.parse` checks it and reports every problem.
public struct Genesis: Hashable, Sendable {
    public struct Account: Hashable, Sendable {
        public var address: Address
        public var balance: Amount
        /// Credits bonded as stake from the start (validators, providers).
        public var bonded: Amount

        public init(address: Address, balance: Amount, bonded: Amount = 0) {
            self.address = address
            self.balance = balance
            self.bonded = bonded
        }
    }

    public var chainID: String
    /// Milliseconds since the Unix epoch.
    public var genesisTimeMs: UInt64
    /// Sorted by address, unique.
    public var accounts: [Account]
    public var validators: ValidatorSet
    /// Each validator's node key (P2P links), by its consensus key; outside the validator set, whose hash
    /// headers carry (a light client needs only consensus keys), and kept in the ledger's validator records.
    public var nodeKeys: [PublicKey: PublicKey]
    public var params: Params

    /// `nodeKeys` holds a node key for every validator.
    public init(
        chainID: String, genesisTimeMs: UInt64, accounts: [Account], validators: ValidatorSet,
        nodeKeys: [PublicKey: PublicKey], params: Params
    ) {
        precondition(validators.validators.allSatisfy { nodeKeys[$0.publicKey] != nil }, "a validator has no node key")
        self.chainID = chainID
        self.genesisTimeMs = genesisTimeMs
        self.accounts = accounts.sorted { $0.address < $1.address }
        self.validators = validators
        self.nodeKeys = nodeKeys
        self.params = params
    }

    /// The node key of the genesis validator `validator`.
    public func nodeKey(of validator: PublicKey) -> PublicKey {
        guard let key = nodeKeys[validator] else { preconditionFailure("validator \(validator) has no node key") }
        return key
    }

    /// Every credit in existence at genesis: balances plus bonded stake. `parse` guarantees it fits.
    public var totalSupply: Amount {
        accounts.reduce(0) { $0 &+ $1.balance &+ $1.bonded }
    }

    /// One problem found in a genesis file, located by its JSON path (`accounts[2].address`).
    public struct Problem: Hashable, Sendable, CustomStringConvertible {
        public let path: String
        public let message: String

        public init(path: String, message: String) {
            self.path = path
            self.message = message
        }

        public var description: String { "\(path): \(message)" }
    }

    /// All problems of a genesis file, in file order.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public let problems: [Problem]
        public var description: String { problems.map(\.description).joined(separator: "\n") }
    }
}

// MARK: - JSON

/// The JSON shape, with every field optional so that a missing one is reported by path rather than
/// stopping the decoder.
struct GenesisJSON: Codable {
    struct Account: Codable {
        var address: String?
        var balance: UInt64?
        var bonded: UInt64?
    }

    struct Validator: Codable {
        var public_key: String?
        var node_key: String?
        var power: UInt64?
    }

    var chain_id: String?
    var genesis_time_ms: UInt64?
    var accounts: [Account]?
    var validators: [Validator]?
    var params: [String: UInt64]?
}

extension Genesis {
    /// Decodes and checks a genesis JSON document; throws `Invalid` listing every problem by path.
    public static func parse(json: Data) throws(Invalid) -> Genesis {
        let raw: GenesisJSON
        do {
            raw = try JSONDecoder().decode(GenesisJSON.self, from: json)
        } catch let error as DecodingError {
            throw Invalid(problems: [Self.problem(from: error)])
        } catch {
            throw Invalid(problems: [Problem(path: "$", message: "not JSON: \(error)")])
        }
        var checker = GenesisChecker()
        let genesis = checker.check(raw)
        guard let genesis, checker.problems.isEmpty else { throw Invalid(problems: checker.problems) }
        return genesis
    }

    /// The JSON document for this genesis: keys sorted, parameters all written out.
    public func json() -> Data {
        var params: [String: UInt64] = [:]
        for spec in Params.specs { params[spec.name] = self.params[keyPath: spec.keyPath] }
        let raw = GenesisJSON(
            chain_id: chainID, genesis_time_ms: genesisTimeMs,
            accounts: accounts.map {
                GenesisJSON.Account(address: $0.address.description, balance: $0.balance, bonded: $0.bonded)
            },
            validators: validators.validators.map {
                GenesisJSON.Validator(
                    public_key: Hex.encode($0.publicKey.bytes), node_key: Hex.encode(nodeKey(of: $0.publicKey).bytes),
                    power: $0.power)
            },
            params: params)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings, integers, arrays and dictionaries cannot fail.
        return (try? encoder.encode(raw)) ?? Data()
    }

    private static func problem(from error: DecodingError) -> Problem {
        func path(_ keys: [any CodingKey]) -> String {
            keys.reduce("") { text, key in
                if let index = key.intValue { return text + "[\(index)]" }
                return text.isEmpty ? key.stringValue : text + "." + key.stringValue
            }.nonEmpty ?? "$"
        }
        switch error {
        case let .typeMismatch(type, context): return Problem(path: path(context.codingPath), message: "expected \(type)")
        case let .valueNotFound(type, context): return Problem(path: path(context.codingPath), message: "missing \(type)")
        case let .keyNotFound(key, context):
            return Problem(path: path(context.codingPath + [key]), message: "missing")
        case let .dataCorrupted(context):
            return Problem(path: path(context.codingPath), message: context.debugDescription)
        @unknown default: return Problem(path: "$", message: "\(error)")
        }
    }
}

extension String {
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}

/// Walks a decoded genesis JSON, collecting every problem with its path.
struct GenesisChecker {
    private(set) var problems: [Problem] = []
    typealias Problem = Genesis.Problem

    mutating func check(_ raw: GenesisJSON) -> Genesis? {
        let chainID = checkChainID(raw.chain_id)
        if raw.genesis_time_ms == nil { report("genesis_time_ms", "missing") }
        let accounts = checkAccounts(raw.accounts ?? [])
        let validators = checkValidators(raw.validators)
        let params = checkParams(raw.params ?? [:])
        guard let chainID, let time = raw.genesis_time_ms, let validators, problems.isEmpty else { return nil }
        return Genesis(
            chainID: chainID, genesisTimeMs: time, accounts: accounts, validators: validators.set,
            nodeKeys: validators.nodeKeys, params: params)
    }

    private mutating func report(_ path: String, _ message: String) {
        problems.append(Problem(path: path, message: message))
    }

    private mutating func checkChainID(_ value: String?) -> String? {
        guard let value else {
            report("chain_id", "missing")
            return nil
        }
        guard !value.isEmpty, value.utf8.count <= Transaction.chainIDBound else {
            report("chain_id", "must be 1 to \(Transaction.chainIDBound) bytes")
            return nil
        }
        return value
    }

    private mutating func checkAccounts(_ raw: [GenesisJSON.Account]) -> [Genesis.Account] {
        var accounts: [Genesis.Account] = []
        var seen: [Address: Int] = [:]
        var supply: Amount = 0
        for (index, entry) in raw.enumerated() {
            let path = "accounts[\(index)]"
            let balance = entry.balance ?? 0
            let bonded = entry.bonded ?? 0
            if entry.balance == nil { report("\(path).balance", "missing") }
            do {
                supply = try supply.adding(balance).adding(bonded)
            } catch {
                report("\(path).balance", "total supply overflows 64 bits")
            }
            guard let text = entry.address else {
                report("\(path).address", "missing")
                continue
            }
            guard let address = try? Address(text) else {
                report("\(path).address", "'\(text)' is not an assay1... bech32m address")
                continue
            }
            if let first = seen[address] {
                report("\(path).address", "duplicate of accounts[\(first)]")
                continue
            }
            seen[address] = index
            accounts.append(Genesis.Account(address: address, balance: balance, bonded: bonded))
        }
        return accounts
    }

    private mutating func checkValidators(_ raw: [GenesisJSON.Validator]?)
        -> (set: ValidatorSet, nodeKeys: [PublicKey: PublicKey])?
    {
        guard let raw, !raw.isEmpty else {
            report("validators", "at least one validator is required")
            return nil
        }
        var members: [Validator] = []
        var nodeKeys: [PublicKey: PublicKey] = [:]
        var seen: [PublicKey: Int] = [:]
        var seenNodeKeys: [PublicKey: Int] = [:]
        for (index, entry) in raw.enumerated() {
            let path = "validators[\(index)]"
            let power = entry.power ?? 0
            if entry.power == nil { report("\(path).power", "missing") } else if power == 0 {
                report("\(path).power", "voting power must be positive")
            } else if power >= 1 << 62 {
                report("\(path).power", "voting power must be below 2^62")
            }
            let key = checkKey(entry.public_key, at: "\(path).public_key")
            let nodeKey = checkKey(entry.node_key, at: "\(path).node_key")
            guard let key, let nodeKey else { continue }
            if let first = seen[key] {
                report("\(path).public_key", "duplicate validator (same key as validators[\(first)])")
                continue
            }
            if let first = seenNodeKeys[nodeKey] {
                report("\(path).node_key", "duplicate node key (same as validators[\(first)].node_key)")
                continue
            }
            seen[key] = index
            seenNodeKeys[nodeKey] = index
            members.append(Validator(publicKey: key, power: power))
            nodeKeys[key] = nodeKey
        }
        // A node key must not be any validator's consensus key: the consensus key signs votes only.
        for (index, entry) in raw.enumerated() {
            if let text = entry.node_key, let bytes = Hex.decode(text), let nodeKey = try? PublicKey(bytes: bytes),
                seen[nodeKey] != nil
            {
                report("validators[\(index)].node_key", "is a validator's consensus key: give the node a key of its own")
            }
        }
        guard problems.isEmpty else { return nil }
        do {
            return (try ValidatorSet(members), nodeKeys)
        } catch {
            report("validators", "\(error)")
            return nil
        }
    }

    /// A 32-byte x-only key in hex, or nil after reporting why not.
    private mutating func checkKey(_ text: String?, at path: String) -> PublicKey? {
        guard let text else {
            report(path, "missing")
            return nil
        }
        guard let bytes = Hex.decode(text), let key = try? PublicKey(bytes: bytes) else {
            report(path, "not a 32-byte x-only secp256k1 public key in hex")
            return nil
        }
        return key
    }

    private mutating func checkParams(_ raw: [String: UInt64]) -> Params {
        var params = Params()
        for name in raw.keys.sorted() {
            guard let spec = Params.spec(named: name), let value = raw[name] else {
                report("params.\(name)", "unknown parameter")
                continue
            }
            params[keyPath: spec.keyPath] = value
        }
        for problem in params.problems() { report("params.\(problem.name)", problem.message) }
        return params
    }
}
