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
            validators: try ValidatorSet([Validator(publicKey: key(1).publicKey, power: 3)]),
            nodeKeys: [key(1).publicKey: key(9).publicKey], params: Params())
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

    @Test func nodeKeysRoundTripAndStayOutOfTheValidatorSet() throws {
        let genesis = try Self.sample()
        let json = try #require(String(data: genesis.json(), encoding: .utf8))
        #expect(json.contains("\"node_key\" : \"\(Hex.encode(Self.key(9).publicKey.bytes))\""))
        let parsed = try Genesis.parse(json: genesis.json())
        #expect(parsed.nodeKey(of: Self.key(1).publicKey) == Self.key(9).publicKey)
        #expect(parsed.validators == (try ValidatorSet([Validator(publicKey: Self.key(1).publicKey, power: 3)])))
    }

    /// A validator without a node key, with a malformed one, one used twice or one that is a validator's consensus
    /// key: each is reported at its path.
    @Test func nodeKeyProblemsAreReportedByPath() throws {
        func hex(_ n: UInt8) -> String { Hex.encode(Self.key(n).publicKey.bytes) }
        let json = """
            {
              "chain_id": "assay-devnet",
              "genesis_time_ms": 0,
              "validators": [
                {"public_key": "\(hex(1))", "power": 1},
                {"public_key": "\(hex(2))", "node_key": "abcd", "power": 1},
                {"public_key": "\(hex(3))", "node_key": "\(hex(9))", "power": 1},
                {"public_key": "\(hex(4))", "node_key": "\(hex(9))", "power": 1},
                {"public_key": "\(hex(5))", "node_key": "\(hex(3))", "power": 1}
              ]
            }
            """
        let invalid = try #require(throws: Genesis.Invalid.self) { try Genesis.parse(json: Data(json.utf8)) }
        #expect(invalid.problems.map(\.path) == [
            "validators[0].node_key",
            "validators[1].node_key",
            "validators[3].node_key",
            "validators[4].node_key",
        ])
        #expect(invalid.problems.map(\.message) == [
            "missing",
            "not a 32-byte x-only secp256k1 public key in hex",
            "duplicate node key (same as validators[2].node_key)",
            "is a validator's consensus key: give the node a key of its own",
        ])
    }

    @Test func everyProblemIsReportedByPath() throws {
        let valid = Hex.encode(Self.key(1).publicKey.bytes)
        func node(_ n: UInt8) -> String { Hex.encode(Self.key(n).publicKey.bytes) }
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
                {"public_key": "\(valid)", "node_key": "\(node(5))", "power": 1},
                {"public_key": "\(valid)", "node_key": "\(node(6))", "power": 2},
                {"public_key": "\(Hex.encode(Self.key(4).publicKey.bytes))", "node_key": "\(node(7))", "power": 0},
                {"public_key": "zz", "node_key": "\(node(8))", "power": 1}
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
