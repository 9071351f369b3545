import AssayAPI
import AssayCodec
import AssayCrypto
import AssayLedger
import AssayRPC
import AssayTypes
import Foundation
import Logging
import Testing

@testable import AssayNode

/// Committed blocks reach `jobs` and `new_block` subscribers as the job stood right after each block.
@Suite struct SubscriptionFeedTests {
    @Test func jobSubscribersSeeEachStateOfTheirJobsInOrder() async throws {
        let node = try NodeFixture()
        let hub = SubscriptionHub()
        let feed = SubscriptionFeed(hub: hub, service: node.service, logger: Logger(label: "test"))
        let (connection, outbox) = hub.connect()
        try hub.subscribe(connection, to: .jobs(address(node.client))) { _ in Array("{}".utf8) }
        try hub.subscribe(connection, to: .jobs(address(testKey(77)))) { _ in Array("{}".utf8) }

        let offer = try node.openMarket()
        let job = try node.job(offer: offer)
        var blocks = [try node.commit([job])]
        let result = try node.sign(node.provider, .result(try node.result(job: job.hash)))
        blocks.append(try node.commit([result]))
        for _ in 0..<3 { blocks.append(try node.commit([])) }
        // Delivered late, after the job already settled: each notice still shows the job as of its block.
        let outcomes = node.outcomes.suffix(blocks.count)
        for (block, outcome) in zip(blocks, outcomes) {
            await feed.deliver(SubscriptionFeed.Notice(
                block: NewBlockView(block), transactions: block.transactions.map(\.hash),
                jobs: JobTransition.all(in: outcome)))
        }
        hub.disconnect(connection)

        var states: [JSONValue] = []
        for await message in outbox {
            let json = try JSONDecoder().decode(JSONValue.self, from: Data(message))
            guard case let .object(fields) = json, case let .object(params)? = fields["params"],
                case let .object(view)? = params["result"]
            else { continue }
            #expect(view["id"] == .string(job.hash.description))
            states.append(view["state"] ?? .null)
            if view["state"] == .string("open") { #expect(view["result"] == .null) }
            if view["state"] == .string("result_posted") {
                guard case let .object(posted)? = view["result"] else { throw Failure("no result in \(view)") }
                #expect(posted["result_tx"] == .string(result.hash.description))
            }
        }
        #expect(states == [.string("open"), .string("result_posted"), .string("settled")])
    }
}
