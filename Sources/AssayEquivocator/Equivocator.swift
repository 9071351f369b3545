import AssayCrypto
import AssayP2P
import AssayTypes
import Foundation
import Logging

/// A Byzantine validator, for the end-to-end tests only (`Tools/e2e evidence:`): it connects to the given nodes
/// over P2P with the validator's node key, as that validator's node would, and at each of the next `--heights` heights it
/// hears the others vote in, signs two prevotes for two different blocks at that height and round. That is the
/// double sign SafetyRules makes impossible for a real node, so this program signs (with the consensus key) without it.
///
/// `assay-equivocator --key KEYFILE --node-key KEYFILE --chain-id ID --peer HOST:PORT... --allow NODE_KEY_HEX...
/// [--heights N]`
@main
struct Equivocator {
    static func main() async {
        do {
            try await run(try Options(Array(CommandLine.arguments.dropFirst())))
        } catch {
            FileHandle.standardError.write(Data("assay-equivocator: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run(_ options: Options) async throws {
        let p2p = P2PService(
            config: P2PConfig(
                chainID: options.chainID, identity: options.nodeKey, peers: options.peers, allowedKeys: options.allowed),
            logger: Logger(label: "equivocator") { _ in SwiftLogNoOpLogHandler() })
        _ = try await p2p.start()
        var signed: Set<Height> = []
        for await message in p2p.inbound {
            guard let (height, round) = votingPosition(message.bytes), !signed.contains(height) else { continue }
            signed.insert(height)
            for block in ["equivocation-a", "equivocation-b"] {
                let blockHash = SHA256.hash(Array("\(block)-\(height)".utf8))
                let bytes = Vote.signBytes(
                    chainID: options.chainID, kind: .prevote, height: height, round: round, blockHash: blockHash)
                let vote = Vote(
                    kind: .prevote, height: height, round: round, blockHash: blockHash,
                    validator: options.key.publicKey, signature: try options.key.sign(bytes))
                p2p.broadcast(WireMessage.vote(vote).canonicalBytes)
            }
            print("signed two prevotes at height \(height) round \(round)")
            fflush(nil)
            if signed.count == options.heights { break }
        }
        try await Task.sleep(for: .seconds(1))  // lets the last votes leave before the links close
        await p2p.stop()
    }

    /// The height and round a peer's vote or proposal is for.
    static func votingPosition(_ bytes: [UInt8]) -> (Height, Round)? {
        switch try? WireMessage(canonicalBytes: bytes) {
        case let .vote(vote)?: (vote.height, vote.round)
        case let .proposal(proposal, _)?: (proposal.height, proposal.round)
        default: nil
        }
    }
}

struct Options {
    var key: SecretKey
    var nodeKey: SecretKey
    var chainID: String
    var peers: [PeerAddress] = []
    var allowed: Set<PublicKey> = []
    var heights = 3

    init(_ arguments: [String]) throws {
        var values: [String: [String]] = [:]
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard flag.hasPrefix("--"), let value = rest.popFirst() else { throw UsageError("expected --flag value") }
            values[String(flag.dropFirst(2)), default: []].append(value)
        }
        guard let path = values["key"]?.first, let nodePath = values["node-key"]?.first,
            let chainID = values["chain-id"]?.first
        else { throw UsageError("--key, --node-key and --chain-id are required") }
        key = try KeyFile.read(from: path).secretKey(passphrase: nil, allowExposedPlaintext: true)
        nodeKey = try KeyFile.read(from: nodePath).secretKey(passphrase: nil, allowExposedPlaintext: true)
        self.chainID = chainID
        for peer in values["peer"] ?? [] {
            let parts = peer.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]) else { throw UsageError("bad --peer \(peer)") }
            peers.append(PeerAddress(host: String(parts[0]), port: port))
        }
        for hex in values["allow"] ?? [] {
            guard let bytes = Hex.decode(hex), let key = try? PublicKey(bytes: bytes) else {
                throw UsageError("bad --allow \(hex)")
            }
            allowed.insert(key)
        }
        if let heights = values["heights"]?.first {
            guard let count = Int(heights), count > 0 else { throw UsageError("bad --heights \(heights)") }
            self.heights = count
        }
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
