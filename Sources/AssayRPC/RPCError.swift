import AssayAPI
import AssayBlobs
import AssayMempool

/// The errors the node answers with (`RPCError` is the wire type, shared with clients in AssayAPI).
extension RPCError {
    public static func parseError(_ detail: String) -> RPCError {
        RPCError(code: -32700, message: "parse error: \(detail)")
    }
    public static func invalidRequest(_ detail: String) -> RPCError {
        RPCError(code: -32600, message: "invalid request: \(detail)")
    }
    public static func methodNotFound(_ method: String) -> RPCError {
        RPCError(code: -32601, message: "method '\(method)' not found")
    }
    public static func invalidParams(_ detail: String) -> RPCError {
        RPCError(code: -32602, message: "invalid params: \(detail)")
    }
    public static func internalError(_ detail: String) -> RPCError {
        RPCError(code: -32603, message: "internal error: \(detail)")
    }
    public static func notFound(_ what: String) -> RPCError {
        RPCError(code: -32020, message: "\(what) not found", reason: "not_found")
    }
    /// The response would pass the node's response byte budget (`RPCDispatcher.responseBytesMax`).
    public static func responseTooLarge(_ budget: Int, detail: String) -> RPCError {
        RPCError(
            code: -32023, message: "response exceeds the budget of \(budget) bytes: \(detail)",
            reason: "response_too_large")
    }

    /// Application codes -32001 ... -32013, one per admission rule, so clients can react without parsing text.
    public static func rejected(_ error: AdmissionError) -> RPCError {
        let (code, reason): (Int, String) =
            switch error {
            case .tooLarge: (-32001, "too_large")
            case .malformed: (-32002, "malformed")
            case .wrongChain: (-32003, "wrong_chain")
            case .feeTooLow: (-32004, "fee_too_low")
            case .badSignature: (-32005, "bad_signature")
            case .duplicate: (-32006, "duplicate")
            case .nonceTooLow: (-32007, "nonce_too_low")
            case .nonceTooFarAhead: (-32008, "nonce_too_far_ahead")
            case .insufficientBalance: (-32009, "insufficient_balance")
            case .replacementUnderpriced: (-32010, "replacement_underpriced")
            case .mempoolFull: (-32011, "mempool_full")
            case .tooManyGapped: (-32012, "too_many_gapped")
            case .blobNotHeld: (-32013, "blob_not_held")
            }
        return RPCError(code: code, message: "transaction rejected: \(error)", reason: reason)
    }

    public static func from(_ error: NodeAPIError) -> RPCError {
        switch error {
        case let .rejected(admission): rejected(admission)
        case let .timedOut(hash):
            RPCError(
                code: -32021, message: "transaction \(hash) was accepted but not committed in time",
                reason: "commit_timeout")
        case let .unavailable(detail): RPCError(code: -32022, message: "node unavailable: \(detail)", reason: "unavailable")
        }
    }
}
