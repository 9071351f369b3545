import AssayCrypto
import AssayTypes

/// The committed ledger state the mempool checks nonces and fees against. The node implements it over the
/// latest committed state; reads may come from any thread.
public protocol AccountStateReader: Sendable {
    /// The nonce the account's next transaction must carry (0 for an unknown account).
    func nonce(of address: Address) -> UInt64
    /// The account's spendable balance in base units (0 for an unknown account).
    func balance(of address: Address) -> Amount
}

/// What admission needs of one account, read before taking the pool's lock.
struct AccountSnapshot: Equatable, Sendable {
    var nextNonce: UInt64
    var balance: Amount

    init(nextNonce: UInt64, balance: Amount) {
        self.nextNonce = nextNonce
        self.balance = balance
    }

    init(reading reader: any AccountStateReader, address: Address) {
        self.init(nextNonce: reader.nonce(of: address), balance: reader.balance(of: address))
    }
}
