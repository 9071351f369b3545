import AssayAPI
import AssayCodec
import AssayCrypto
import AssayTypes
import Foundation

/// A transaction the node took: its hash, and with `--wait` its committed view (result code and events).
struct Submission {
    let hash: String
    let committed: TransactionView?

    /// Throws, naming `what` and the ledger code, when the committed body failed; passes when it took effect or
    /// was not waited for.
    func requireOK(_ what: String) throws {
        guard let committed, committed.code != 0 else { return }
        throw CommandFailure("\(what) failed: ledger code \(committed.code) (\(committed.codeName))")
    }
}

/// One key talking to one node: the shared path of every command that signs (`tx`, `job`, `provider`).
/// It checks that the account can pay before it signs, submits, and optionally waits for the commit.
struct Wallet {
    let client: RPCClient
    let key: SecretKey
    let address: Address
    let chainID: String

    init(client: RPCClient, key: SecretKey, chainID: String? = nil) async throws {
        self.client = client
        self.key = key
        address = Address(publicKey: key.publicKey)
        if let chainID {
            self.chainID = chainID
        } else {
            self.chainID = try await client.call(ChainMethods.status, NoParams()).chainId
        }
    }

    /// The account's balance and next nonce as the node sees them.
    func account() async throws -> (balance: UInt64, nonce: UInt64) {
        let account = try await client.call(ChainMethods.account, AddressParams(address: address.description))
        guard let balance = UInt64(account.balance) else {
            throw CommandFailure("node answered 'account' with balance '\(account.balance)', not a decimal amount")
        }
        return (balance, account.nonce)
    }

    /// The chain's `min_fee` now: the default fee, so a transaction is never refused for its fee alone.
    func minimumFee() async throws -> UInt64 {
        try await ChainReads.parameter("min_fee", client)
    }

    /// Refuses, before signing, a transaction the account cannot pay: its fee plus what the body moves out of
    /// the balance (`spends`: an amount, a stake, a job's escrow or a challenge bond).
    func checkFunds(fee: UInt64, spends: UInt64, what: String) async throws -> UInt64 {
        let account = try await account()
        let (needed, overflow) = fee.addingReportingOverflow(spends)
        if overflow || account.balance < needed {
            throw CommandFailure(
                "insufficient balance: \(address) holds \(Output.credits(account.balance)), \(what) needs "
                    + "\(overflow ? "more than 2^64 base units" : Output.credits(needed)) "
                    + "(fee \(Output.credits(fee)) + \(Output.credits(spends)))")
        }
        return account.nonce
    }

    func sign(_ body: TransactionBody, fee: UInt64, nonce: UInt64) throws -> Transaction {
        try Transaction.signed(chainID: chainID, nonce: nonce, fee: fee, body: body, key: key)
    }

    /// Submits a signed transaction: with `wait`, returns once it is committed, with its committed view;
    /// otherwise once the node's mempool has accepted it.
    func broadcast(_ transaction: Transaction, wait: Bool) async throws -> Submission {
        let params = TxParams(tx: Hex.encode(transaction.canonicalBytes))
        if wait {
            let committed = try await client.call(ChainMethods.broadcastTxCommit, params, timeout: 90)
            return Submission(hash: committed.hash, committed: committed)
        }
        return Submission(hash: try await client.call(ChainMethods.broadcastTxSync, params).hash, committed: nil)
    }

    /// Checks funds, signs with `nonce` (default: the account's next nonce) and broadcasts.
    func submit(_ body: TransactionBody, fee: UInt64, spends: UInt64 = 0, nonce: UInt64? = nil, wait: Bool) async throws
        -> Submission
    {
        let next = try await checkFunds(fee: fee, spends: spends, what: "this \(body.kindName)")
        return try await broadcast(try sign(body, fee: fee, nonce: nonce ?? next), wait: wait)
    }
}

/// Hashes and addresses as text (from the command line or the node's answers), checked.
enum RPCValue {
    static func hash(_ text: String, what: String) throws -> Hash {
        let body = text.hasPrefix("0x") ? String(text.dropFirst(2)) : text
        guard body.count == 64, let bytes = Hex.decode(body) else {
            throw CommandFailure("\(what) '\(text)' is not 64 hex digits")
        }
        return Hash(bytes)
    }

    static func address(_ text: String, what: String) throws -> Address {
        do { return try Address(text) } catch { throw CommandFailure("\(what): \(error)") }
    }
}
