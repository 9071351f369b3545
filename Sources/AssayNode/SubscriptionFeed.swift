import AssayAPI
import AssayCrypto
import AssayLedger
import AssayRPC
import AssayTypes
import Logging
import ServiceLifecycle

/// Carries committed blocks to WebSocket subscribers. The commit path only extracts what a block changed and
/// queues it (bounded; nothing at all when no one is connected); this service builds the payloads and hands them
/// to the hub, whose per-connection queues drop a subscriber that falls behind.
final class SubscriptionFeed: Service, Sendable {
    static let blocksQueuedMax = 256

    struct Notice: Sendable {
        let block: NewBlockView
        let transactions: [Hash]
        let jobs: [JobTransition]
    }

    let hub: SubscriptionHub
    private let service: NodeService
    private let logger: Logger
    private let stream: AsyncStream<Notice>
    private let continuation: AsyncStream<Notice>.Continuation

    init(hub: SubscriptionHub, service: NodeService, logger: Logger) {
        self.hub = hub
        self.service = service
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(
            of: Notice.self, bufferingPolicy: .bufferingOldest(Self.blocksQueuedMax))
    }

    func committed(_ block: Block, _ outcome: BlockOutcome) {
        guard hub.connectionCount > 0 else { return }
        let notice = Notice(
            block: NewBlockView(block), transactions: block.transactions.map(\.hash),
            jobs: JobTransition.all(in: outcome))
        if case .dropped = continuation.yield(notice) {
            logger.warning("subscription feed is \(Self.blocksQueuedMax) blocks behind; block \(block.height) not sent")
        }
    }

    func run() async throws {
        for await notice in stream.cancelOnGracefulShutdown() { await deliver(notice) }
    }

    func deliver(_ notice: Notice) async {
        if hub.isWatched(.newBlock) { hub.publish(block: notice.block) }
        let watched = hub.watchedTransactions()
        for hash in notice.transactions where watched.contains(hash) {
            if let record = await service.transaction(hash: hash) { hub.publish(transaction: record) }
        }
        let addresses = hub.watchedAddresses()
        guard !addresses.isEmpty else { return }
        for transition in notice.jobs {
            guard let current = try? LedgerQuery(store: service.store).job(transition.job),
                addresses.contains(current.client) || addresses.contains(current.provider)
            else { continue }
            let posted = try? TransactionIndex.postedResult(of: transition.job, in: service.store)
            hub.publish(job: transition.entry(from: current, postedResult: posted))
        }
    }
}
