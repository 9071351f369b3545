import AssayAPI
import AssayCrypto
import AssayTypes
import Synchronization

/// Who listens for what over WebSocket, and each connection's queue of outgoing messages, bounded in messages and
/// in bytes.
///
/// Publishing never waits: a message goes into the connection's queue or, when the queue is full (the client reads
/// too slowly), the connection is dropped. So a slow subscriber can never hold up the node's commit path, nor hold
/// more than `queueBytesMax` of the node's memory (or one message, however large, in an empty queue).
public final class SubscriptionHub: Sendable {
    public static let queueMessagesMax = 1_024
    public static let queueBytesMaxDefault = 4 << 20
    public static let subscriptionsPerConnectionMax = 256

    public let queueBytesMax: Int

    public enum Topic: Hashable, Sendable {
        case newBlock
        /// One transaction's commit; sent once.
        case transaction(Hash)
        /// State changes of jobs where the address is client or provider.
        case jobs(Address)
    }

    struct Connection {
        let outbox: AsyncStream<[UInt8]>.Continuation
        /// Called (under the hub's lock, so it must only schedule work) when the hub drops the connection.
        let dropped: @Sendable () -> Void
        var subscriptions: [String: Topic] = [:]
        /// Queued and not yet taken by the writer (`dequeued`).
        var queuedMessages = 0
        var queuedBytes = 0
    }

    struct State {
        var nextConnection: UInt64 = 0
        var nextSubscription: UInt64 = 0
        var connections: [UInt64: Connection] = [:]
        /// Connected and not yet disconnected, including those dropped for a full queue whose socket is still open.
        var open: Set<UInt64> = []
    }

    private let state = Mutex(State())

    public init(queueBytesMax: Int = SubscriptionHub.queueBytesMaxDefault) {
        precondition(queueBytesMax > 0)
        self.queueBytesMax = queueBytesMax
    }

    /// A new connection: its id and the messages to write to it, which end when the connection is dropped. The
    /// writer reports each message it takes with `dequeued`, which frees its place in the queue. `dropped` runs
    /// when a full queue drops the connection; it is called under the hub's lock, so it must only schedule work.
    public func connect(dropped: @escaping @Sendable () -> Void = {}) -> (id: UInt64, outbox: AsyncStream<[UInt8]>) {
        // The hub counts messages and bytes itself, so the stream's own buffer need not be bounded.
        let (stream, continuation) = AsyncStream.makeStream(of: [UInt8].self, bufferingPolicy: .unbounded)
        let id = state.withLock { state in
            state.nextConnection += 1
            state.connections[state.nextConnection] = Connection(outbox: continuation, dropped: dropped)
            state.open.insert(state.nextConnection)
            return state.nextConnection
        }
        return (id, stream)
    }

    public func disconnect(_ connection: UInt64) {
        let removed = state.withLock { state in
            state.open.remove(connection)
            return state.connections.removeValue(forKey: connection)
        }
        removed?.outbox.finish()
    }

    /// Connections not yet disconnected, whether their queue is live or was dropped.
    public var connectionCount: Int { state.withLock { $0.open.count } }

    /// False once the connection was dropped (its queue overflowed) or disconnected.
    public func isLive(_ connection: UInt64) -> Bool { state.withLock { $0.connections[connection] != nil } }

    /// Adds a subscription and queues `response(id)` (if any) before any notification of it can be queued.
    public func subscribe(_ connection: UInt64, to topic: Topic, response: (String) -> [UInt8]?) throws(RPCError) {
        try state.withLock { state throws(RPCError) in
            guard var entry = state.connections[connection] else { throw RPCError.invalidRequest("connection closed") }
            guard entry.subscriptions.count < Self.subscriptionsPerConnectionMax else {
                throw RPCError.invalidParams("at most \(Self.subscriptionsPerConnectionMax) subscriptions per connection")
            }
            state.nextSubscription += 1
            let id = String(state.nextSubscription)
            entry.subscriptions[id] = topic
            state.connections[connection] = entry
            if let bytes = response(id) { enqueue(bytes, to: connection, in: &state) }
        }
    }

    /// Removes a subscription of this connection; false if it has none by that id.
    public func unsubscribe(_ connection: UInt64, subscription: String) -> Bool {
        state.withLock { state in
            state.connections[connection]?.subscriptions.removeValue(forKey: subscription) != nil
        }
    }

    /// The writer took a message of `byteCount` bytes out of the connection's queue.
    public func dequeued(_ connection: UInt64, byteCount: Int) {
        state.withLock { state in
            guard var entry = state.connections[connection] else { return }
            entry.queuedMessages -= 1
            entry.queuedBytes -= byteCount
            assert(entry.queuedMessages >= 0 && entry.queuedBytes >= 0, "dequeued more than was queued")
            state.connections[connection] = entry
        }
    }

    /// Queues a message (a response) for one connection.
    public func send(_ bytes: [UInt8], to connection: UInt64) {
        state.withLock { state in enqueue(bytes, to: connection, in: &state) }
    }

    /// True when anyone listens for `topic` (so the node can skip building payloads nobody wants).
    public func isWatched(_ topic: Topic) -> Bool {
        state.withLock { state in state.connections.values.contains { $0.subscriptions.values.contains(topic) } }
    }

    /// Every transaction hash someone waits for.
    public func watchedTransactions() -> Set<Hash> {
        state.withLock { state in
            Set(state.connections.values.flatMap { $0.subscriptions.values }.compactMap { topic in
                if case let .transaction(hash) = topic { hash } else { nil }
            })
        }
    }

    /// Every address whose jobs someone follows.
    public func watchedAddresses() -> Set<Address> {
        state.withLock { state in
            Set(state.connections.values.flatMap { $0.subscriptions.values }.compactMap { topic in
                if case let .jobs(address) = topic { address } else { nil }
            })
        }
    }

    public func publish(block: NewBlockView) { notify(.newBlock, payload: block, once: false) }

    public func publish(transaction record: TransactionRecord) {
        notify(.transaction(record.transaction.hash), payload: TransactionView(record), once: true)
    }

    /// Sends a job's new state to every subscription following its client or its provider.
    public func publish(job entry: JobEntry) {
        let view = JobView(entry)
        let topics: Set<Topic> = [.jobs(entry.record.client), .jobs(entry.record.provider)]
        state.withLock { state in
            for (connection, entry) in state.connections {
                for (id, topic) in entry.subscriptions where topics.contains(topic) {
                    enqueue(Self.notification(id, view), to: connection, in: &state)
                }
            }
        }
    }

    private func notify(_ topic: Topic, payload: some Codable & Sendable, once: Bool) {
        state.withLock { state in
            for (connection, entry) in state.connections {
                for (id, subscribed) in entry.subscriptions where subscribed == topic {
                    if once { state.connections[connection]?.subscriptions.removeValue(forKey: id) }
                    enqueue(Self.notification(id, payload), to: connection, in: &state)
                }
            }
        }
    }

    private static func notification(_ subscription: String, _ payload: some Codable & Sendable) -> [UInt8] {
        RPCDispatcher.encode(Notification(subscription: subscription, result: payload))
    }

    /// Queues or, when the queue is full in messages or bytes, drops the connection: its stream ends and the
    /// session closes it. An empty queue takes any one message, so a single large response still goes out.
    private func enqueue(_ bytes: [UInt8], to connection: UInt64, in state: inout State) {
        guard var entry = state.connections[connection] else { return }
        let fits = entry.queuedMessages == 0
            || (entry.queuedMessages < Self.queueMessagesMax && entry.queuedBytes + bytes.count <= queueBytesMax)
        guard fits, case .enqueued = entry.outbox.yield(bytes) else {
            state.connections.removeValue(forKey: connection)
            entry.outbox.finish()
            entry.dropped()
            return
        }
        entry.queuedMessages += 1
        entry.queuedBytes += bytes.count
        state.connections[connection] = entry
    }
}

extension NewBlockView {
    public init(_ block: Block) {
        self.init(
            height: block.height, hash: block.hash.description, stateRoot: block.header.stateRoot.description,
            timeMs: block.header.timeMs, numTxs: block.transactions.count)
    }
}
