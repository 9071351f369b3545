import AssayAPI
import AssayCodec
import AssayCrypto
import AssayLightClient
import AssayTypes
import Foundation
import Synchronization

/// The light client's trust file (docs/wallet.md, Light client): the newest light block the wallet verified, as
/// canonical hex, with its chain id, height and hash in the clear for people and scripts.
struct LightTrust: Codable {
    static let trustingPeriodDefaultS: UInt64 = 14 * 24 * 3600

    var chainId: String
    var height: UInt64
    var hash: String
    /// The trusted header's time: a trust file older than `trustingPeriodS` is refused.
    var timeMs: UInt64
    var trustingPeriodS: UInt64
    var lightBlock: String

    private enum CodingKeys: String, CodingKey {
        case chainId = "chain_id", height, hash, timeMs = "time_ms", trustingPeriodS = "trusting_period_s"
        case lightBlock = "light_block"
    }

    init(_ block: LightBlock, trustingPeriodS: UInt64) {
        chainId = block.header.chainID
        height = block.height
        hash = block.hash.description
        timeMs = block.header.timeMs
        self.trustingPeriodS = trustingPeriodS
        lightBlock = Hex.encode(block.canonicalBytes)
    }

    /// `--trust-file`, else `ASSAY_LIGHT_TRUST`, else `~/.assay/light/<chain-id>.json`.
    static func path(_ option: String?, chainID: String) -> String {
        if let option { return option }
        if let variable = ProcessInfo.processInfo.environment["ASSAY_LIGHT_TRUST"], !variable.isEmpty { return variable }
        let home = FileManager.default.homeDirectoryForCurrentUser.path
        return "\(home)/.assay/light/\(chainID).json"
    }

    /// The trust file at `path`, or nil when there is none.
    static func load(_ path: String) throws -> LightTrust? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do { return try JSONDecoder().decode(LightTrust.self, from: data) } catch {
            throw CommandFailure("light client trust file \(path) is not valid: \(error)")
        }
    }

    /// The trusted block, checked against the file's clear fields and against the wall clock's trusting period.
    func trustedBlock(path: String, nowMs: UInt64) throws -> LightBlock {
        guard let bytes = Hex.decode(lightBlock), let block = try? LightBlock(canonicalBytes: bytes),
            block.hash.description == hash, block.height == height, block.header.chainID == chainId
        else { throw CommandFailure("light client trust file \(path): light_block does not match its height and hash") }
        guard ageS(nowMs: nowMs) <= trustingPeriodS else {
            throw CommandFailure(
                "light client trust file \(path) trusts height \(height), \(ageS(nowMs: nowMs)) s old, past its trusting "
                    + "period of \(trustingPeriodS) s: run 'assay light init' again from a hash you trust")
        }
        return block
    }

    /// Writes the file whole (a temporary file renamed over it), creating its directory, readable by its owner only.
    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            try (encoder.encode(self) + Data("\n".utf8)).write(to: URL(fileURLWithPath: path), options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        } catch { throw CommandFailure("cannot write the light client trust file \(path): \(error)") }
    }

    func ageS(nowMs: UInt64) -> UInt64 { nowMs > timeMs ? (nowMs - timeMs) / 1000 : 0 }

    static var nowMs: UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
}

/// Light blocks from a node's RPC (`block` and `validators`), not trusted: the light client checks them.
struct LightSource {
    let client: RPCClient

    func lightBlock(at height: Height) async throws -> LightBlock {
        let view = try await client.call(ChainMethods.block, BlockParams(height: height))
        guard let commit = view.commit else {
            throw CommandFailure("node answered 'block' \(height) without its commit")
        }
        do {
            return LightBlock(
                header: try Header(view.header), commit: try Commit(commit),
                validators: try await validators(at: height), nextValidators: try await validators(at: height + 1))
        } catch let error as CommandFailure { throw error } catch {
            throw CommandFailure("node's light block at height \(height) does not decode: \(error)")
        }
    }

    func header(at height: Height) async throws -> Header {
        do { return try Header(try await client.call(ChainMethods.block, BlockParams(height: height)).header) } catch
            let error as CommandFailure { throw error }
        catch { throw CommandFailure("node's header at height \(height) does not decode: \(error)") }
    }

    private func validators(at height: Height) async throws -> ValidatorSet {
        let view = try await client.call(ChainMethods.validators, HeightParams(height: height))
        return try ValidatorSet(
            view.validators.map { member in
                guard let power = UInt64(member.power) else { throw CommandFailure("validator power '\(member.power)' is not a number") }
                return Validator(publicKey: try LightSource.key(member.publicKey), power: power)
            })
    }

    static func key(_ text: String) throws -> PublicKey { try PublicKey(bytes: try bytes(text, "public key")) }

    static func bytes(_ text: String, _ what: String) throws -> [UInt8] {
        guard let bytes = Hex.decode(text) else { throw CommandFailure("node's \(what) '\(text)' is not hex") }
        return bytes
    }
}

extension Header {
    init(_ view: HeaderView) throws {
        func hash(_ text: String, _ what: String) throws -> Hash { try RPCValue.hash(text, what: what) }
        self.init(
            chainID: view.chainId, height: view.height, timeMs: view.timeMs,
            previousBlockHash: try hash(view.previousBlockHash, "previous_block_hash"),
            lastCommitHash: try hash(view.lastCommitHash, "last_commit_hash"),
            transactionsRoot: try hash(view.transactionsRoot, "transactions_root"),
            stateRoot: try hash(view.stateRoot, "state_root"),
            validatorSetHash: try hash(view.validatorSetHash, "validator_set_hash"),
            nextValidatorSetHash: try hash(view.nextValidatorSetHash, "next_validator_set_hash"),
            proposer: try LightSource.key(view.proposer))
    }
}

extension Commit {
    init(_ view: CommitView) throws {
        self.init(
            height: view.height, round: view.round, blockHash: try RPCValue.hash(view.blockHash, what: "block_hash"),
            signatures: try view.signatures.map {
                CommitSignature(
                    validator: try LightSource.key($0.validator),
                    signature: try Signature(bytes: try LightSource.bytes($0.signature, "signature")))
            })
    }
}

/// The committed header of a height, verified by the light client from the trust file when there is one.
enum VerifiedHeaders {
    private static let warned = Mutex(false)

    struct Answer {
        let header: Header
        /// The trusted height the light client verified from; nil when the node's answer was taken as it came.
        let trustedFrom: Height?
    }

    static func header(at height: Height, _ client: RPCClient) async throws -> Answer {
        let chainID = try await client.call(ChainMethods.status, NoParams()).chainId
        let path = LightTrust.path(nil, chainID: chainID)
        let source = LightSource(client: client)
        guard let trust = try LightTrust.load(path) else {
            if warned.withLock({ done in defer { done = true }; return !done }) {
                FileHandle.standardError.write(Data(
                    "warning: no light client trust file (\(path)): the header is the node's answer, not verified; run 'assay light init'\n".utf8))
            }
            return Answer(header: try await source.header(at: height), trustedFrom: nil)
        }
        let trusted = try trust.trustedBlock(path: path, nowMs: LightTrust.nowMs)
        if height <= trusted.height {
            return Answer(header: try await backwards(to: height, from: trusted.header, source), trustedFrom: trusted.height)
        }
        let verified: LightBlock
        do {
            verified = try await LightClient.verifyToHeight(height, from: trusted) { try await source.lightBlock(at: $0) }
        } catch let error as LightClientError {
            throw CommandFailure(
                "the light client rejects the node's header at height \(height): \(error) (trust file \(path); if "
                    + "this chain was made anew under the same chain id, run 'assay light init' again)")
        }
        try LightTrust(verified, trustingPeriodS: trust.trustingPeriodS).write(to: path)
        return Answer(header: verified.header, trustedFrom: trusted.height)
    }

    /// A header at or below the trusted one, by its hash link from the trusted header down.
    private static func backwards(to height: Height, from trusted: Header, _ source: LightSource) async throws -> Header {
        var header = trusted
        while header.height > height {
            let lower = try await source.header(at: header.height - 1)
            do { try LightClient.verifyBackwards(trusted: header, untrusted: lower) } catch {
                throw CommandFailure("the light client rejects the node's header at height \(lower.height): \(error)")
            }
            header = lower
        }
        return header
    }
}
