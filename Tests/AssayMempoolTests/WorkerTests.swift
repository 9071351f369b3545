import AssayCrypto
import AssayMempool
import AssayTypes
import Dispatch
import Synchronization
import Testing

/// Account state whose reads block while the gate is closed, so a test can hold a worker mid-task.
final class GatedAccounts: AccountStateReader {
    private let accounts = FakeAccounts()
    private let closed = Atomic(false)
    private let release = DispatchSemaphore(value: 0)
    let entered = DispatchSemaphore(value: 0)

    func close() { closed.store(true, ordering: .sequentiallyConsistent) }
    func open() {
        closed.store(false, ordering: .sequentiallyConsistent)
        release.signal()
    }
    func set(_ key: SecretKey, nonce: UInt64) { accounts.set(key, nonce: nonce) }

    func nonce(of address: Address) -> UInt64 {
        if closed.load(ordering: .sequentiallyConsistent) {
            entered.signal()
            release.wait()
        }
        return accounts.nonce(of: address)
    }
    func balance(of address: Address) -> Amount { accounts.balance(of: address) }
}

/// Issue 15 defect 7: commits paused while about 100k transactions were admitted and gossiped. These check the
/// mechanisms that keep that work from crowding out consensus.
@Suite struct WorkerTests {
    @Test func gossipIsQueuedWithoutWaitingAndDroppedBeyondTheBound() throws {
        let accounts = GatedAccounts()
        let pool = Mempool(config: MempoolConfig(chainID: chain, feeMin: 2), accounts: accounts)
        let gossip = GossipAdmission(mempool: pool, capacity: 4)
        accounts.close()
        #expect(gossip.enqueue([transfer(key(1), nonce: 0, fee: 5)]))
        accounts.entered.wait()  // the worker is stuck admitting; enqueueing must still return at once
        #expect(gossip.enqueue((0..<3).map { transfer(key(2), nonce: $0, fee: 5) }))
        #expect(!gossip.enqueue([transfer(key(3), nonce: 0, fee: 5)]))
        accounts.open()
        gossip.waitUntilIdle()
        #expect(pool.count == 4 && gossip.droppedCount == 1)
        // Room again once the queue drained.
        #expect(gossip.enqueue([transfer(key(3), nonce: 0, fee: 5)]))
        gossip.waitUntilIdle()
        #expect(pool.count == 5)
    }

    @Test func commitsDuringARecheckCoalesceIntoOneMorePass() throws {
        let accounts = GatedAccounts()
        let pool = Mempool(config: MempoolConfig(chainID: chain, feeMin: 2), accounts: accounts)
        let transactions = (0..<6).map { transfer(key(1), nonce: $0, fee: 5) }
        for tx in transactions { try pool.admit(tx.canonicalBytes) }
        let maintenance = MempoolMaintenance(mempool: pool)
        accounts.close()
        accounts.set(key(1), nonce: 1)
        maintenance.committed([transactions[0]], height: 1)
        accounts.entered.wait()  // the first pass is reading accounts
        for height in UInt64(2)...6 {
            accounts.set(key(1), nonce: height)
            maintenance.committed([transactions[Int(height) - 1]], height: height)
        }
        accounts.open()
        maintenance.waitUntilIdle()
        #expect(maintenance.passCount == 2)
        #expect(pool.count == 0)
    }

    @Test func recheckReleasesTheLockBetweenSlices() throws {
        let accounts = ObservingAccounts()
        let pool = Mempool(config: MempoolConfig(chainID: chain, feeMin: 2), accounts: accounts)
        let senders = (1...12).map { key(UInt8($0)) }
        for sender in senders { try pool.admit(transfer(sender, nonce: 0, fee: 5).canonicalBytes) }
        accounts.watch(pool, usedNonce: 1)
        #expect(pool.recheck(sendersPerLock: 4) == 12)
        // Each read took the pool's lock (it would deadlock under it), and the first slice's drops were
        // visible to the later reads: the pool was free between slices.
        #expect(accounts.seenCounts == [12, 12, 12, 12, 8, 8, 8, 8, 4, 4, 4, 4])
    }
}

/// Reports every sender as having used nonce 0, and records the pool's size at each read.
final class ObservingAccounts: AccountStateReader {
    private let state = Mutex<(pool: Mempool?, nonce: UInt64, seen: [Int])>((nil, 0, []))

    func watch(_ pool: Mempool, usedNonce: UInt64) { state.withLock { $0 = (pool, usedNonce, []) } }
    var seenCounts: [Int] { state.withLock { $0.seen } }

    func nonce(of address: Address) -> UInt64 {
        let (pool, nonce) = state.withLock { ($0.pool, $0.nonce) }
        if let pool {
            let count = pool.count
            state.withLock { $0.seen.append(count) }
        }
        return nonce
    }
    func balance(of address: Address) -> Amount { 1_000_000 }
}
