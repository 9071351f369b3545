import AssayBlobs
import AssayCodec
import AssayTypes

/// Why the mempool refused a transaction. Each case becomes its own JSON-RPC error code in AssayRPC.
public enum AdmissionError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooLarge(bytes: Int, max: Int)
    case malformed(CodecError)
    case wrongChain(expected: String, got: String)
    case feeTooLow(fee: Amount, min: Amount)
    case badSignature
    case duplicate(Hash)
    case nonceTooLow(nonce: UInt64, expected: UInt64)
    case nonceTooFarAhead(nonce: UInt64, expected: UInt64, gapMax: UInt64)
    case insufficientBalance(balance: Amount, fee: Amount)
    case replacementUnderpriced(fee: Amount, required: Amount)
    /// The sender already has `max` transactions waiting behind a missing nonce; this one would wait too.
    case tooManyGapped(max: Int)
    /// The pool is at its count or byte cap and the cheapest evictable transaction pays `feeToBeat` or more
    /// (nil: nothing is evictable; a gapped transaction never evicts an executable one, nor any of its sender's).
    case mempoolFull(feeToBeat: Amount?)
    /// The transaction references a blob this node does not hold in full.
    case blobNotHeld(BlobID)

    public var description: String {
        switch self {
        case let .tooLarge(bytes, max): "transaction is \(bytes) bytes, the limit is \(max)"
        case let .malformed(error): "transaction bytes do not decode: \(error)"
        case let .wrongChain(expected, got): "transaction is for chain '\(got)', this node runs chain '\(expected)'"
        case let .feeTooLow(fee, min): "fee \(fee) is below the minimum fee \(min)"
        case .badSignature: "signature does not verify for the sender's public key"
        case let .duplicate(hash): "transaction \(hash) is already in the mempool"
        case let .nonceTooLow(nonce, expected):
            "nonce \(nonce) is already used: the sender's next nonce is \(expected)"
        case let .nonceTooFarAhead(nonce, expected, gapMax):
            "nonce \(nonce) is too far ahead: the sender's next nonce is \(expected) and at most \(gapMax) may be queued"
        case let .insufficientBalance(balance, fee): "balance \(balance) cannot pay the fee \(fee)"
        case let .replacementUnderpriced(fee, required):
            "a transaction with this sender and nonce is pending: a replacement must pay at least \(required), not \(fee)"
        case let .tooManyGapped(max):
            "the sender already has \(max) transactions waiting behind a missing nonce: send the missing nonce first"
        case let .mempoolFull(feeToBeat?): "mempool is full: a fee above \(feeToBeat) is needed to enter"
        case .mempoolFull(nil): "mempool is full and holds nothing this transaction may evict"
        case let .blobNotHeld(id): "blob \(id) is not held by this node; upload it first (PUT /blobs/\(id))"
        }
    }
}
