import AssayCodec
import AssayCrypto
import AssayStorage
import AssayTypes

/// The state as one block sees it while executing: the parent state (through the cache) under the block's
/// writes. A journal of the current transaction's writes lets a failed transaction be undone whole.
final class StateView {
    private let cache: StateCache
    private let store: any KeyValueReader
    /// Every write of the block so far (nil value: deleted).
    private(set) var blockWrites: [StoreKey: [UInt8]?] = [:]
    /// The current transaction's writes, each with what `blockWrites` held before (nil: nothing).
    private var journal: [(key: StoreKey, previous: [UInt8]??)] = []

    init(cache: StateCache, store: any KeyValueReader, expectedWrites: Int = 0) {
        self.cache = cache
        self.store = store
        blockWrites.reserveCapacity(expectedWrites)
    }

    func get(_ key: StoreKey) throws(LedgerError) -> [UInt8]? {
        if let written = blockWrites[key] { return written }
        return try cache.value(key, from: store)
    }

    func get(_ key: [UInt8]) throws(LedgerError) -> [UInt8]? { try get(StoreKey(key)) }

    func set(_ key: StoreKey, _ value: [UInt8]?) {
        journal.append((key, blockWrites.updateValue(value, forKey: key)))
    }

    func set(_ key: [UInt8], _ value: [UInt8]?) { set(StoreKey(key), value) }

    func commitTransaction() { journal.removeAll(keepingCapacity: true) }

    func rollbackTransaction() {
        for entry in journal.reversed() {
            if let previous = entry.previous {
                blockWrites[entry.key] = previous
            } else {
                blockWrites.removeValue(forKey: entry.key)
            }
        }
        journal.removeAll(keepingCapacity: true)
    }

    /// Entries whose key starts with `prefix`, in key order, as this view sees them.
    func scan(prefix: [UInt8]) throws(LedgerError) -> [(key: [UInt8], value: [UInt8])] {
        var merged: [[UInt8]: [UInt8]] = [:]
        do {
            for entry in try store.scan(LedgerNamespace.state, prefix: prefix) { merged[entry.key] = entry.value }
        } catch { throw .storage(error) }
        for (key, value) in blockWrites where key.starts(with: prefix) { merged[key.bytes] = value }
        return merged.map { (key: $0.key, value: $0.value) }.sorted { ByteOrder.precedes($0.key, $1.key) }
    }

    // MARK: typed access

    func read<Value: CanonicalDecodable>(_ key: StoreKey, as _: Value.Type = Value.self) throws(LedgerError) -> Value? {
        guard let bytes = try get(key) else { return nil }
        do { return try Value(canonicalBytes: bytes) } catch {
            throw .corruptState(key: Hex.encode(key.bytes), reason: "\(error)")
        }
    }

    func read<Value: CanonicalDecodable>(_ key: [UInt8], as _: Value.Type = Value.self) throws(LedgerError) -> Value? {
        try read(StoreKey(key))
    }

    func write(_ key: [UInt8], _ value: some CanonicalEncodable) { set(key, value.canonicalBytes) }

    func account(_ address: Address) throws(LedgerError) -> Account {
        try read(StateKey.accountKey(address)) ?? Account()
    }

    /// Accounts that hold nothing and have never sent are not stored.
    func setAccount(_ address: Address, _ account: Account) {
        set(StateKey.accountKey(address), account == Account() ? nil : account.canonicalBytes)
    }

    func stake(_ address: Address) throws(LedgerError) -> StakeRecord {
        try read(StateKey.stake(address)) ?? StakeRecord()
    }

    func setStake(_ address: Address, _ stake: StakeRecord) {
        set(StateKey.stake(address), stake.isEmpty ? nil : stake.canonicalBytes)
    }

    func params() throws(LedgerError) -> Params {
        guard let params: Params = try read(StateKey.params) else {
            throw .corruptState(key: "params", reason: "missing")
        }
        return params
    }

    func totals() throws(LedgerError) -> Totals {
        guard let totals: Totals = try read(StateKey.totals) else {
            throw .corruptState(key: "totals", reason: "missing")
        }
        return totals
    }
}
