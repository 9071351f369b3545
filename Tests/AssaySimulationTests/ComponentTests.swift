import AssayStorage
import Testing
@testable import AssaySimulation

@Suite struct ComponentTests {
    @Test func splitMixIsDeterministicAndUniformEnough() {
        var a = SimRandom(seed: 9)
        var b = SimRandom(seed: 9)
        #expect((0..<100).map { _ in a.next() } == (0..<100).map { _ in b.next() })
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<10_000 { counts[Int(a.below(10))] += 1 }
        #expect(counts.allSatisfy { (800...1_200).contains($0) })
    }

    @Test func crashKeepsSyncedWritesAndAPrefixOfTheRest() throws {
        let disk = SimulatedDisk()
        var random = SimRandom(seed: 3)
        func put(_ key: UInt8, _ durability: Durability) throws {
            var batch = WriteBatch()
            batch.put([key], [key])
            try disk.write(batch, durability: durability)
        }
        try put(1, .buffered)
        try put(2, .synced)
        for key in UInt8(3)...9 { try put(key, .buffered) }
        disk.crash(&random, tearLast: false)
        let kept = try disk.scan(.default, prefix: []).map { $0.key[0] }
        #expect(kept.starts(with: [1, 2]), "synced and everything before it survives")
        #expect(kept == Array(1...UInt8(kept.count + 0)), "the rest is a prefix: no holes")
    }

    @Test func eventsWithEqualTimesRunInTheOrderScheduled() {
        var queue = EventQueue<Int>()
        queue.push(3, atMs: 10)
        queue.push(1, atMs: 5)
        queue.push(4, atMs: 10)
        queue.push(2, atMs: 5)
        var order: [Int] = []
        while let (_, event) = queue.pop() { order.append(event) }
        #expect(order == [1, 2, 3, 4])
    }

    @Test func byzantinePowerStaysUnderAThird() {
        for seed in UInt64(0)..<200 {
            let plan = ScenarioPlan(seed: seed, engineCount: nil, profile: .byzantine)
            guard let key = plan.byzantineKey else { continue }
            #expect(3 * plan.powers[key] < plan.powers.reduce(0, +))
        }
    }
}
