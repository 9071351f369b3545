import AssayAPI
import AssayTypes
import Testing
@testable import assay

/// The wallet's parsing of what people type: credits, parameter assignments, kernel lists, cheat modes.
@Suite("assay wallet parsing")
struct WalletParsingTests {
    @Test func creditsRoundTripWithSixDecimals() throws {
        #expect(try Output.baseUnits(credits: "2.5") == 2_500_000)
        #expect(try Output.baseUnits(credits: "0.000001") == 1)
        #expect(Output.credits(1_234_567) == "1.234567 credits")
        #expect(throws: CommandFailure.self) { try Output.baseUnits(credits: "0.0000001") }
        #expect(throws: CommandFailure.self) { try Output.baseUnits(credits: "18446744073709.551616") }
    }

    @Test func parameterAssignmentsAreCheckedAgainstTheSpecs() throws {
        #expect(try ParameterAssignment.parse("min_fee=2_000") == ("min_fee", 2_000))
        #expect(throws: CommandFailure.self) { try ParameterAssignment.parse("no_such=1") }
        #expect(throws: CommandFailure.self) { try ParameterAssignment.parse("take_rate_bps=10001") }
        #expect(throws: CommandFailure.self) { try ParameterAssignment.parse("min_fee=-1") }
    }

    @Test func kernelListsNameOnlyCatalogueKernels() throws {
        #expect(try KernelList.parse("gemm-i8/1, mlp-q8/1") == ["gemm-i8/1", "mlp-q8/1"])
        #expect(throws: CommandFailure.self) { try KernelList.parse("gemm-i8/2") }
        #expect(throws: CommandFailure.self) { try KernelList.parse("") }
    }

    @Test func cheatModes() throws {
        #expect(try ProviderWorker.Cheat(parsing: nil) == .none)
        #expect(try ProviderWorker.Cheat(parsing: "wrong:0.3") == .wrong(probability: 0.3))
        #expect(try ProviderWorker.Cheat(parsing: "silent") == .silent)
        #expect(throws: CommandFailure.self) { try ProviderWorker.Cheat(parsing: "wrong:1.5") }
        #expect(throws: CommandFailure.self) { try ProviderWorker.Cheat(parsing: "lazy") }
    }

    /// A committed body that failed is reported with the code and the name the node gave it.
    @Test func failedSubmissionsNameTheirLedgerCode() throws {
        func committed(code: UInt32, name: String) -> Submission {
            let view = TransactionView(
                hash: "c0ff", height: 3, index: 0, tx: "00", kind: "transfer", body: .object([:]), sender: "assay1x",
                nonce: 0, fee: "1", code: code, codeName: name, log: code == 0 ? "" : name, events: [])
            return Submission(hash: "c0ff", committed: view)
        }
        #expect(throws: Never.self) { try committed(code: 0, name: "ok").requireOK("transfer") }
        #expect(throws: Never.self) { try Submission(hash: "c0ff", committed: nil).requireOK("transfer") }
        let failure = #expect(throws: CommandFailure.self) {
            try committed(code: 1, name: "insufficientBalance").requireOK("stake")
        }
        #expect(failure?.description == "stake failed: ledger code 1 (insufficientBalance)")
    }
}
