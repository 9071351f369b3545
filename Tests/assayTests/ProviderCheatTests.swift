import AssayCrypto
import AssayKernels
import AssayTypes
import Testing

@testable import assay

/// `--cheat`: its forms, and which tiles a cheating provider corrupts.
@Suite struct ProviderCheatTests {
    typealias Cheat = ProviderWorker.Cheat

    /// gemm-i8/1 of [40, 3] x [3, 5] with a budget of 15 work units: one row per tile, 40 tiles.
    let layout = try! TraceLayout(
        .gemmI8, model: try! Model(arrays: [("b", try! Tensor(int8: [Int8](repeating: 1, count: 15), shape: [3, 5]))]),
        input: TensorSpec(dtype: .int8, shape: [40, 3]), limits: .default, maxTileWorkUnits: 15)

    @Test func formsAreParsedAndBadOnesRefusedClearly() throws {
        #expect(try Cheat(parsing: nil) == .none)
        #expect(try Cheat(parsing: "wrong:0.5") == .wrong(probability: 0.5))
        #expect(try Cheat(parsing: "late") == .late && Cheat(parsing: "silent") == .silent)
        #expect(try Cheat(parsing: "tile:2:17") == .tile(TileID(layer: 2, tile: 17)))
        #expect(try Cheat(parsing: "fraction:0.1") == .fraction(0.1))
        for bad in ["tile:1", "tile:-1:2", "tile:a:b", "tile:1:2:3", "fraction:1.5", "fraction:", "wrong:x", "often"] {
            #expect(throws: CommandFailure.self, "\(bad)") { try Cheat(parsing: bad) }
        }
    }

    @Test func aTileCheatCorruptsThatTileOnlyWhenTheJobHasIt() {
        let job = SHA256.hash([1])
        #expect(Cheat.tile(TileID(layer: 0, tile: 7)).tilesToCorrupt(layout, job: job, seed: 1) == [TileID(layer: 0, tile: 7)])
        #expect(Cheat.tile(TileID(layer: 0, tile: 40)).tilesToCorrupt(layout, job: job, seed: 1).isEmpty)
        #expect(Cheat.tile(TileID(layer: 1, tile: 0)).tilesToCorrupt(layout, job: job, seed: 1).isEmpty)
        #expect(Cheat.wrong(probability: 1).tilesToCorrupt(layout, job: job, seed: 1).isEmpty)
    }

    /// Over 200 jobs of 40 tiles, fraction:0.1 corrupts about 800 tiles (+-25%, about 7 standard deviations),
    /// the same ones for the same job and seed; fraction:1 corrupts every tile, fraction:0 none.
    @Test func aFractionCheatCorruptsAboutThatShareDeterministically() {
        let jobs = (0..<200).map { SHA256.hash([UInt8($0 & 0xff), UInt8($0 >> 8)]) }
        let corrupted = jobs.map { Cheat.fraction(0.1).tilesToCorrupt(layout, job: $0, seed: 3) }
        #expect((600...1_000).contains(corrupted.map(\.count).reduce(0, +)))
        #expect(corrupted[5] == Cheat.fraction(0.1).tilesToCorrupt(layout, job: jobs[5], seed: 3))
        #expect(jobs.map { Cheat.fraction(0.1).tilesToCorrupt(layout, job: $0, seed: 4) } != corrupted)
        #expect(Cheat.fraction(1).tilesToCorrupt(layout, job: jobs[0], seed: 3).count == 40)
        #expect(Cheat.fraction(0).tilesToCorrupt(layout, job: jobs[0], seed: 3).isEmpty)
    }
}
