import ArgumentParser
import AssayCodec
import AssayCrypto
import AssayTypes
import Foundation

/// Options of every command that signs and submits a transaction.
struct SigningOptions: ParsableArguments {
    @OptionGroup var node: NodeOptions
    @Option(help: "The sender's key file.") var key: String
    @Option(help: "Read the key's passphrase from this file.") var passphraseFile: String?
    @Option(help: "Fee in credits (paid to the block proposer).") var fee = "0.001"
    @Option(help: "Nonce (default: the account's next nonce, read from the node).") var nonce: UInt64?
    @Flag(help: "Wait until the transaction is committed and print its outcome and events.") var wait = false
    @Option(help: "Chain id (default: the node's).") var chainId: String?
    @Flag(help: "Print the signed transaction's hex instead of submitting it.") var printHex = false

    /// Signs `body` with the key file's key and submits it; prints the hash, or the committed result.
    func submit(_ body: TransactionBody) async throws {
        let (keyFile, secret) = try unlockKeyFile(key, passphraseFile: passphraseFile)
        let client = try node.client()
        let chainID: String
        if let chainId { chainID = chainId } else { chainID = try await nodeChainID(client) }
        let nonce: UInt64
        if let fixed = self.nonce { nonce = fixed } else { nonce = try await nextNonce(of: keyFile.address, client) }
        let transaction = try Transaction.signed(
            chainID: chainID, nonce: nonce, fee: try Output.baseUnits(credits: fee), body: body, key: secret)
        let hex = Hex.encode(transaction.canonicalBytes)
        if printHex {
            print(hex)
        } else if wait {
            let result = try await client.object("broadcast_tx_commit", ["tx": hex], timeout: 60)
            try node.show(result)
            if let code = result["code"] as? Int, code != 0 { throw ExitCode(1) }
        } else {
            try node.show(try await client.object("broadcast_tx_sync", ["tx": hex]))
        }
    }

    private func nodeChainID(_ client: RPCClient) async throws -> String {
        guard let chainID = try await client.object("status")["chain_id"] as? String else {
            throw CommandFailure("node status has no chain_id")
        }
        return chainID
    }

    private func nextNonce(of address: Address, _ client: RPCClient) async throws -> UInt64 {
        let account = try await client.object("account", ["address": address.description])
        guard let nonce = account["nonce"] as? Int else { throw CommandFailure("node account answer has no nonce") }
        return UInt64(nonce)
    }
}

struct Tx: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign and submit transactions.", subcommands: [TransferCommand.self])

    struct TransferCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "transfer", abstract: "Send credits.")
        @OptionGroup var signing: SigningOptions
        @Option(help: "Recipient address, assay1...") var to: String
        @Option(help: "Amount in credits, up to six decimals.") var amount: String

        func run() async throws {
            let recipient: Address
            do { recipient = try Address(to) } catch { throw CommandFailure("--to: \(error)") }
            try await signing.submit(
                .transfer(Transfer(recipient: recipient, amount: try Output.baseUnits(credits: amount))))
        }
    }
}
