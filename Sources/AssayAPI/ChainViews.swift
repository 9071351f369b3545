// The results of the chain methods (docs/rpc.md), as the node encodes them and clients decode them. Keys are the
// wire names (snake_case); amounts are decimal strings (they can exceed 2^53); heights, rounds, nonces and counts
// are numbers; hashes, keys, signatures and transactions lowercase hex. An optional that is nil is left out.

/// `status`.
public struct StatusView: Codable, Sendable, Equatable {
    public let chainId: String
    public let nodeKey: String
    public let latestHeight: UInt64
    /// The lowest height whose block the node holds (docs/rpc.md, status).
    public let earliestHeight: UInt64
    public let latestBlockHash: String?
    public let latestStateRoot: String?
    public let latestBlockTimeMs: UInt64
    public let catchingUp: Bool
    public let mempoolCount: Int

    public init(
        chainId: String, nodeKey: String, latestHeight: UInt64, earliestHeight: UInt64, latestBlockHash: String?,
        latestStateRoot: String?, latestBlockTimeMs: UInt64, catchingUp: Bool, mempoolCount: Int
    ) {
        self.chainId = chainId
        self.nodeKey = nodeKey
        self.latestHeight = latestHeight
        self.earliestHeight = earliestHeight
        self.latestBlockHash = latestBlockHash
        self.latestStateRoot = latestStateRoot
        self.latestBlockTimeMs = latestBlockTimeMs
        self.catchingUp = catchingUp
        self.mempoolCount = mempoolCount
    }

    private enum CodingKeys: String, CodingKey {
        case chainId = "chain_id", nodeKey = "node_key", latestHeight = "latest_height", earliestHeight = "earliest_height"
        case latestBlockHash = "latest_block_hash", latestStateRoot = "latest_state_root"
        case latestBlockTimeMs = "latest_block_time_ms", catchingUp = "catching_up", mempoolCount = "mempool_count"
    }
}

/// `account`: an account never seen has balance "0" and nonce 0.
public struct AccountView: Codable, Sendable, Equatable {
    public let address: String
    public let balance: String
    public let nonce: UInt64

    public init(address: String, balance: String, nonce: UInt64) {
        self.address = address
        self.balance = balance
        self.nonce = nonce
    }
}

public struct HeaderView: Codable, Sendable, Equatable {
    public let chainId: String
    public let height: UInt64
    public let timeMs: UInt64
    public let previousBlockHash: String
    public let lastCommitHash: String
    public let transactionsRoot: String
    /// The state root after this block (docs/rpc.md, Blocks and state roots).
    public let stateRoot: String
    public let validatorSetHash: String
    /// The validator set of the next height (docs/consensus.md, Validator set changes).
    public let nextValidatorSetHash: String
    public let proposer: String

    public init(
        chainId: String, height: UInt64, timeMs: UInt64, previousBlockHash: String, lastCommitHash: String,
        transactionsRoot: String, stateRoot: String, validatorSetHash: String, nextValidatorSetHash: String,
        proposer: String
    ) {
        self.chainId = chainId
        self.height = height
        self.timeMs = timeMs
        self.previousBlockHash = previousBlockHash
        self.lastCommitHash = lastCommitHash
        self.transactionsRoot = transactionsRoot
        self.stateRoot = stateRoot
        self.validatorSetHash = validatorSetHash
        self.nextValidatorSetHash = nextValidatorSetHash
        self.proposer = proposer
    }

    private enum CodingKeys: String, CodingKey {
        case chainId = "chain_id", height, timeMs = "time_ms", previousBlockHash = "previous_block_hash"
        case lastCommitHash = "last_commit_hash", transactionsRoot = "transactions_root", stateRoot = "state_root"
        case validatorSetHash = "validator_set_hash", nextValidatorSetHash = "next_validator_set_hash", proposer
    }
}

public struct CommitView: Codable, Sendable, Equatable {
    public struct Signature: Codable, Sendable, Equatable {
        public let validator: String
        public let signature: String

        public init(validator: String, signature: String) {
            self.validator = validator
            self.signature = signature
        }
    }

    public let height: UInt64
    public let round: UInt32
    public let blockHash: String
    public let signatures: [Signature]

    public init(height: UInt64, round: UInt32, blockHash: String, signatures: [Signature]) {
        self.height = height
        self.round = round
        self.blockHash = blockHash
        self.signatures = signatures
    }

    private enum CodingKeys: String, CodingKey { case height, round, blockHash = "block_hash", signatures }
}

/// `block`: `commit` finalised this block (absent for the latest block until the next one carries it);
/// `last_commit` is the previous block's, carried in this one.
public struct BlockView: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public let hash: String
        /// The hex of the transaction's canonical bytes.
        public let tx: String

        public init(hash: String, tx: String) {
            self.hash = hash
            self.tx = tx
        }
    }

    public let hash: String
    public let header: HeaderView
    public let transactions: [Entry]
    public let lastCommit: CommitView?
    public let commit: CommitView?

    public init(hash: String, header: HeaderView, transactions: [Entry], lastCommit: CommitView?, commit: CommitView?) {
        self.hash = hash
        self.header = header
        self.transactions = transactions
        self.lastCommit = lastCommit
        self.commit = commit
    }

    private enum CodingKeys: String, CodingKey { case hash, header, transactions, lastCommit = "last_commit", commit }
}

/// An event of a transaction or of a block's end-of-block work (docs/rpc.md, Events): every value is a string.
public struct EventView: Codable, Sendable, Equatable {
    public struct Attribute: Codable, Sendable, Equatable {
        public let key: String
        public let value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public let type: String
    /// In the order the ledger emitted them.
    public let attributes: [Attribute]

    public init(type: String, attributes: [Attribute]) {
        self.type = type
        self.attributes = attributes
    }

    /// The value of attribute `key`, if the event has it.
    public subscript(_ key: String) -> String? { attributes.first { $0.key == key }?.value }
}

/// A committed transaction, as `tx`, `broadcast_tx_commit` and the `tx` subscription show it.
public struct TransactionView: Codable, Sendable, Equatable {
    public let hash: String
    public let height: UInt64
    public let index: Int
    public let tx: String
    public let kind: String
    /// The body's fields by kind (docs/rpc.md, `tx`).
    public let body: JSONValue
    public let sender: String
    public let nonce: UInt64
    public let fee: String
    /// 0 when the body took effect; otherwise the ledger's result code (docs/rpc.md, Result codes).
    public let code: UInt32
    public let codeName: String
    public let log: String
    public let events: [EventView]

    public init(
        hash: String, height: UInt64, index: Int, tx: String, kind: String, body: JSONValue, sender: String,
        nonce: UInt64, fee: String, code: UInt32, codeName: String, log: String, events: [EventView]
    ) {
        self.hash = hash
        self.height = height
        self.index = index
        self.tx = tx
        self.kind = kind
        self.body = body
        self.sender = sender
        self.nonce = nonce
        self.fee = fee
        self.code = code
        self.codeName = codeName
        self.log = log
        self.events = events
    }

    private enum CodingKeys: String, CodingKey {
        case hash, height, index, tx, kind, body, sender, nonce, fee, code, codeName = "code_name", log, events
    }
}

/// `block_results`: each transaction's result and events, in block order, and the end-of-block events.
public struct BlockResultsView: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public let hash: String
        public let code: UInt32
        public let codeName: String
        public let log: String
        public let events: [EventView]

        public init(hash: String, code: UInt32, codeName: String, log: String, events: [EventView]) {
            self.hash = hash
            self.code = code
            self.codeName = codeName
            self.log = log
            self.events = events
        }

        private enum CodingKeys: String, CodingKey { case hash, code, codeName = "code_name", log, events }
    }

    public let height: UInt64
    /// The block's hash.
    public let hash: String
    public let transactions: [Entry]
    public let endBlockEvents: [EventView]

    public init(height: UInt64, hash: String, transactions: [Entry], endBlockEvents: [EventView]) {
        self.height = height
        self.hash = hash
        self.transactions = transactions
        self.endBlockEvents = endBlockEvents
    }

    private enum CodingKeys: String, CodingKey { case height, hash, transactions, endBlockEvents = "end_block_events" }
}

/// `broadcast_tx_sync`: the hash of the transaction the mempool accepted.
public struct SubmittedView: Codable, Sendable, Equatable {
    public let hash: String

    public init(hash: String) { self.hash = hash }
}

/// `health` when the node is healthy: `{}`.
public struct EmptyView: Codable, Sendable, Equatable {
    public init() {}
}

/// `net_info`: the P2P listen address and the connected peers.
public struct NetInfoView: Codable, Sendable, Equatable {
    public struct Peer: Codable, Sendable, Equatable {
        public let nodeKey: String
        public let address: String
        public let outbound: Bool

        public init(nodeKey: String, address: String, outbound: Bool) {
            self.nodeKey = nodeKey
            self.address = address
            self.outbound = outbound
        }

        private enum CodingKeys: String, CodingKey { case nodeKey = "node_key", address, outbound }
    }

    public let listenAddress: String
    public let peerCount: Int
    public let peers: [Peer]

    public init(listenAddress: String, peers: [Peer]) {
        self.listenAddress = listenAddress
        peerCount = peers.count
        self.peers = peers
    }

    private enum CodingKeys: String, CodingKey { case listenAddress = "listen_address", peerCount = "peer_count", peers }
}

/// `validators`: the set that votes on block `height`, members sorted by public key; power is a decimal string.
public struct ValidatorsView: Codable, Sendable, Equatable {
    public struct Member: Codable, Sendable, Equatable {
        public let publicKey: String
        public let address: String
        public let power: String

        public init(publicKey: String, address: String, power: String) {
            self.publicKey = publicKey
            self.address = address
            self.power = power
        }

        private enum CodingKeys: String, CodingKey { case publicKey = "public_key", address, power }
    }

    public let height: UInt64
    public let totalPower: String
    public let validators: [Member]

    public init(height: UInt64, totalPower: String, validators: [Member]) {
        self.height = height
        self.totalPower = totalPower
        self.validators = validators
    }

    private enum CodingKeys: String, CodingKey { case height, totalPower = "total_power", validators }
}

/// `broadcast_txs`: how many were accepted and refused, and each one's hash or error, in order.
public struct BatchView: Codable, Sendable, Equatable {
    /// The hash of an accepted transaction or the error that refused it; the other key is left out.
    public struct Entry: Codable, Sendable, Equatable {
        public let hash: String?
        public let error: RPCError?

        public init(hash: String?, error: RPCError?) {
            self.hash = hash
            self.error = error
        }
    }

    public let accepted: Int
    public let rejected: Int
    public let results: [Entry]

    public init(results: [Entry]) {
        accepted = results.count(where: { $0.hash != nil })
        rejected = results.count - accepted
        self.results = results
    }
}

/// `unconfirmed_txs`: the mempool's size and some of its transactions (hex), in the order a proposer takes them.
public struct UnconfirmedView: Codable, Sendable, Equatable {
    public let count: Int
    public let totalBytes: Int
    public let txs: [String]

    public init(count: Int, totalBytes: Int, txs: [String]) {
        self.count = count
        self.totalBytes = totalBytes
        self.txs = txs
    }

    private enum CodingKeys: String, CodingKey { case count, totalBytes = "total_bytes", txs }
}
