/// Every method of the node's JSON-RPC, in the order `rpc.discover` lists them: what a test checks the dispatcher
/// serves and docs/rpc.md documents, and nothing else.
public enum APIMethods {
    public static let descriptions: [RPCMethodDescription] = [
        ChainMethods.status.description, ChainMethods.health.description, ChainMethods.netInfo.description,
        ChainMethods.block.description, ChainMethods.validators.description, ChainMethods.broadcastTxSync.description,
        ChainMethods.broadcastTxs.description, ChainMethods.broadcastTxCommit.description, ChainMethods.tx.description,
        ChainMethods.blockResults.description, ChainMethods.account.description,
        ChainMethods.unconfirmedTxs.description, MarketMethods.offers.description, MarketMethods.job.description,
        MarketMethods.jobs.description, MarketMethods.provider.description, MarketMethods.market.description,
        MarketMethods.query.description, MarketMethods.supply.description, MarketMethods.params.description,
        BlobMethods.status.description, ChainMethods.discover.description,
    ] + SubscriptionMethods.descriptions
}
