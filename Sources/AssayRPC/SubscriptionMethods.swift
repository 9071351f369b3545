import AssayAPI

/// The methods served only over WebSocket (`/websocket`), where a connection can receive notifications
/// (`WebSocketSession` handles them).
public enum SubscriptionMethods {
    public static let descriptions: [RPCMethodDescription] = [
        RPCMethodDescription(
            "subscribe",
            "WebSocket only: notifications of new blocks ({event: new_block}), one transaction's commit "
                + "({event: tx, hash}) or job state changes by client or provider address ({event: jobs, address}).",
            parameters: [.required("event", "string"), .optional("hash", "string"), .optional("address", "string")]),
        RPCMethodDescription(
            "unsubscribe", "WebSocket only: ends a subscription of this connection.",
            parameters: [.required("subscription", "string")]),
    ]
}
