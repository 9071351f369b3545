import AssayAPI
import AssayLightClient
import AssayTypes
import ArgumentParser
import Foundation

/// `assay light ...`: the wallet's light client trust (docs/wallet.md, Light client).
struct LightCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "light", abstract: "Trust a header, from which queries and job submit verify the node's headers.",
        subcommands: [Init.self, Status.self])

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch and verify the light block at a trusted height and hash, and write the trust file.")
        @OptionGroup var options: NodeOptions
        @Option(help: "The height of the header you trust.") var trustHeight: UInt64
        @Option(help: "The hash of that header, from a source you trust (hex).") var trustHash: String
        @Option(help: "The trust file (default: ASSAY_LIGHT_TRUST, else ~/.assay/light/<chain-id>.json).")
        var trustFile: String?
        @Option(help: "Refuse the trust file once its header is older than this many seconds.")
        var trustingPeriod: UInt64 = LightTrust.trustingPeriodDefaultS

        func run() async throws {
            let expected = try RPCValue.hash(trustHash, what: "--trust-hash")
            guard trustHeight > 0 else { throw ValidationError("--trust-height must be at least 1") }
            let block = try await LightSource(client: try options.client()).lightBlock(at: trustHeight)
            guard block.hash == expected else {
                throw CommandFailure(
                    "the node's header at height \(trustHeight) hashes to \(block.hash), not the trusted hash \(expected)")
            }
            do { try block.validate(chainID: block.header.chainID) } catch {
                throw CommandFailure("the node's light block at height \(trustHeight) does not verify: \(error)")
            }
            let trust = LightTrust(block, trustingPeriodS: trustingPeriod)
            let path = LightTrust.path(trustFile, chainID: block.header.chainID)
            // A header already past the trusting period is refused now rather than at the first query.
            _ = try trust.trustedBlock(path: path, nowMs: LightTrust.nowMs)
            try trust.write(to: path)
            try Status.show(trust, path: path, json: options.json)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The trusted height and hash of the trust file.")
        @OptionGroup var options: NodeOptions
        @Option(help: "The trust file (default: ASSAY_LIGHT_TRUST, else ~/.assay/light/<chain-id of --node>.json).")
        var trustFile: String?

        func run() async throws {
            let path: String
            if let trustFile { path = trustFile } else {
                path = LightTrust.path(nil, chainID: try await options.client().call(ChainMethods.status, NoParams()).chainId)
            }
            guard let trust = try LightTrust.load(path) else { throw CommandFailure("no light client trust file at \(path)") }
            try Self.show(trust, path: path, json: options.json)
        }

        static func show(_ trust: LightTrust, path: String, json: Bool) throws {
            if json { return print(try Output.json(trust)) }
            print("trust_file: \(path)")
            print("chain_id: \(trust.chainId)")
            print("height: \(trust.height)")
            print("hash: \(trust.hash)")
            print("age_s: \(trust.ageS(nowMs: LightTrust.nowMs)) (trusting period \(trust.trustingPeriodS))")
        }
    }
}
