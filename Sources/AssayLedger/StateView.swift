import AssayCodec
import AssayCrypto
import AssayStorage
import AssayTypes

/// The state as one block sees it while executing: the parent state (through the cache) under the block's
/// writes, under the current transaction's writes. A failed transaction's writes are dropped whole.
final class StateView {
    private let cache: StateCache
    private let store: any KeyValueReader
    private(set) var blockWrites: [StoreKey: [UInt8]?] = [:]
    private var txWrites: [StoreKey: [UInt8]?] = [:]

    init(cache: StateCache, store: any KeyValueReader, expectedWrites: Int = 0) {
        self.cache = cache
        self.store = store
        blockWrites.reserveCapacity(expectedWrites)
    }

    func get(_ key: [UInt8]) throws(LedgerError) -> [UInt8]? {
        let key = StoreKey(key)
        if let written = txWrites[key] { return written }
        if let written = blockWrites[key] { return written }
        return try cache.value(key, from: store)
    }

    func set(_ key: [UInt8], _ value: [UInt8]?) { txWrites[StoreKey(key)] = .some(value) }

    func commitTransaction() {
        for (key, value) in txWrites { blockWrites[key] = .some(value) }
        txWrites.removeAll(keepingCapacity: true)
    }

    func rollbackTransaction() { txWrites.removeAll(keepingCapacity: true) }

    /// Entries whose key starts with `prefix`, in key order, as this view sees them.
    func scan(prefix: [UInt8]) throws(LedgerError) -> [(key: [UInt8], value: [UInt8])] {
        var merged: [StoreKey: [UInt8]] = [:]
        do {
            for entry in try store.scan(LedgerNamespace.state, prefix: prefix) { merged[StoreKey(entry.key)] = entry.value }
        } catch { throw .storage(error) }
        for writes in [blockWrites, txWrites] {
            for (key, value) in writes where key.bytes.starts(with: prefix) { merged[key] = value }
        }
        return merged.map { (key: $0.key.bytes, value: $0.value) }.sorted { ByteOrder.precedes($0.key, $1.key) }
    }

    // MARK: typed access

    func read<Value: CanonicalDecodable>(_ key: [UInt8], as _: Value.Type = Value.self) throws(LedgerError) -> Value? {
        guard let bytes = try get(key) else { return nil }
        do { return try Value(canonicalBytes: bytes) } catch {
            throw .corruptState(key: Hex.encode(key), reason: "\(error)")
        }
    }

    func write(_ key: [UInt8], _ value: some CanonicalEncodable) { set(key, value.canonicalBytes) }

    func account(_ address: Address) throws(LedgerError) -> Account {
        try read(StateKey.account(address)) ?? Account()
    }

    /// Accounts that hold nothing and have never sent are not stored.
    func setAccount(_ address: Address, _ account: Account) {
        set(StateKey.account(address), account == Account() ? nil : account.canonicalBytes)
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
