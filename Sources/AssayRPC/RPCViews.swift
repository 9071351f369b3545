import AssayAPI
import AssayCodec
import AssayCrypto
import AssayLedger
import AssayTypes

// The results of the chain and node methods: AssayAPI's views built from the node's records. Amounts, fees and voting
// power are decimal strings (they can exceed 2^53, where JSON numbers lose precision in many clients); heights,
// rounds, nonces and counts are numbers; hashes, keys, signatures and transactions are lowercase hex.

extension StatusView {
    init(_ status: NodeStatus) {
        self.init(
            chainId: status.chainID, nodeKey: status.nodeKey.description, latestHeight: status.latestHeight,
            earliestHeight: status.earliestHeight,
            latestBlockHash: status.latestBlockHash?.description, latestStateRoot: status.latestStateRoot?.description,
            latestBlockTimeMs: status.latestBlockTimeMs, catchingUp: status.catchingUp,
            mempoolCount: status.mempoolCount)
    }
}

extension NetInfoView {
    init(_ info: NetworkInfo) {
        self.init(
            listenAddress: info.listenAddress,
            peers: info.peers.map { Peer(nodeKey: $0.nodeKey.description, address: $0.address, outbound: $0.outbound) })
    }
}

extension HeaderView {
    init(_ header: Header) {
        self.init(
            chainId: header.chainID, height: header.height, timeMs: header.timeMs,
            previousBlockHash: header.previousBlockHash.description, lastCommitHash: header.lastCommitHash.description,
            transactionsRoot: header.transactionsRoot.description, stateRoot: header.stateRoot.description,
            validatorSetHash: header.validatorSetHash.description,
            nextValidatorSetHash: header.nextValidatorSetHash.description, proposer: header.proposer.description)
    }
}

extension CommitView {
    init(_ commit: Commit) {
        self.init(
            height: commit.height, round: commit.round, blockHash: commit.blockHash.description,
            signatures: commit.signatures.map {
                Signature(validator: $0.validator.description, signature: $0.signature.description)
            })
    }
}

extension BlockView {
    init(_ record: BlockRecord) {
        self.init(
            hash: record.block.hash.description, header: HeaderView(record.block.header),
            transactions: record.block.transactions.map { transaction in
                let bytes = transaction.canonicalBytes
                return Entry(hash: SHA256.hash(bytes).description, tx: Hex.encode(bytes))
            },
            lastCommit: record.block.lastCommit.map(CommitView.init), commit: record.commit.map(CommitView.init))
    }
}

extension ValidatorsView {
    init(_ record: ValidatorsRecord) {
        self.init(
            height: record.height, totalPower: String(record.validators.totalPower),
            validators: record.validators.validators.map {
                Member(publicKey: $0.publicKey.description, address: $0.address.description, power: String($0.power))
            })
    }
}

extension TransactionView {
    init(_ record: TransactionRecord) {
        let bytes = record.transaction.canonicalBytes
        self.init(
            hash: SHA256.hash(bytes).description, height: record.height, index: record.index, tx: Hex.encode(bytes),
            kind: record.transaction.body.kindName, body: TransactionBodyView.json(record.transaction.body),
            sender: record.transaction.senderAddress.description, nonce: record.transaction.nonce,
            fee: String(record.transaction.fee), code: record.code, codeName: ResultCodeNames.name(record.code),
            log: record.log, events: record.events)
    }
}

extension BlockResultsView {
    init(_ record: BlockResultsRecord) {
        self.init(
            height: record.height, hash: record.blockHash.description,
            transactions: record.transactions.map {
                Entry(
                    hash: $0.hash.description, code: $0.code, codeName: ResultCodeNames.name($0.code), log: $0.log,
                    events: $0.events)
            },
            endBlockEvents: record.endBlockEvents)
    }
}

/// The ledger's result codes by name, as `tx` and `block_results` show them.
enum ResultCodeNames {
    static func name(_ code: UInt32) -> String {
        UInt16(exactly: code).flatMap(ResultCode.init(rawValue:)).map { "\($0)" } ?? "unknown"
    }
}

extension AccountView {
    init(_ record: AccountRecord) {
        self.init(address: record.address.description, balance: String(record.balance), nonce: record.nonce)
    }
}

extension UnconfirmedView {
    init(_ record: UnconfirmedRecord) {
        self.init(
            count: record.count, totalBytes: record.totalBytes,
            txs: record.transactions.map { Hex.encode($0.canonicalBytes) })
    }
}
