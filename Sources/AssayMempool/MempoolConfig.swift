import AssayTypes

/// Limits and admission rules of one node's mempool.
public struct MempoolConfig: Sendable, Equatable {
    /// Transactions of other chains are refused.
    public var chainID: String
    /// Largest canonical transaction accepted, in bytes.
    public var transactionBytesMax: Int
    /// At most this many transactions are pending at once.
    public var countMax: Int
    /// At most this many bytes of transactions are pending at once.
    public var bytesMax: Int
    /// The smallest fee accepted, in base units.
    public var feeMin: Amount
    /// A sender may queue nonces from its next nonce up to (not including) next nonce + `nonceGapMax`.
    public var nonceGapMax: UInt64
    /// A pending (sender, nonce) is replaced only by a fee at least this percent of the old fee and strictly
    /// higher (Ethereum's 10% bump): a cheap resend cannot churn the pool and its gossip.
    public var replacementFeePercent: UInt64
    /// How many signature verdicts (valid or not) are remembered by transaction hash.
    public var signatureCacheCapacity: Int
    /// At most this many of one sender's transactions may wait behind a missing nonce ("gapped": no block can
    /// include them yet, so they pay nothing while they wait).
    public var gappedPerSenderMax: Int
    /// At most this many gapped transactions in the whole pool (by default a tenth of `countMax`), so that
    /// transactions that cannot execute never fill it.
    public var gappedMax: Int
    /// A transaction still gapped this many committed blocks after its admission is dropped.
    public var gappedLifetimeBlocks: UInt64
    /// At most this many peers are recorded as holding the blobs of one pending transaction (those that gossiped
    /// it); enough for the peers of any committee this pool serves, and a bound on what a peer can make it store.
    public var blobHoldersMax: Int

    public init(
        chainID: String, transactionBytesMax: Int = 64 * 1024, countMax: Int = 50_000, bytesMax: Int = 64 << 20,
        feeMin: Amount = 1, nonceGapMax: UInt64 = 64, replacementFeePercent: UInt64 = 110,
        signatureCacheCapacity: Int = 200_000, gappedPerSenderMax: Int = 16, gappedMax: Int? = nil,
        gappedLifetimeBlocks: UInt64 = 100, blobHoldersMax: Int = 128
    ) {
        let gappedMax = gappedMax ?? max(1, countMax / 10)
        precondition(transactionBytesMax > 0 && transactionBytesMax <= bytesMax, "a transaction must fit in the pool")
        precondition(countMax > 0 && nonceGapMax > 0 && signatureCacheCapacity > 0)
        precondition(replacementFeePercent > 100, "a replacement must pay more than the original")
        precondition(gappedPerSenderMax >= 0 && gappedMax >= 0 && gappedLifetimeBlocks > 0)
        precondition(gappedMax < countMax, "gapped transactions must leave room for executable ones")
        precondition(blobHoldersMax >= 0)
        self.chainID = chainID
        self.transactionBytesMax = transactionBytesMax
        self.countMax = countMax
        self.bytesMax = bytesMax
        self.feeMin = feeMin
        self.nonceGapMax = nonceGapMax
        self.replacementFeePercent = replacementFeePercent
        self.signatureCacheCapacity = signatureCacheCapacity
        self.gappedPerSenderMax = gappedPerSenderMax
        self.gappedMax = gappedMax
        self.gappedLifetimeBlocks = gappedLifetimeBlocks
        self.blobHoldersMax = blobHoldersMax
    }
}
