import AssayCodec
import AssayCrypto
import AssayLedger
import AssayTypes

// The JSON shapes of results. Keys become snake_case when encoded. Amounts, fees and voting power are
// decimal strings (they can exceed 2^53, where JSON numbers lose precision in many clients); heights,
// rounds, nonces and counts are numbers; hashes, keys, signatures and transactions are lowercase hex.

struct StatusView: Encodable, Sendable {
    let chainId: String
    let nodeKey: String
    let latestHeight: UInt64
    let latestBlockHash: String?
    let latestStateRoot: String?
    let latestBlockTimeMs: UInt64
    let catchingUp: Bool
    let mempoolCount: Int

    init(_ status: NodeStatus) {
        chainId = status.chainID
        nodeKey = status.nodeKey.description
        latestHeight = status.latestHeight
        latestBlockHash = status.latestBlockHash?.description
        latestStateRoot = status.latestStateRoot?.description
        latestBlockTimeMs = status.latestBlockTimeMs
        catchingUp = status.catchingUp
        mempoolCount = status.mempoolCount
    }
}

struct NetInfoView: Encodable, Sendable {
    struct Peer: Encodable, Sendable {
        let nodeKey: String
        let address: String
        let outbound: Bool
    }

    let listenAddress: String
    let peerCount: Int
    let peers: [Peer]

    init(_ info: NetworkInfo) {
        listenAddress = info.listenAddress
        peerCount = info.peers.count
        peers = info.peers.map { Peer(nodeKey: $0.nodeKey.description, address: $0.address, outbound: $0.outbound) }
    }
}

struct HeaderView: Encodable, Sendable {
    let chainId: String
    let height: UInt64
    let timeMs: UInt64
    let previousBlockHash: String
    let lastCommitHash: String
    let transactionsRoot: String
    let stateRoot: String
    let validatorSetHash: String
    let proposer: String

    init(_ header: Header) {
        chainId = header.chainID
        height = header.height
        timeMs = header.timeMs
        previousBlockHash = header.previousBlockHash.description
        lastCommitHash = header.lastCommitHash.description
        transactionsRoot = header.transactionsRoot.description
        stateRoot = header.stateRoot.description
        validatorSetHash = header.validatorSetHash.description
        proposer = header.proposer.description
    }
}

struct CommitView: Encodable, Sendable {
    struct Signature: Encodable, Sendable {
        let validator: String
        let signature: String
    }

    let height: UInt64
    let round: UInt32
    let blockHash: String
    let signatures: [Signature]

    init(_ commit: Commit) {
        height = commit.height
        round = commit.round
        blockHash = commit.blockHash.description
        signatures = commit.signatures.map {
            Signature(validator: $0.validator.description, signature: $0.signature.description)
        }
    }
}

struct BlockView: Encodable, Sendable {
    struct Entry: Encodable, Sendable {
        let hash: String
        let tx: String
    }

    let hash: String
    let header: HeaderView
    let transactions: [Entry]
    let lastCommit: CommitView?
    let commit: CommitView?

    init(_ record: BlockRecord) {
        hash = record.block.hash.description
        header = HeaderView(record.block.header)
        transactions = record.block.transactions.map { transaction in
            let bytes = transaction.canonicalBytes
            return Entry(hash: SHA256.hash(bytes).description, tx: Hex.encode(bytes))
        }
        lastCommit = record.block.lastCommit.map(CommitView.init)
        commit = record.commit.map(CommitView.init)
    }
}

struct ValidatorsView: Encodable, Sendable {
    struct Member: Encodable, Sendable {
        let publicKey: String
        let address: String
        let power: String
    }

    let height: UInt64
    let totalPower: String
    let validators: [Member]

    init(_ record: ValidatorsRecord) {
        height = record.height
        totalPower = String(record.validators.totalPower)
        validators = record.validators.validators.map {
            Member(publicKey: $0.publicKey.description, address: $0.address.description, power: String($0.power))
        }
    }
}

/// A committed transaction, as `tx`, `broadcast_tx_commit` and the `tx` subscription show it.
struct TransactionView: Encodable, Sendable {
    let hash: String
    let height: UInt64
    let index: Int
    let tx: String
    let kind: String
    /// The body's fields (see `TransactionBodyView`).
    let body: JSONValue
    let sender: String
    let nonce: UInt64
    let fee: String
    let code: UInt32
    let codeName: String
    let log: String
    let events: [TransactionEvent]

    init(_ record: TransactionRecord) {
        let bytes = record.transaction.canonicalBytes
        hash = SHA256.hash(bytes).description
        height = record.height
        index = record.index
        tx = Hex.encode(bytes)
        kind = record.transaction.body.kindName
        body = TransactionBodyView.json(record.transaction.body)
        sender = record.transaction.senderAddress.description
        nonce = record.transaction.nonce
        fee = String(record.transaction.fee)
        code = record.code
        codeName = ResultCodeNames.name(record.code)
        log = record.log
        events = record.events
    }
}

/// What `block_results` returns: each transaction's result and events, in block order, and the end-of-block events.
struct BlockResultsView: Encodable, Sendable {
    struct Entry: Encodable, Sendable {
        let hash: String
        let code: UInt32
        let codeName: String
        let log: String
        let events: [TransactionEvent]
    }

    let height: UInt64
    let hash: String
    let transactions: [Entry]
    let endBlockEvents: [TransactionEvent]

    init(_ record: BlockResultsRecord) {
        height = record.height
        hash = record.blockHash.description
        transactions = record.transactions.map {
            Entry(
                hash: $0.hash.description, code: $0.code, codeName: ResultCodeNames.name($0.code), log: $0.log,
                events: $0.events)
        }
        endBlockEvents = record.endBlockEvents
    }
}

/// The ledger's result codes by name, as `tx` and `block_results` show them.
enum ResultCodeNames {
    static func name(_ code: UInt32) -> String {
        UInt16(exactly: code).flatMap(ResultCode.init(rawValue:)).map { "\($0)" } ?? "unknown"
    }
}

struct AccountView: Encodable, Sendable {
    let address: String
    let balance: String
    let nonce: UInt64

    init(_ record: AccountRecord) {
        address = record.address.description
        balance = String(record.balance)
        nonce = record.nonce
    }
}

struct SubmittedView: Encodable, Sendable {
    let hash: String
}

/// One entry of `broadcast_txs`: the hash of an accepted transaction or the error that refused it.
struct BatchEntryView: Encodable, Sendable {
    let hash: String?
    let error: RPCError?
}

struct BatchView: Encodable, Sendable {
    let accepted: Int
    let rejected: Int
    let results: [BatchEntryView]
}

struct EmptyView: Encodable, Sendable {}
