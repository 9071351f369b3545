import AssayCrypto
import AssayLightClient
import AssayTypes
import Foundation
import Testing
@testable import assay

/// The wallet's trust file: written, read back, refused when stale or when its clear fields lie.
@Suite("assay light trust file")
struct LightTrustTests {
    static let block: LightBlock = {
        let key = try! SecretKey(bytes: SHA256.hash(Array("trust file test".utf8)).bytes)
        let set = try! ValidatorSet([Validator(publicKey: key.publicKey, power: 1)])
        let header = Header(
            chainID: "trust-test", height: 7, timeMs: 1_000_000, previousBlockHash: .zero, lastCommitHash: .zero,
            transactionsRoot: .zero, stateRoot: .zero, validatorSetHash: set.hash, nextValidatorSetHash: set.hash,
            proposer: key.publicKey)
        return LightBlock(
            header: header, commit: Commit(height: 7, round: 0, blockHash: header.hash, signatures: []),
            validators: set, nextValidators: set)
    }()

    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("light-\(UUID().uuidString)/trust.json").path
    }

    @Test func aWrittenTrustFileReadsBackTheSameBlock() throws {
        let path = Self.temporaryPath()
        try LightTrust(Self.block, trustingPeriodS: 60).write(to: path)
        let loaded = try #require(try LightTrust.load(path))
        #expect(loaded.height == 7 && loaded.chainId == "trust-test" && loaded.hash == Self.block.hash.description)
        #expect(try loaded.trustedBlock(path: path, nowMs: 1_000_000 + 60_000) == Self.block)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func aTrustFilePastItsTrustingPeriodIsRefused() throws {
        let trust = LightTrust(Self.block, trustingPeriodS: 60)
        #expect(throws: CommandFailure.self) { try trust.trustedBlock(path: "t.json", nowMs: 1_000_000 + 61_000) }
    }

    @Test func aTrustFileWhoseClearFieldsDisagreeWithItsBlockIsRefused() {
        var trust = LightTrust(Self.block, trustingPeriodS: 60)
        trust.height = 8
        #expect(throws: CommandFailure.self) { try trust.trustedBlock(path: "t.json", nowMs: 1_000_000) }
        trust = LightTrust(Self.block, trustingPeriodS: 60)
        trust.lightBlock.removeLast(2)
        #expect(throws: CommandFailure.self) { try trust.trustedBlock(path: "t.json", nowMs: 1_000_000) }
    }

    @Test func noTrustFileIsNil() throws {
        #expect(try LightTrust.load(Self.temporaryPath()) == nil)
    }
}
