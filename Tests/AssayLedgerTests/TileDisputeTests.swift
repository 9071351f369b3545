import AssayBlobs
import AssayCrypto
import AssayKernels
import AssayLedger
import AssayStorage
import AssayTypes
import Testing

/// A three-layer mlp-q8/1 job (batch 4, widths 3 -> 4 -> 4 -> 2). Under the test parameters' T = 8, layers 0 and 1
/// are cut into tiles of two columns of one row (8 tiles each) and layer 2 into single rows (4 tiles).
enum MLPFixture {
    static let kernel = KernelID.mlpQ8.rawValue
    static let model = try! Model(arrays: [("input_zero_point", try! Tensor(int8: [1], shape: []))]
        + layer(0, weights: [1, -2, 3, 4, 5, -6, 7, 8, -9, 10, 11, -12], rows: 3, columns: 4, relu: true)
        + layer(1, weights: [2, -1, 0, 3, 1, 1, -2, 4, -3, 2, 5, -1, 0, 1, 2, -4], rows: 4, columns: 4, relu: true)
        + layer(2, weights: [3, -2, 1, 4, -1, 2, 2, -3], rows: 4, columns: 2, relu: false))
    static let modelBlob = BlobRef(of: model.canonicalBytes)
    static let input = try! Tensor(int8: [3, -1, 7, 0, 12, -5, -8, 4, 9, 2, -3, 6], shape: [4, 3])
    static let layout = try! TraceLayout(
        .mlpQ8, model: model, input: input.spec, limits: .default, maxTileWorkUnits: testParams().maxTileWorkUnits)
    static let honest = try! layout.execute(input: input)

    private static func layer(_ index: Int, weights: [Int8], rows: Int, columns: Int, relu: Bool) -> [(String, Tensor)] {
        [("layer\(index).weight", try! Tensor(int8: weights, shape: [UInt64(rows), UInt64(columns)])),
         ("layer\(index).bias", try! Tensor(int32: (0..<columns).map { Int32($0 * 5 - 4) }, shape: [UInt64(columns)])),
         ("layer\(index).multiplier", try! Tensor(int32: [1 << 30], shape: [])),
         ("layer\(index).shift", try! Tensor(int32: [1], shape: [])),
         ("layer\(index).output_zero_point", try! Tensor(int8: [-2], shape: [])),
         ("layer\(index).relu", try! Tensor(uint8: [relu ? 1 : 0], shape: []))]
    }

    /// The honest trace with tile `tile` of layer `layer` corrupted and every later layer recomputed from it, so
    /// that only that tile is wrong given its inputs: the trace a careful cheater posts.
    static func traceCorrupting(layer: Int, tile: Int) throws -> [UInt8] {
        try honest.corrupting([TileID(layer: layer, tile: tile)]).blobBytes
    }

    /// The output blob whose elements are the trace's last layer.
    static func output(ofTrace trace: [UInt8]) throws -> [UInt8] {
        layout.output.canonicalHeader + trace[Int.range(try layout.layerRange(layout.layerCount - 1))]
    }
}

extension Int {
    static func range(_ range: Range<UInt64>) -> Range<Int> { Int(range.lowerBound)..<Int(range.upperBound) }
}

/// Disputes over one tile of a multi-layer job: whichever tile a challenge names, the ledger recomputes exactly
/// that tile from the trace and decides from it alone.
@Suite struct TileDisputeTests {
    let provider = testKey(5)
    let client = testKey(6)
    let challenger = testKey(7)

    /// Blocks 1-2: stake, mlp offer, model, job (max 1,000 units at 1 each). Block 3: the result with `trace`.
    func postedJob(_ chain: Chain<InMemoryStore>, trace: [UInt8]) throws -> Hash {
        let offer = try chain.sign(provider, .offer(Offer(kernels: [MLPFixture.kernel], pricePerWorkUnit: 1, capacity: 4, expiryHeight: 100)), offset: 1)
        chain.blobs.add(MLPFixture.model.canonicalBytes)
        let inputBlob = chain.blobs.add(MLPFixture.input.canonicalBytes)
        try chain.commit([
            try chain.sign(provider, .stake(Stake(amount: 5_000))), offer,
            try chain.sign(client, .registerModel(RegisterModel(modelBlob: MLPFixture.modelBlob))),
        ])
        let job = try chain.sign(client, .job(Job(
            offerID: offer.hash, kernel: MLPFixture.kernel, modelHash: MLPFixture.modelBlob.id.digest,
            inputBlob: inputBlob, maxWorkUnits: 1_000, deadline: 10)))
        let created = try chain.commit([job])
        #expect(chain.included(created) == .ok)
        let result = JobResult(
            jobID: job.hash, outputBlob: chain.blobs.add(try MLPFixture.output(ofTrace: trace)),
            traceBlob: chain.blobs.add(trace), traceRoot: try MLPFixture.layout.traceRoot(ofTrace: trace),
            workUnits: MLPFixture.layout.workUnits)
        let posted = try chain.commit([try chain.sign(provider, .result(result))])
        #expect(chain.included(posted) == .ok)
        return job.hash
    }

    /// One block challenging `tiles` in order (the challenge window is three blocks), each with a bond of 10.
    @discardableResult
    func challenge(_ chain: Chain<InMemoryStore>, _ job: Hash, tiles: [(layer: Int, tile: Int)]) throws -> BlockOutcome {
        let outcome = try chain.commit(try tiles.enumerated().map { index, tile in
            try chain.sign(
                challenger, .challenge(Challenge(jobID: job, layer: UInt32(tile.layer), tile: UInt32(tile.tile), bond: 10)),
                offset: UInt64(index))
        })
        for (index, tile) in tiles.enumerated() {
            #expect(chain.included(outcome, index) == .ok, "challenge of tile \(tile.tile) of layer \(tile.layer)")
        }
        return outcome
    }

    func failed(_ job: Hash, layer: Int, tile: Int) throws -> LedgerEvent {
        let work = try MLPFixture.layout.tileWorkUnits(layer: layer, tile: tile)
        return .challengeFailed(
            job: job, ChallengedTile(challenger: address(challenger), layer: UInt32(layer), tile: UInt32(tile), workUnits: work),
            bondForfeited: 10)
    }

    @Test func theFixtureHasSeveralLayersAndTiles() throws {
        #expect(MLPFixture.layout.layerCount == 3)
        #expect(try (0..<3).map { try MLPFixture.layout.tileCount(layer: $0) } == [8, 8, 4])
        let corrupted = try MLPFixture.traceCorrupting(layer: 1, tile: 5)
        let tile = Int.range(try MLPFixture.layout.tileRange(layer: 1, tile: 5))
        #expect(corrupted[tile] != MLPFixture.honest.blobBytes[tile])
    }

    @Test func everyTileOfAnHonestResultStandsAndEachChallengeForfeitsItsBond() throws {
        let chain = try inMemoryChain()
        let job = try postedJob(chain, trace: MLPFixture.honest.blobBytes)
        let providerBefore = try chain.query.account(address(provider)).balance
        let tiles = try (0..<3).flatMap { layer in try (0..<MLPFixture.layout.tileCount(layer: layer)).map { (layer, $0) } }
        let outcome = try challenge(chain, job, tiles: tiles)
        for (index, tile) in tiles.enumerated() {
            #expect(outcome.results[index].events == [try failed(job, layer: tile.0, tile: tile.1)])
        }
        #expect(try chain.query.job(job)?.status.isTerminal == false)
        #expect(try chain.query.account(address(provider)).balance == providerBefore + 10 * UInt64(tiles.count))
    }

    @Test func theOneCorruptedTileIsSlashedAndTheConsistentTilesAfterItStand() throws {
        let chain = try inMemoryChain()
        let job = try postedJob(chain, trace: try MLPFixture.traceCorrupting(layer: 1, tile: 5))
        let clientBefore = try chain.query.account(address(client)).balance
        // The last layer, recomputed from the corrupted tile, and untouched tiles pass: the ledger judges a tile
        // from its inputs only. Then the corrupted tile itself.
        let standing = [(2, 0), (2, 1), (2, 2), (2, 3), (1, 4), (0, 5)]
        let outcome = try challenge(chain, job, tiles: standing + [(1, 5)])
        for (index, tile) in standing.enumerated() {
            #expect(outcome.results[index].events == [try failed(job, layer: tile.0, tile: tile.1)])
        }
        let work = try MLPFixture.layout.tileWorkUnits(layer: 1, tile: 5)
        #expect(work == 2 * 4, "two columns of one row, K = 4")
        #expect(outcome.results[standing.count].events == [
            .challengeUpheld(job: job, ChallengedTile(challenger: address(challenger), layer: 1, tile: 5, workUnits: work)),
            .slashed(account: address(provider), amount: 2_500, toChallenger: 1_250, burned: 1_250),
            .jobEnded(job: job, outcome: .slashed, reason: .wrongOutput, paid: 0, refund: 1_000, burned: 0),
        ])
        #expect(try chain.query.job(job)?.status
            == .slashed(.wrongOutput, JobSettlement(height: chain.height, refund: 1_000, slashed: 2_500)))
        #expect(try chain.query.account(address(client)).balance == clientBefore + 1_000)
        #expect(try chain.query.stake(address(provider)).bonded == 2_500)
    }

    @Test func aCorruptedFirstLayerTileIsJudgedFromTheJobInput() throws {
        let chain = try inMemoryChain()
        let job = try postedJob(chain, trace: try MLPFixture.traceCorrupting(layer: 0, tile: 0))
        try challenge(chain, job, tiles: [(0, 0)])
        #expect(try chain.query.job(job)?.status.endReason == .wrongOutput)
    }
}
