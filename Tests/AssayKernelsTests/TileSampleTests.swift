import AssayCodec
import AssayCrypto
import Testing

@testable import AssayKernels

/// The spot-check sampler: k distinct tiles, uniform over all layers' tiles, a function of the validator's secret,
/// the job and the trace root only.
@Suite struct TileSampleTests {
    /// mlp-q8/1 [4 -> 6 -> 3] over 5 rows with a 6-unit tile budget: one element per tile, 30 tiles in layer 0 and
    /// 15 in layer 1 (layers of different sizes, so a draw that favoured a layer would show).
    let layout: TraceLayout

    init() throws {
        var random = SeededGenerator(seed: 21)
        let model = try MLPModels.random(widths: [4, 6, 3], using: &random)
        layout = try TraceLayout(
            .mlpQ8, model: model, input: TensorSpec(dtype: .int8, shape: [5, 4]), limits: .default, maxTileWorkUnits: 6)
    }

    func digest(_ n: Int) -> Digest32 { SHA256.hash(withUnsafeBytes(of: Int64(n).littleEndian) { Array($0) }) }

    @Test func leavesMapToLayersInOrder() throws {
        #expect(try layout.tileCount(layer: 0) == 30 && layout.tileCount(layer: 1) == 15)
        #expect(layout.tile(atLeaf: 0) == TileID(layer: 0, tile: 0))
        #expect(layout.tile(atLeaf: 29) == TileID(layer: 0, tile: 29))
        #expect(layout.tile(atLeaf: 30) == TileID(layer: 1, tile: 0))
        #expect(layout.tile(atLeaf: 44) == TileID(layer: 1, tile: 14))
    }

    @Test func drawsAreDistinctSortedAndDeterministic() {
        for job in 0..<200 {
            let tiles = layout.sampleTiles(count: 7, secret: digest(1), job: digest(job), traceRoot: digest(-1))
            #expect(tiles.count == 7 && Set(tiles).count == 7 && tiles == tiles.sorted())
            #expect(tiles == layout.sampleTiles(count: 7, secret: digest(1), job: digest(job), traceRoot: digest(-1)))
        }
        let all = (0..<45).map(layout.tile(atLeaf:))
        #expect(layout.sampleTiles(count: 45, secret: digest(1), job: digest(0), traceRoot: digest(0)) == all)
        #expect(layout.sampleTiles(count: 1_000, secret: digest(1), job: digest(0), traceRoot: digest(0)) == all)
        #expect(layout.sampleTiles(count: 0, secret: digest(1), job: digest(0), traceRoot: digest(0)).isEmpty)
    }

    /// 3,000 results, 5 tiles each: every one of the 45 tiles is drawn 333 times on average; a fixed secret makes
    /// the counts reproducible, and a bound of +-25% (about 4.8 standard deviations) is loose enough for any
    /// fair sampler and far too tight for one that favoured a layer or a position.
    @Test func everyTileIsAboutEquallyLikely() {
        var counts = [TileID: Int]()
        for job in 0..<3_000 {
            for tile in layout.sampleTiles(count: 5, secret: digest(7), job: digest(job), traceRoot: digest(job + 1)) {
                counts[tile, default: 0] += 1
            }
        }
        #expect(counts.count == 45)
        #expect(counts.values.allSatisfy { (250...417).contains($0) }, "\(counts.values.sorted())")
    }

    /// Another validator's secret, or another trace root, gives other tiles (a provider cannot pick a root that
    /// keeps a validator's sample the same without knowing its secret).
    @Test func theSecretAndTheTraceRootSteerTheDraw() {
        let jobs = (0..<50).map(digest)
        let mine = jobs.map { layout.sampleTiles(count: 3, secret: digest(1), job: $0, traceRoot: digest(0)) }
        let theirs = jobs.map { layout.sampleTiles(count: 3, secret: digest(2), job: $0, traceRoot: digest(0)) }
        let otherRoot = jobs.map { layout.sampleTiles(count: 3, secret: digest(1), job: $0, traceRoot: digest(9)) }
        #expect(zip(mine, theirs).filter { $0 == $1 }.count < 5)
        #expect(zip(mine, otherRoot).filter { $0 == $1 }.count < 5)
    }

    @Test func unbiasedDrawsBelowABound() {
        var draws = KeyedDraws(secret: digest(3), job: digest(4), traceRoot: digest(5))
        var counts = [Int](repeating: 0, count: 3)
        for _ in 0..<3_000 { counts[Int(draws.below(3))] += 1 }
        #expect(counts.allSatisfy { (900...1_100).contains($0) }, "\(counts)")
        #expect((0..<100).allSatisfy { _ in draws.below(1) == 0 })
    }

    @Test func forgingATileThatDoesNotExistOrIsEmptyIsRefused() throws {
        var random = SeededGenerator(seed: 22)
        let input = try random.tensor(.int8, [5, 4])
        let trace = try layout.execute(input: input)
        #expect(throws: KernelError.invalidTile("tile 15 of layer 1 does not exist; the layer has 15 tile(s)")) {
            try trace.corrupting([TileID(layer: 1, tile: 15)])
        }
        #expect(try trace.corrupting([]).root == trace.root)
    }

    /// The input's spec is read from the first bytes of its canonical encoding; a malformed header is refused.
    @Test func tensorSpecFromTheCanonicalHeader() throws {
        let tensor = try Tensor(int8: [1, 2, 3, 4, 5, 6], shape: [2, 3])
        let bytes = tensor.canonicalBytes
        #expect(try TensorSpec(canonicalHeader: bytes) == tensor.spec)
        #expect(try TensorSpec(canonicalHeader: Array(bytes.prefix(tensor.spec.canonicalHeaderLength))) == tensor.spec)
        #expect(throws: KernelError.self) { try TensorSpec(canonicalHeader: Array(bytes.prefix(3))) }
        var wrongLength = bytes
        wrongLength[tensor.spec.canonicalHeaderLength - 1] = 5
        #expect(throws: KernelError.invalidTensor("shape [2, 3] of int8 needs 6 bytes, the header says 5")) {
            try TensorSpec(canonicalHeader: wrongLength)
        }
    }
}
