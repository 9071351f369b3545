import AssayCodec
import AssayCrypto
import AssayStorage
import AssayTypes
import Synchronization

/// The deterministic state machine. It reads a parent state from a `KeyValueStore` and returns what a block
/// changes; it never writes to the store itself (the caller commits `BlockOutcome.changes` with the block).
///
/// One instance per store: it keeps a cache of the last committed state's entries, which changes only speed.
public final class Ledger: Sendable {
    private let cache: Mutex<StateCache>

    /// `cacheEntriesMax` bounds the state entries and tree nodes kept in memory between blocks.
    public init(cacheEntriesMax: Int = 4_000_000) {
        cache = Mutex(StateCache(entriesMax: cacheEntriesMax))
    }

    /// The root of the state held in `store` (zero for an empty store).
    public static func stateRoot(of store: some KeyValueReader) throws(LedgerError) -> Hash {
        try StateCache.storedRoot(in: store).hash
    }

    /// The changes that write `genesis` into an empty store, and the resulting state root.
    public func genesis(_ genesis: Genesis, store: some KeyValueReader) throws(LedgerError) -> (
        changes: WriteBatch, stateRoot: Hash
    ) {
        let anyState: [(key: [UInt8], value: [UInt8])], anyRoot: [UInt8]?
        do {
            anyState = try store.scan(LedgerNamespace.state, from: [], to: nil, limit: 1)
            anyRoot = try store.get(SparseMerkleTree.rootKey, in: LedgerNamespace.smt)
        } catch { throw .storage(error) }
        guard anyState.isEmpty, anyRoot == nil else { throw .storeNotEmpty }
        return try cache.withLock { cache throws(LedgerError) in
            cache.prepare(parentRoot: .zero)
            let state = StateView(cache: cache, store: store)
            GenesisWriter.write(genesis, into: state)
            state.commitTransaction()
            let sealed = try Self.seal(state, cache: cache, store: store, parentRoot: .zero)
            return (sealed.changes, sealed.root)
        }
    }

    /// Executes `transactions` as block `context.height` on the state `parentRoot` held in `store`.
    public func execute(
        parentRoot: Hash, store: some KeyValueReader, context: BlockContext, transactions: [Transaction]
    ) throws(LedgerError) -> BlockOutcome {
        try cache.withLock { cache throws(LedgerError) in
            cache.prepare(parentRoot: parentRoot)
            let storedRoot = try cache.rootSlot(from: store).hash
            guard storedRoot == parentRoot else { throw .parentRootMismatch(expected: parentRoot, stored: storedRoot) }
            let state = StateView(cache: cache, store: store, expectedWrites: 3 * transactions.count)
            let executor = try BlockExecutor(context: context, state: state)
            let results = try executor.execute(transactions)
            let endEvents = try executor.endBlock()
            let sealed = try Self.seal(state, cache: cache, store: store, parentRoot: parentRoot)
            let updates = executor.validatorUpdates.map { Validator(publicKey: $0.key, power: $0.value) }
                .sorted { $0.publicKey < $1.publicKey }
            return BlockOutcome(
                changes: sealed.changes, results: results, endBlockEvents: endEvents, stateRoot: sealed.root,
                validatorUpdates: updates, effectiveHeight: context.height + 2)
        }
    }

    /// Turns the block's writes into a batch: state entries in tree-key order (SHA-256 of the key), then the
    /// tree nodes they change in the order the single batched tree update visited them, then the new root slot.
    private static func seal(_ state: StateView, cache: StateCache, store: some KeyValueReader, parentRoot: Hash)
        throws(LedgerError) -> (changes: WriteBatch, root: Hash)
    {
        let writes = state.blockWrites
        // Sorting plain (hash, index) pairs moves no reference-counted values.
        let order = writes.indices.map { (tree: SHA256.hash(writes[$0].key), index: $0) }.sorted { $0.tree < $1.tree }
        var batch = WriteBatch()
        // The state entries, about as many tree nodes, and the root.
        batch.reserveCapacity(2 * writes.count + 1)
        var treeChanges: [TreeChange] = []
        treeChanges.reserveCapacity(writes.count)
        for (tree, index) in order {
            let (key, value) = writes[index]
            if let value {
                batch.put(key.bytes, value, in: LedgerNamespace.state)
            } else {
                batch.delete(key.bytes, in: LedgerNamespace.state)
            }
            treeChanges.append(TreeChange(key: tree, value: value.map { SHA256.hash($0) }))
        }
        var updater = TreeUpdater(source: CachedNodes(cache: cache, store: store))
        let newRoot = try updater.apply(treeChanges, to: try cache.rootSlot(from: store))
        for (path, node) in updater.writes {
            if let node {
                batch.put(path.storageKey, node.encoded, in: LedgerNamespace.smt)
            } else {
                batch.delete(path.storageKey, in: LedgerNamespace.smt)
            }
        }
        batch.put(SparseMerkleTree.rootKey, newRoot.canonicalBytes, in: LedgerNamespace.smt)
        cache.remember(
            StateCache.Delta(values: writes, nodes: updater.writes, root: newRoot),
            producing: newRoot.hash)
        return (batch, newRoot.hash)
    }
}

/// Writes the genesis accounts, stakes, validators, parameters and totals.
enum GenesisWriter {
    static func write(_ genesis: Genesis, into state: StateView) {
        for account in genesis.accounts {
            state.setAccount(account.address, Account(balance: account.balance))
            state.setStake(account.address, StakeRecord(bonded: account.bonded))
        }
        for validator in genesis.validators.validators {
            state.write(
                StateKey.validator(validator.publicKey),
                ValidatorRecord(power: validator.power, nodeKey: genesis.nodeKey(of: validator.publicKey)))
        }
        state.write(StateKey.params, genesis.params)
        state.write(StateKey.totals, Totals(genesisSupply: genesis.totalSupply, burned: 0))
    }
}
