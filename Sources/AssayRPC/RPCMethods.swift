import AssayAPI
import AssayCrypto
import AssayTypes

/// The methods served over JSON-RPC, named after CometBFT's where one exists: each is described in AssayAPI
/// (`ChainMethods`, `MarketMethods`, `BlobMethods`) and typed end to end; here is the node's side of each.
public enum RPCMethods {
    public static let all: [RPCMethod] = [
        RPCMethod(ChainMethods.status) { _, node in StatusView(await node.status()) },
        RPCMethod(ChainMethods.health) { _, node in
            do throws(NodeAPIError) { try await node.health() } catch { throw RPCError.from(error) }
            return EmptyView()
        },
        RPCMethod(ChainMethods.netInfo) { _, node in NetInfoView(await node.networkInfo()) },
        RPCMethod(ChainMethods.block) { params, node in
            let record: BlockRecord? =
                if let hash = params.hash { await node.block(hash: try parseHash(hash, name: "hash")) } else {
                    await node.block(height: params.height)
                }
            guard let record else { throw RPCError.notFound(params.hash.map { "block \($0)" } ?? "block") }
            return BlockView(record)
        },
        RPCMethod(ChainMethods.validators) { params, node in
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
        RPCMethod(ChainMethods.broadcastTxs) { params, node in
            let batchMax = ChainMethods.broadcastBatchMax
            guard params.txs.count <= batchMax else {
                throw RPCError.invalidParams("'txs' holds \(params.txs.count) transactions, at most \(batchMax)")
            }
            let decoded = try params.txs.enumerated().map { try parseTransaction($1, name: "txs[\($0)]") }
            let results = await node.submit(decoded)
            guard results.count == decoded.count else {
                throw RPCError.internalError("the node returned \(results.count) results for \(decoded.count)")
            }
            return BatchView(
                results: results.map { result in
                    switch result {
                    case let .success(hash): BatchView.Entry(hash: hash.description, error: nil)
                    case let .failure(error): BatchView.Entry(hash: nil, error: RPCError.rejected(error))
                    }
                })
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
            let record = try await MarketHandlers.reading { () async throws(NodeAPIError) in
                try await node.blockResults(height: params.height)
            }
            guard let record else { throw RPCError.notFound("block \(params.height.map(String.init) ?? "latest")") }
            return BlockResultsView(record)
        },
        RPCMethod(ChainMethods.account) { params, node in
            AccountView(await node.account(try parseAddress(params.address, name: "address")))
        },
        RPCMethod(ChainMethods.unconfirmedTxs) { params, node in
            let limit = params.limit ?? JobFilter.limitDefault
            guard (1...ChainMethods.broadcastBatchMax).contains(limit) else {
                throw RPCError.invalidParams("'limit' must be 1 to \(ChainMethods.broadcastBatchMax)")
            }
            return UnconfirmedView(await node.unconfirmedTransactions(limit: limit))
        },
    ] + MarketHandlers.all + BlobHandlers.all

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
