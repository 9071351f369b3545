/// The methods served only over WebSocket (`/websocket`), where a connection can receive notifications.
public enum SubscriptionMethods {
    public static let descriptions: [RPCMethodDescription] = []
}
