import AssayAPI
import AssayCrypto
import AssayTypes

/// The methods served over JSON-RPC, named after CometBFT's where one exists. Those described in AssayAPI
/// (`ChainMethods`) are typed end to end; the others still build their results here.
public enum RPCMethods {
    /// The most transactions one `broadcast_txs` call may carry.
    public static let broadcastBatchMax = 10_000

    public static let all: [RPCMethod] = [
        RPCMethod(ChainMethods.status) { _, node in StatusView(await node.status()) },
        RPCMethod("health", "An empty result when the node is healthy; error -32022 otherwise.", NoParams.self) { _, node in
            do throws(NodeAPIError) { try await node.health() } catch { throw RPCError.from(error) }
            return EmptyView()
        },
        RPCMethod("net_info", "The P2P listen address and the connected peers.", NoParams.self) { _, node in NetInfoView(await node.networkInfo()) },
        RPCMethod(ChainMethods.block) { params, node in
            let record: BlockRecord? =
                if let hash = params.hash { await node.block(hash: try parseHash(hash, name: "hash")) } else {
                    await node.block(height: params.height)
                }
            guard let record else { throw RPCError.notFound(params.hash.map { "block \($0)" } ?? "block") }
            return BlockView(record)
        },
        RPCMethod(
            "validators", "The validator set of a height (default: the next height).",
            parameters: [.optional("height", "integer")], HeightParams.self
        ) { params, node in
            guard let record = await node.validators(height: params.height) else {
                throw RPCError.notFound("validator set of height \(params.height.map(String.init) ?? "next")")
            }
            return ValidatorsView(record)
        },
        RPCMethod(ChainMethods.broadcastTxSync) { params, node in
            let bytes = try parseTransaction(params.tx, name: "tx")
            switch await node.submit([bytes]).first {
            case let .success(hash)?: return SubmittedView(hash: hash.description)
            case let .failure(error)?: throw RPCError.rejected(error)
            case nil: throw RPCError.internalError("the node returned no result for the transaction")
            }
        },
        RPCMethod(
            "broadcast_txs", "Admits up to 10000 transactions at once; one hash or error per transaction, in order.",
            parameters: [.required("txs", "array")], TxsParams.self
        ) { params, node in
            guard params.txs.count <= broadcastBatchMax else {
                throw RPCError.invalidParams("'txs' holds \(params.txs.count) transactions, at most \(broadcastBatchMax)")
            }
            let decoded = try params.txs.enumerated().map { try parseTransaction($1, name: "txs[\($0)]") }
            let results = await node.submit(decoded)
            guard results.count == decoded.count else {
                throw RPCError.internalError("the node returned \(results.count) results for \(decoded.count)")
            }
            let entries = results.map { result in
                switch result {
                case let .success(hash): BatchEntryView(hash: hash.description, error: nil)
                case let .failure(error): BatchEntryView(hash: nil, error: RPCError.rejected(error))
                }
            }
            let accepted = entries.count(where: { $0.hash != nil })
            return BatchView(accepted: accepted, rejected: entries.count - accepted, results: entries)
        },
        RPCMethod(ChainMethods.broadcastTxCommit) { params, node in
            let bytes = try parseTransaction(params.tx, name: "tx")
            do throws(NodeAPIError) { return TransactionView(try await node.submitAndWaitForCommit(bytes)) } catch {
                throw RPCError.from(error)
            }
        },
        RPCMethod(ChainMethods.tx) { params, node in
            guard let record = await node.transaction(hash: try parseHash(params.hash, name: "hash")) else {
                throw RPCError.notFound("transaction \(params.hash)")
            }
            return TransactionView(record)
        },
        RPCMethod(ChainMethods.blockResults) { params, node in
            let record = try await MarketMethods.reading { () async throws(NodeAPIError) in
                try await node.blockResults(height: params.height)
            }
            guard let record else { throw RPCError.notFound("block \(params.height.map(String.init) ?? "latest")") }
            return BlockResultsView(record)
        },
        RPCMethod(ChainMethods.account) { params, node in
            AccountView(await node.account(try parseAddress(params.address, name: "address")))
        },
    ] + MarketMethods.all + BlobMethods.all

    struct TxsParams: Decodable, Sendable { let txs: [String] }

    static func parseHash(_ text: String, name: String) throws(RPCError) -> Hash {
        guard let bytes = Hex.decode(text), bytes.count == Hash.byteCount else {
            throw .invalidParams("'\(name)' must be 64 hex digits")
        }
        return Hash(bytes)
    }

    static func parseAddress(_ text: String, name: String) throws(RPCError) -> Address {
        do { return try Address(text) } catch { throw .invalidParams("'\(name)' is not an assay1... address: \(error)") }
    }

    static func parseTransaction(_ text: String, name: String) throws(RPCError) -> [UInt8] {
        guard let bytes = Hex.decode(text) else {
            throw .invalidParams("'\(name)' must be the hex of a transaction's canonical bytes")
        }
        return bytes
    }
}
