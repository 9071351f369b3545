import Foundation

/// The methods served only over WebSocket (`/websocket`), where a connection receives notifications, and the
/// shapes of what they send (docs/rpc.md, WebSocket).
public enum SubscriptionMethods {
    public static let subscribe = Method<SubscribeParams, SubscribedView>(
        "subscribe",
        "WebSocket only: notifications of new blocks ({event: new_block}), one transaction's commit "
            + "({event: tx, hash}) or job state changes by client or provider address ({event: jobs, address}).",
        parameters: [.required("event", "string"), .optional("hash", "string"), .optional("address", "string")])
    public static let unsubscribe = Method<UnsubscribeParams, UnsubscribedView>(
        "unsubscribe", "WebSocket only: ends a subscription of this connection.",
        parameters: [.required("subscription", "string")])

    public static let descriptions = [subscribe.description, unsubscribe.description]
    /// The `method` of every notification.
    public static let notificationMethod = "subscription"
}

/// `new_block`; `tx` with the transaction's `hash`; `jobs` with a client's or provider's `address`.
public struct SubscribeParams: Codable, Sendable, Equatable {
    public let event: String
    public let hash: String?
    public let address: String?

    public static let newBlock = SubscribeParams(event: "new_block")
    public static func transaction(_ hash: String) -> SubscribeParams { SubscribeParams(event: "tx", hash: hash) }
    public static func jobs(of address: String) -> SubscribeParams { SubscribeParams(event: "jobs", address: address) }

    public init(event: String, hash: String? = nil, address: String? = nil) {
        self.event = event
        self.hash = hash
        self.address = address
    }
}

public struct UnsubscribeParams: Codable, Sendable, Equatable {
    public let subscription: String
    public init(subscription: String) { self.subscription = subscription }
}

public struct SubscribedView: Codable, Sendable, Equatable {
    /// The id every notification of this subscription carries.
    public let subscription: String
    public init(subscription: String) { self.subscription = subscription }
}

public struct UnsubscribedView: Codable, Sendable, Equatable {
    public let unsubscribed: Bool
    public init(unsubscribed: Bool) { self.unsubscribed = unsubscribed }
}

/// The `new_block` notification's payload.
public struct NewBlockView: Codable, Sendable, Equatable {
    public let height: UInt64
    public let hash: String
    public let stateRoot: String
    public let timeMs: UInt64
    public let numTxs: Int

    public init(height: UInt64, hash: String, stateRoot: String, timeMs: UInt64, numTxs: Int) {
        self.height = height
        self.hash = hash
        self.stateRoot = stateRoot
        self.timeMs = timeMs
        self.numTxs = numTxs
    }

    private enum CodingKeys: String, CodingKey {
        case height, hash, stateRoot = "state_root", timeMs = "time_ms", numTxs = "num_txs"
    }
}

/// A notification: `{"jsonrpc":"2.0","method":"subscription","params":{"subscription":ID,"result":PAYLOAD}}`;
/// the payload is a `NewBlockView`, a `TransactionView` or a `JobView` by the subscription's event.
public struct Notification<Payload: Codable & Sendable>: Codable, Sendable {
    public struct Params: Codable, Sendable {
        public let subscription: String
        public let result: Payload
    }

    public var jsonrpc = "2.0"
    public var method = SubscriptionMethods.notificationMethod
    public let params: Params

    public init(subscription: String, result: Payload) { params = Params(subscription: subscription, result: result) }
}

/// A message on a subscription's WebSocket, as a client reads it: the answer to its `subscribe` (or the refusal,
/// thrown as the node's `RPCError`) or a notification.
public enum SubscriptionMessage<Payload: Codable & Sendable>: Sendable {
    case subscribed(SubscribedView)
    case notification(subscription: String, Payload)

    public init(_ text: Data) throws {
        let method = SubscriptionMethods.notificationMethod
        guard (try? JSONDecoder().decode(MessageKind.self, from: text))?.method == method else {
            self = .subscribed(try SubscriptionMethods.subscribe.result(from: text))
            return
        }
        let notification: Notification<Payload>
        do { notification = try JSONDecoder().decode(Notification<Payload>.self, from: text) } catch {
            throw APIDecodingError(method: method, underlying: error)
        }
        self = .notification(subscription: notification.params.subscription, notification.params.result)
    }
}

/// Just enough of a WebSocket message to tell a notification from a response.
private struct MessageKind: Decodable { let method: String? }
