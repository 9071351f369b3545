/// The typed chain methods: what the node serves and what clients call, from one description each.
public enum ChainMethods {
    public static let status = Method<NoParams, StatusView>(
        "status", "The chain id, the latest committed block and the mempool size.")
    public static let block = Method<BlockParams, BlockView>(
        "block", "A committed block by height or hash (the latest when neither is given), with its commit.",
        parameters: [.optional("height", "integer"), .optional("hash", "string")])
    public static let broadcastTxSync = Method<TxParams, SubmittedView>(
        "broadcast_tx_sync", "Checks one transaction (hex of its canonical bytes), adds it to the mempool, gossips it.",
        parameters: [.required("tx", "string")])
    public static let broadcastTxCommit = Method<TxParams, TransactionView>(
        "broadcast_tx_commit", "Like broadcast_tx_sync, then waits until the transaction is committed and returns it.",
        parameters: [.required("tx", "string")])
    public static let tx = Method<HashParams, TransactionView>(
        "tx", "A committed transaction with its decoded body, result code and events.",
        parameters: [.required("hash", "string")])
    public static let blockResults = Method<HeightParams, BlockResultsView>(
        "block_results",
        "Each transaction's result code and events in a committed block (the latest when no height), and the "
            + "events of its end-of-block work (settlements, refunds, releases, expiries).",
        parameters: [.optional("height", "integer")])
    public static let account = Method<AddressParams, AccountView>(
        "account", "An account's balance and next nonce.", parameters: [.required("address", "string")])
}

public struct HeightParams: Codable, Sendable, Equatable {
    public let height: UInt64?
    public init(height: UInt64? = nil) { self.height = height }
}

/// At most one of the two; neither asks for the latest block.
public struct BlockParams: Codable, Sendable, Equatable {
    public let height: UInt64?
    public let hash: String?

    public init(height: UInt64? = nil, hash: String? = nil) {
        self.height = height
        self.hash = hash
    }
}

/// A transaction as the hex of its canonical bytes.
public struct TxParams: Codable, Sendable, Equatable {
    public let tx: String
    public init(tx: String) { self.tx = tx }
}

public struct HashParams: Codable, Sendable, Equatable {
    public let hash: String
    public init(hash: String) { self.hash = hash }
}

/// A bech32m address, `assay1...`.
public struct AddressParams: Codable, Sendable, Equatable {
    public let address: String
    public init(address: String) { self.address = address }
}
