import AssayCrypto
import AssayMempool
import AssayTypes
import Synchronization

let chain = "assay-test"

/// Account state the tests set by hand; unknown accounts have nonce 0 and a large balance.
final class FakeAccounts: AccountStateReader {
    private let accounts = Mutex<[Address: (nonce: UInt64, balance: Amount)]>([:])

    func set(_ key: SecretKey, nonce: UInt64, balance: Amount = 1_000_000) {
        accounts.withLock { $0[Address(publicKey: key.publicKey)] = (nonce, balance) }
    }

    func nonce(of address: Address) -> UInt64 { accounts.withLock { $0[address]?.nonce ?? 0 } }
    func balance(of address: Address) -> Amount { accounts.withLock { $0[address]?.balance ?? 1_000_000 } }
}

func key(_ seed: UInt8) -> SecretKey { try! SecretKey(bytes: [UInt8](repeating: seed, count: 32)) }

func transfer(_ sender: SecretKey, nonce: UInt64, fee: Amount, chainID: String = chain) -> Transaction {
    let body = TransactionBody.transfer(Transfer(recipient: Address(publicKey: key(99).publicKey), amount: 1))
    return try! Transaction.signed(chainID: chainID, nonce: nonce, fee: fee, body: body, key: sender)
}

func makePool(
    _ accounts: FakeAccounts = FakeAccounts(), countMax: Int = 1_000, bytesMax: Int = 1 << 20,
    transactionBytesMax: Int = 1_024
) -> Mempool {
    Mempool(
        config: MempoolConfig(
            chainID: chain, transactionBytesMax: transactionBytesMax, countMax: countMax, bytesMax: bytesMax, feeMin: 2,
            nonceGapMax: 4),
        accounts: accounts)
}
