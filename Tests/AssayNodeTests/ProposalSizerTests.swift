import Testing

@testable import AssayNode

@Suite struct ProposalSizerTests {
    /// 500 ms per block, at most 10,000 transactions.
    let fresh = ProposalSizer(budgetNs: 500_000_000, countMax: 10_000)

    @Test func proposesTheMaximumUntilABlockWasMeasured() {
        #expect(fresh.count == 10_000)
    }

    @Test func aCheapMachineKeepsTheMaximum() {
        var sizer = fresh
        sizer.record(transactions: 10_000, nanoseconds: 200_000_000)  // 20 µs each: 25,000 would fit
        #expect(sizer.count == 10_000)
    }

    @Test func aBusyMachineProposesWhatFitsTheBudget() {
        var sizer = fresh
        sizer.record(transactions: 5_000, nanoseconds: 2_500_000_000)  // 500 µs each
        #expect(sizer.count == 1_000)
    }

    @Test func neverBelowTheFloor() {
        var sizer = fresh
        sizer.record(transactions: 1_000, nanoseconds: 60_000_000_000)  // 60 ms each
        #expect(sizer.count == 256)
        let tiny = ProposalSizer(budgetNs: 1, countMax: 100)
        #expect(tiny.countMin == 100)
    }

    @Test func smallBlocksTeachNothing() {
        var sizer = fresh
        sizer.record(transactions: ProposalSizer.sampleTransactionsMin - 1, nanoseconds: 60_000_000_000)
        #expect(sizer.nsPerTransaction == nil)
        #expect(sizer.count == 10_000)
    }

    @Test func followsTheMachineBackWhenItIsQuietAgain() {
        var sizer = fresh
        sizer.record(transactions: 5_000, nanoseconds: 2_500_000_000)  // busy: 500 µs each
        var counts: [Int] = []
        for _ in 0..<12 {
            sizer.record(transactions: 1_000, nanoseconds: 20_000_000)  // quiet: 20 µs each
            counts.append(sizer.count)
        }
        #expect(counts == counts.sorted())  // grows back block by block
        #expect(counts.last == 10_000)
    }
}
