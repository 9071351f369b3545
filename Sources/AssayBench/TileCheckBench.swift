import AssayKernels

/// What a spot check costs against a full replay, on issue 11's acceptance job (`DisputeBench.makeJob`: mlp-q8/1,
/// batch 8192, six layers of width 2048, 2.06 x 10^11 work units), tiles of at most `TraceLayout.defaultMaxTileWorkUnits`. The full replay
/// is `Kernels.execute` on 2 threads (best of 2); a tile check is `checkTile` on 1 thread (the replay worker's), the
/// median over 16 tiles spread over all layers, its inputs already in memory (the Range reads are not timed).
enum TileCheckBench {
    static func run() throws {
        let (model, input) = try DisputeBench.makeJob()
        let limits = KernelLimits.forJob(maxWorkUnits: .max)
        let layout = try TraceLayout(.mlpQ8, model: model, input: input.spec, limits: limits)
        let trace = try layout.execute(input: input, threads: 2)
        var replay = Double.infinity
        for _ in 0..<2 {
            let begin = Measure.now()
            _ = try Kernels.execute(.mlpQ8, model: model, input: input, limits: limits, threads: 2)
            replay = min(replay, Measure.now() - begin)
        }
        let bytes = trace.blobBytes
        var times: [Double] = []
        var tileWork: UInt64 = 0
        for leaf in stride(from: 0, to: layout.totalTileCount, by: layout.totalTileCount / 16).prefix(16) {
            let tile = layout.tile(atLeaf: leaf)
            let reads = try layout.tileInputs(layer: tile.layer, tile: tile.tile)
            let inputs = reads.pieces.flatMap { piece in
                (piece.source == .jobInput ? input.canonicalBytes : bytes)[Int(piece.range.lowerBound)..<Int(piece.range.upperBound)]
            }
            let begin = Measure.now()
            let check = try layout.checkTile(
                layer: tile.layer, tile: tile.tile, inputs: inputs, committedTileHash: trace.tileHashes[leaf])
            times.append(Measure.now() - begin)
            precondition(check.matches, "an honest trace's tile checks")
            tileWork = max(tileWork, check.workUnits)
        }
        let tileSeconds = times.sorted()[times.count / 2]
        print("tile check vs full replay, mlp-q8/1 \(DisputeBench.batch)x\(DisputeBench.width) x \(DisputeBench.layers) layers "
            + "(\(trace.output.workUnits) work units, \(layout.totalTileCount) tiles of <= \(tileWork)): "
            + "full replay \(Measure.format(replay, digits: 2)) s (2t), one tile \(Measure.format(tileSeconds * 1e3, digits: 2)) ms (1t), "
            + "ratio \(Measure.format(tileSeconds / replay * 100, digits: 4))% per tile, "
            + "k = 16: \(Measure.format(16 * tileSeconds / replay * 100, digits: 3))% of the replay's time")
    }
}
