import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayStorage
import AssayTypes

/// Reads of a committed state (for RPC, tools and tests), each entry optionally with its Merkle proof.
public struct LedgerQuery<Reader: KeyValueReader> {
    public let store: Reader

    public init(store: Reader) { self.store = store }

    public func stateRoot() throws(LedgerError) -> Hash { try Ledger.stateRoot(of: store) }

    public func account(_ address: Address) throws(LedgerError) -> Account {
        try value(StateKey.account(address)) ?? Account()
    }

    public func stake(_ address: Address) throws(LedgerError) -> StakeRecord {
        try value(StateKey.stake(address)) ?? StakeRecord()
    }

    public func job(_ id: Hash) throws(LedgerError) -> JobRecord? { try value(StateKey.job(id)) }
    public func offer(_ id: Hash) throws(LedgerError) -> OfferRecord? { try value(StateKey.offer(id)) }
    public func proposal(_ id: Hash) throws(LedgerError) -> ProposalRecord? { try value(StateKey.proposal(id)) }
    public func validator(_ key: PublicKey) throws(LedgerError) -> ValidatorRecord? {
        try value(StateKey.validator(key))
    }
    /// The registered model's blob (its id is the model hash).
    public func model(_ hash: Hash) throws(LedgerError) -> BlobRef? { try value(StateKey.model(hash)) }
    /// How many uses in state keep the blob `id` (a registered model, a job's input or output): 0 for none.
    public func blobUses(_ id: Hash) throws(LedgerError) -> UInt64 { try value(StateKey.blobUses(id)) ?? 0 }

    public func params() throws(LedgerError) -> Params {
        guard let params: Params = try value(StateKey.params) else {
            throw .corruptState(key: "params", reason: "missing")
        }
        return params
    }

    public func totals() throws(LedgerError) -> Totals {
        guard let totals: Totals = try value(StateKey.totals) else {
            throw .corruptState(key: "totals", reason: "missing")
        }
        return totals
    }

    /// Every account, in address order.
    public func accounts() throws(LedgerError) -> [(address: Address, account: Account)] {
        try all(prefix: StateKey.accountPrefix).map { key, value throws(LedgerError) in
            (try address(key), try decode(value, key: key))
        }
    }

    /// Every stake record, in address order.
    public func stakes() throws(LedgerError) -> [(address: Address, stake: StakeRecord)] {
        try all(prefix: StateKey.stakePrefix).map { key, value throws(LedgerError) in
            (try address(key), try decode(value, key: key))
        }
    }

    /// Jobs in id order, at most `limit`.
    public func jobs(limit: Int = .max) throws(LedgerError) -> [(id: Hash, job: JobRecord)] {
        try all(prefix: StateKey.jobPrefix, limit: limit).map { key, value throws(LedgerError) in
            (Hash(Array(key.dropFirst())), try decode(value, key: key))
        }
    }

    /// Every live offer, in id order.
    public func offers() throws(LedgerError) -> [(id: Hash, offer: OfferRecord)] {
        try all(prefix: StateKey.offerPrefix).map { key, value throws(LedgerError) in
            (Hash(Array(key.dropFirst())), try decode(value, key: key))
        }
    }

    /// The raw bytes under a state key (see `StateKey`), or nil.
    public func rawValue(_ key: [UInt8]) throws(LedgerError) -> [UInt8]? { try raw(key) }

    /// The value under a state key (see `StateKey`) and its proof against the current root.
    public func prove(_ key: [UInt8]) throws(LedgerError) -> (value: [UInt8]?, proof: StateProof) {
        let root = try StateCache.storedRoot(in: store)
        let proof = try SparseMerkleTree.prove(key: key, root: root, source: StoreNodes(store: store))
        return (try raw(key), proof)
    }

    private func raw(_ key: [UInt8]) throws(LedgerError) -> [UInt8]? {
        try StateCache.read(key, in: LedgerNamespace.state, from: store)
    }

    private func value<Value: CanonicalDecodable>(_ key: [UInt8]) throws(LedgerError) -> Value? {
        guard let bytes = try raw(key) else { return nil }
        return try decode(bytes, key: key)
    }

    private func decode<Value: CanonicalDecodable>(_ bytes: [UInt8], key: [UInt8]) throws(LedgerError) -> Value {
        do { return try Value(canonicalBytes: bytes) } catch {
            throw .corruptState(key: Hex.encode(key), reason: "\(error)")
        }
    }

    private func address(_ key: [UInt8]) throws(LedgerError) -> Address {
        do { return try Address(bytes: Array(key.dropFirst())) } catch {
            throw .corruptState(key: Hex.encode(key), reason: "\(error)")
        }
    }

    private func all(prefix: UInt8, limit: Int = .max) throws(LedgerError) -> [(key: [UInt8], value: [UInt8])] {
        do { return try store.scan(LedgerNamespace.state, prefix: [prefix], limit: limit) } catch {
            throw .storage(error)
        }
    }
}

/// Tree nodes read straight from a store (queries do not go through an execution cache).
struct StoreNodes<Reader: KeyValueReader>: TreeNodeSource {
    let store: Reader

    func node(at path: NodePath) throws(LedgerError) -> TreeNode? { try TreeNode.load(at: path, from: store) }
}
