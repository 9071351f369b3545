import AssayCrypto
import AssayTypes
import Foundation
import Testing

@Suite struct GenesisTests {
    static func key(_ n: UInt8) -> SecretKey { try! SecretKey(bytes: [UInt8](repeating: 0, count: 31) + [n]) }

    static func sample() throws -> Genesis {
        Genesis(
            chainID: "assay-devnet", genesisTimeMs: 1_795_651_200_000,
            accounts: [
                Genesis.Account(address: Address(publicKey: key(1).publicKey), balance: 5, bonded: 7),
                Genesis.Account(address: Address(publicKey: key(2).publicKey), balance: 11),
            ],
            validators: try ValidatorSet([Validator(publicKey: key(1).publicKey, power: 3)]), params: Params())
    }

    @Test func jsonRoundTrips() throws {
        let genesis = try Self.sample()
        #expect(try Genesis.parse(json: genesis.json()) == genesis)
        #expect(genesis.totalSupply == 23)
    }

    @Test func theDevnetTemplateIsValid() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Genesis/devnet.json")
        let genesis = try Genesis.parse(json: Data(contentsOf: url))
        #expect(genesis.chainID == "assay-devnet")
    }

    @Test func everyProblemIsReportedByPath() throws {
        let valid = Hex.encode(Self.key(1).publicKey.bytes)
        let json = """
            {
              "chain_id": "assay-devnet",
              "genesis_time_ms": 0,
              "accounts": [
                {"address": "assay1notanaddress", "balance": 1},
                {"address": "\(Address(publicKey: Self.key(2).publicKey))", "balance": 10000000000000000000},
                {"address": "\(Address(publicKey: Self.key(3).publicKey))", "balance": 10000000000000000000}
              ],
              "validators": [
                {"public_key": "\(valid)", "power": 1},
                {"public_key": "\(valid)", "power": 2},
                {"public_key": "\(Hex.encode(Self.key(4).publicKey.bytes))", "power": 0},
                {"public_key": "zz", "power": 1}
              ],
              "params": {"take_rate_bps": 10001, "min_fee": 5, "no_such": 1}
            }
            """
        let invalid = try #require(throws: Genesis.Invalid.self) { try Genesis.parse(json: Data(json.utf8)) }
        #expect(invalid.problems.map(\.path) == [
            "accounts[0].address",
            "accounts[2].balance",
            "validators[1].public_key",
            "validators[2].power",
            "validators[3].public_key",
            "params.no_such",
            "params.take_rate_bps",
        ])
        #expect(invalid.problems[1].message.contains("overflow"))
    }

    @Test func aTypeErrorIsReportedAtItsPath() {
        let json = #"{"chain_id": "x", "genesis_time_ms": 0, "accounts": [{"address": "a", "balance": "lots"}], "validators": []}"#
        let invalid = #expect(throws: Genesis.Invalid.self) { try Genesis.parse(json: Data(json.utf8)) }
        #expect(invalid?.problems.map(\.path) == ["accounts[0].balance"])
    }

    @Test func parameterRulesTieParametersTogether() throws {
        var params = Params()
        params.unbondingBlocks = params.maxJobDeadlineBlocks
        #expect(params.problems().map(\.name) == ["unbonding_blocks"])
        #expect(throws: Params.Problem.self) { try Params().setting("max_tile_work_units", to: Params().blockWorkBudget + 1) }
        #expect(throws: Params.Problem.self) { try Params().setting("max_tile_work_units", to: (1 << 26) - 1) }
        #expect(try Params().setting("max_job_work_units", to: 1_000_000_000_000_000).maxJobWorkUnits == 1_000_000_000_000_000)
        #expect(try Params().setting("min_fee", to: 7).minFee == 7)
        #expect(Params.fraction(UInt64.max, bps: 5_000) == UInt64.max / 2)
    }
}
