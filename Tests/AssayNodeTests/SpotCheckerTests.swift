import AssayBlobs
import AssayCrypto
import AssayKernels
import AssayTypes
import Testing

@testable import AssayNode

/// Blobs in memory, with every range read recorded: what a spot check reads is part of what it must get right.
final class RecordingBlobs {
    var held: [BlobRef: [UInt8]] = [:]
    var reads: [(BlobRef, Range<UInt64>)] = []

    func hold(_ bytes: [UInt8]) -> BlobRef {
        let ref = BlobRef(of: bytes)
        held[ref] = bytes
        return ref
    }

    func read(_ ref: BlobRef, _ range: Range<UInt64>) throws -> [UInt8] {
        reads.append((ref, range))
        return Array(held[ref]![Int(range.lowerBound)..<Int(range.upperBound)])
    }

    func bytesRead(of ref: BlobRef) -> UInt64 { reads.filter { $0.0 == ref }.reduce(0) { $0 + UInt64($1.1.count) } }
}

/// A validator's check of one result: mlp-q8/1 [8 -> 8 -> 8 -> 4] over 12 rows, tiles of 16 work units (two output
/// columns of one row): 48 + 48 + 24 = 120 tiles.
@Suite struct SpotCheckerTests {
    static let budget: UInt64 = 16
    let blobs = RecordingBlobs()
    let model: Model
    let input: Tensor
    let layout: TraceLayout
    let trace: Trace
    let job = SHA256.hash([7])

    init() throws {
        var state: UInt64 = 99
        func bytes(_ count: Int) -> [UInt8] {
            (0..<count).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: state >> 33)
            }
        }
        var arrays: [(String, Tensor)] = []
        for (layer, (k, n)) in [(8, 8), (8, 8), (8, 4)].enumerated() {
            arrays += [
                ("layer\(layer).weight", try Tensor(dtype: .int8, shape: [UInt64(k), UInt64(n)], data: bytes(k * n))),
                ("layer\(layer).bias", try Tensor(int32: [Int32](repeating: 3, count: n), shape: [UInt64(n)])),
                ("layer\(layer).multiplier", try Tensor(int32: [1 << 30], shape: [])),
                ("layer\(layer).shift", try Tensor(int32: [4], shape: [])),
                ("layer\(layer).output_zero_point", try Tensor(int8: [0], shape: [])),
            ]
        }
        model = try Model(arrays: arrays)
        input = try Tensor(dtype: .int8, shape: [12, 8], data: bytes(96))
        layout = try TraceLayout(.mlpQ8, model: model, input: input.spec, limits: .default, maxTileWorkUnits: Self.budget)
        trace = try layout.execute(input: input)
    }

    func posted(_ trace: Trace, output: [UInt8]? = nil) -> ResultUnderCheck {
        let request = Job(
            offerID: .zero, kernel: KernelID.mlpQ8.rawValue, modelHash: .zero, inputBlob: blobs.hold(input.canonicalBytes),
            maxWorkUnits: trace.output.workUnits, deadline: 100)
        let result = JobResult(
            jobID: job, outputBlob: blobs.hold(output ?? trace.output.output.canonicalBytes),
            traceBlob: blobs.hold(trace.blobBytes), traceRoot: trace.root, workUnits: trace.output.workUnits)
        return ResultUnderCheck(job: job, request: request, model: model, result: result)
    }

    func checker(_ mode: SpotCheckPolicy.Mode, k: Int = 5, secret: Digest32 = SHA256.hash([1])) -> SpotChecker {
        SpotChecker(read: blobs.read, secret: secret, policy: SpotCheckPolicy(mode: mode, tilesPerResult: k), maxTileWorkUnits: Self.budget)
    }

    @Test func anHonestResultPassesReadingOnlyTheSampledTilesAndTheFinalLayer() throws {
        #expect(layout.totalTileCount == 120)
        let result = posted(trace)
        let outcome = try checker(.sample).check(result)
        let tiles = layout.sampleTiles(count: 5, secret: SHA256.hash([1]), job: job, traceRoot: trace.root)
        let work = try tiles.reduce(UInt64(0)) { $0 + (try layout.tileWorkUnits(layer: $1.layer, tile: $1.tile)) }
        #expect(outcome == SpotCheckOutcome(tilesChecked: 5, workUnits: work, wrongTile: nil))
        // The trace is read for the final-layer compare (48 bytes) and for five tiles and their inputs only.
        let finalLayer = UInt64(try layout.layerRange(2).count)
        var tileBytes: UInt64 = 0
        for tile in tiles where tile.layer > 0 {
            tileBytes += try layout.tileInputs(layer: tile.layer, tile: tile.tile).byteCount
        }
        for tile in tiles { tileBytes += UInt64(try layout.tileRange(layer: tile.layer, tile: tile.tile).count) }
        #expect(blobs.bytesRead(of: result.result.traceBlob) == finalLayer + tileBytes)
        #expect(blobs.bytesRead(of: result.result.traceBlob) < layout.traceLength / 2)
    }

    @Test func aCorruptedTileIsFoundInAllModeAndWhenSampled() throws {
        let target = TileID(layer: 1, tile: 17)
        let forged = try trace.corrupting([target])
        let all = try checker(.all).check(posted(forged))
        #expect(all.wrongTile == target)
        #expect(all.tilesChecked == 48 + 18, "every tile up to the wrong one, in leaf order")
        // A sample that holds the tile finds it; one that does not passes (what the detection formula counts).
        let sampled = try checker(.sample, k: 119).check(posted(forged))
        let drawn = layout.sampleTiles(count: 119, secret: SHA256.hash([1]), job: job, traceRoot: forged.root)
        #expect(sampled.wrongTile == (drawn.contains(target) ? target : nil))
    }

    @Test func anOutputThatDiffersFromTheFinalLayerNamesItsTile() throws {
        var output = trace.output.output.canonicalBytes
        output[output.count - 5] ^= 1  // element 43 of 48: row 10, column 3 of the last layer, tile 2 x 10 + 1
        let outcome = try checker(.sample).check(posted(trace, output: output))
        #expect(outcome == SpotCheckOutcome(tilesChecked: 0, workUnits: 0, wrongTile: TileID(layer: 2, tile: 21)))
    }

    @Test func aTraceOfTheWrongLengthIsNotChecked() throws {
        var result = posted(trace)
        let short = Array(trace.blobBytes.dropLast())
        result = ResultUnderCheck(job: job, request: result.request, model: model, result: JobResult(
            jobID: job, outputBlob: result.result.outputBlob, traceBlob: blobs.hold(short), traceRoot: trace.root,
            workUnits: trace.output.workUnits))
        #expect(throws: SpotCheckError.self) { try checker(.all).check(result) }
    }

    @Test func theSecretIsTheValidatorsOwnAndStable() throws {
        let (one, two) = (try SecretKey(bytes: [UInt8](repeating: 1, count: 32)), try SecretKey(bytes: [UInt8](repeating: 2, count: 32)))
        #expect(SpotChecker.secret(of: one) == SpotChecker.secret(of: one))
        #expect(SpotChecker.secret(of: one) != SpotChecker.secret(of: two))
        #expect(SpotChecker.secret(of: one) == HMACSHA256.authenticate(Array("assay/spot-check-secret/1".utf8), key: [UInt8](repeating: 1, count: 32)))
    }
}
