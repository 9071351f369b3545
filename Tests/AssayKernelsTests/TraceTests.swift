import AssayBlobs
import AssayCodec
import AssayCrypto
import Testing
@testable import AssayKernels

/// Tiles, traces and tile checks on random shapes of every kernel, with budgets from the smallest the tiling
/// accepts to more than the whole job, so that row blocks, column blocks, filter blocks and single tiles all occur.
@Suite struct TraceTests {
    @Test func gemmRandomShapes() throws {
        var random = SeededGenerator(seed: 11)
        for _ in 0..<12 {
            let (m, k, n) = (Int.random(in: 1...9, using: &random), Int.random(in: 1...40, using: &random), Int.random(in: 1...30, using: &random))
            let aType: DType = Bool.random(using: &random) ? .int8 : .uint8
            let bType: DType = Bool.random(using: &random) ? .int8 : .uint8
            let model = try Model(arrays: [
                ("b", try random.tensor(bType, [k, n])), ("a_zero_point", try random.zeroPoint(aType)),
                ("b_zero_point", try random.zeroPoint(bType)),
            ])
            let budget = random.budget(minimum: UInt64(k), total: UInt64(m * n * k))
            try TraceProperties(.gemmI8, model, try random.tensor(aType, [m, k]), budget: budget).checkAll(using: &random)
        }
    }

    @Test func convRandomGeometry() throws {
        var random = SeededGenerator(seed: 12)
        for _ in 0..<12 {
            let group = [1, 1, 2, 3].randomElement(using: &random)!
            let channels = group * Int.random(in: 1...3, using: &random)
            let filters = group * Int.random(in: 1...3, using: &random)
            let (kh, kw) = (Int.random(in: 1...3, using: &random), Int.random(in: 1...3, using: &random))
            let dilations = [Int32.random(in: 1...2, using: &random), Int32.random(in: 1...2, using: &random)]
            let pads = (0..<4).map { _ in Int32.random(in: 0...3, using: &random) }
            let strides = [Int32.random(in: 1...3, using: &random), Int32.random(in: 1...3, using: &random)]
            let height = (kh - 1) * Int(dilations[0]) + 1 + Int.random(in: 0...9, using: &random)
            let width = (kw - 1) * Int(dilations[1]) + 1 + Int.random(in: 0...6, using: &random)
            let xType: DType = Bool.random(using: &random) ? .int8 : .uint8
            let wType: DType = Bool.random(using: &random) ? .int8 : .uint8
            let model = try Model(arrays: [
                ("w", try random.tensor(wType, [filters, channels / group, kh, kw])),
                ("x_zero_point", try random.zeroPoint(xType)), ("w_zero_point", try random.zeroPoint(wType)),
                ("pads", try Tensor(int32: pads, shape: [4])), ("strides", try Tensor(int32: strides, shape: [2])),
                ("dilations", try Tensor(int32: dilations, shape: [2])), ("group", try Tensor(int32: [Int32(group)], shape: [])),
            ])
            let input = try random.tensor(xType, [Int.random(in: 1...2, using: &random), channels, height, width])
            let layout = try TraceLayout(.conv2dI8, model: model, input: input.spec, limits: .default, maxTileWorkUnits: .max)
            let plan = try #require(layout.convPlan)
            let rowCost = UInt64(plan.geometry.outWidth * plan.geometry.patchLength)
            let budget = random.budget(minimum: rowCost, total: layout.totalWork)
            try TraceProperties(.conv2dI8, model, input, budget: budget).checkAll(using: &random)
        }
    }

    @Test func mlpRandomLayers() throws {
        var random = SeededGenerator(seed: 13)
        for _ in 0..<10 {
            let widths = (0...Int.random(in: 1...4, using: &random)).map { _ in Int.random(in: 1...24, using: &random) }
            let batch = Int.random(in: 1...9, using: &random)
            let model = try MLPModels.random(widths: widths, using: &random)
            let total = zip(widths, widths.dropFirst()).reduce(0) { $0 + batch * $1.0 * $1.1 }
            let budget = random.budget(minimum: UInt64(widths.dropLast().max()!), total: UInt64(total))
            try TraceProperties(.mlpQ8, model, try random.tensor(.int8, [batch, widths[0]]), budget: budget).checkAll(using: &random)
        }
    }

    /// Random qnn/1 graphs of every layer kind (`QNNGraphGenerator`), one trace layer per node, with nodes that
    /// read several tensors (add, concat), the job input among them.
    @Test func qnnRandomGraphs() throws {
        var random = SeededGenerator(seed: 16)
        var kinds = Set<UInt8>()
        for seed in UInt64(0)..<60 {
            var generator = try QNNGraphGenerator(seed: 9000 + seed)
            let (model, input, ops) = try generator.make()
            kinds.formUnion(ops)
            let layout = try TraceLayout(.qnn, model: model, input: input.spec, limits: .default, maxTileWorkUnits: .max)
            #expect(layout.layerCount == ops.count)
            let budget = random.budget(minimum: layout.smallestTileBudget, total: layout.totalWork)
            try TraceProperties(.qnn, model, input, budget: budget).checkAll(using: &random)
        }
        #expect(kinds == Set(0...9), "every layer kind was traced")
    }

    /// A concat of the job input with a node's output: its tiles read the job input blob and the trace blob, each
    /// run of elements from the rows of its block only.
    @Test func qnnConcatReadsTheJobInputAndTheTrace() throws {
        var random = SeededGenerator(seed: 17)
        var graph = try QNNGraphBuilder(dtype: .int8, inputShape: [3, 4], inputZeroPoint: 0)
        let reshaped = try graph.node(6, [0], shape: [3, 4], zeroPoint: 0, [("shape", try int32s([0, -1]))])
        try graph.node(9, [0, reshaped], shape: [3, 8], zeroPoint: 0, [("axis", try int32Scalar(1))])
        let input = try random.tensor(.int8, [3, 4])
        // One output element per unit: 12 + 24 work units, tiles of 4 elements.
        let properties = try TraceProperties(.qnn, try graph.model(), input, budget: 4)
        let layout = properties.layout
        #expect(try layout.tileCount(layer: 1) == 6)
        let header = UInt64(input.spec.canonicalHeaderLength)
        // Tile 3 is row 1's second half: elements 4..<8 of layer 0's output, which starts the trace blob.
        #expect(try layout.tileInputs(layer: 1, tile: 3) == TileInputs(pieces: [.init(source: .trace, range: 4..<8)]))
        // Tile 2 is row 1's first half: elements 4..<8 of the job input.
        #expect(try layout.tileInputs(layer: 1, tile: 2) == TileInputs(pieces: [.init(source: .jobInput, range: header + 4..<header + 8)]))
        try properties.checkAll(using: &random)
    }

    /// A pooling run reads whole input rows from its first window's top to its last window's bottom.
    @Test func qnnPoolTilesReadTheirWindowsRows() throws {
        var random = SeededGenerator(seed: 18)
        var graph = try QNNGraphBuilder(dtype: .uint8, inputShape: [1, 2, 6, 5], inputZeroPoint: 7)
        // 2 x 2 windows, stride 2, no padding: output [1, 2, 3, 2], 4 work units an element.
        try graph.node(3, [0], shape: [1, 2, 3, 2], zeroPoint: 7, [("kernel", try int32s([2, 2])), ("strides", try int32s([2, 2]))])
        let input = try random.tensor(.uint8, [1, 2, 6, 5])
        let properties = try TraceProperties(.qnn, try graph.model(), input, budget: 8)
        let layout = properties.layout
        #expect(try layout.tileCount(layer: 0) == 6)
        let header = UInt64(input.spec.canonicalHeaderLength)
        // Tile 5 is plane 1's output row 2: input rows 4 and 5 of plane 1.
        #expect(try layout.tileInputs(layer: 0, tile: 5).pieces.map(\.range) == [header + 30 + 20..<header + 60])
        try properties.checkAll(using: &random)
    }

    /// A row too wide for the budget is cut into column blocks; checked on shapes alone (zero weights, no run).
    @Test func wideRowsSplitIntoColumnBlocks() throws {
        let (m, k, n) = (3, 8192, 8192)
        let model = try Model(arrays: [("b", try Tensor(int8: [Int8](repeating: 0, count: k * n), shape: [UInt64(k), UInt64(n)]))])
        let layout = try TraceLayout(.gemmI8, model: model, input: TensorSpec(dtype: .int8, shape: [UInt64(m), UInt64(k)]),
                                     limits: .default, maxTileWorkUnits: 1_000_000)
        // floor(10^6 / 8192) = 122 columns per tile, 68 tiles per row.
        #expect(try layout.tileCount(layer: 0) == m * 68)
        #expect(try layout.tileRange(layer: 0, tile: 1) == 122 * 4..<244 * 4)
        // The input blob's header: dtype tag, shape count, two u64 dimensions, a 3-byte ULEB length = 21 bytes.
        #expect(layout.input.canonicalHeaderLength == 21)
        #expect(try layout.tileInputs(layer: 0, tile: 68) == TileInputs(pieces: [.init(source: .jobInput, range: 8192 + 21..<16384 + 21)]))
        var total: UInt64 = 0
        for tile in 0..<m * 68 {
            let work = try layout.tileWorkUnits(layer: 0, tile: tile)
            #expect(work <= 1_000_000)
            total += work
        }
        #expect(total == UInt64(m * k * n))
    }

    /// With 3 rows of top and bottom padding and a 1-row kernel, the first and last 3 output rows see only padding:
    /// their tiles read nothing and are zeros; the others read exactly their own input row of every channel.
    @Test func convTilesInThePaddingReadNothing() throws {
        var random = SeededGenerator(seed: 15)
        let model = try Model(arrays: [
            ("w", try random.tensor(.int8, [2, 2, 1, 3])), ("pads", try Tensor(int32: [3, 1, 3, 1], shape: [4])),
        ])
        let input = try random.tensor(.int8, [1, 2, 4, 5])
        // Row cost OW x C x kH x kW = 5 x 2 x 1 x 3 = 30: one output row of one filter per tile, 2 x 10 tiles.
        let properties = try TraceProperties(.conv2dI8, model, input, budget: 30)
        let layout = properties.layout
        #expect(try layout.tileCount(layer: 0) == 20)
        #expect(try layout.tileInputs(layer: 0, tile: 2).pieces.isEmpty)
        #expect(try layout.recomputeTile(layer: 0, tile: 2, inputs: []) == [UInt8](repeating: 0, count: 20))
        let header = UInt64(input.spec.canonicalHeaderLength)
        // Output row 4 reads input row 1 of channels 0 and 1.
        #expect(try layout.tileInputs(layer: 0, tile: 4).pieces.map(\.range) == [header + 5..<header + 10, header + 25..<header + 30])
        try properties.checkAll(using: &random)
    }

    @Test func refusesTilesThatDoNotExistAndInputsOfTheWrongLength() throws {
        var random = SeededGenerator(seed: 14)
        let model = try MLPModels.random(widths: [4, 6, 3], using: &random)
        let input = try random.tensor(.int8, [5, 4])
        let layout = try TraceLayout(.mlpQ8, model: model, input: input.spec, limits: .default, maxTileWorkUnits: 24)
        let trace = try layout.execute(input: input)
        #expect(throws: KernelError.invalidTile("layer 2 does not exist; the job has 2 layer(s)")) {
            try layout.tileRange(layer: 2, tile: 0)
        }
        let tiles = try layout.tileCount(layer: 1)
        #expect(throws: KernelError.invalidTile("tile \(tiles) of layer 1 does not exist; the layer has \(tiles) tile(s)")) {
            try layout.checkTile(layer: 1, tile: tiles, inputs: [], committedTileHash: .zero)
        }
        #expect(throws: KernelError.invalidTile("tile 0 of layer 1 reads 6 input bytes, given 5")) {
            try layout.checkTile(layer: 1, tile: 0, inputs: [1, 2, 3, 4, 5], committedTileHash: trace.tileHashes[0])
        }
        #expect(throws: KernelError.invalidTile("a trace of this job has \(layout.traceLength) bytes, not 1")) {
            try layout.traceRoot(ofTrace: [0])
        }
        #expect(throws: KernelError.invalidAttribute("max_tile_work_units must be >= 1")) {
            try TraceLayout(.mlpQ8, model: model, input: input.spec, limits: .default, maxTileWorkUnits: 0)
        }
        #expect(throws: KernelError.limitExceeded(what: "work units of one output element (K)", value: 6, limit: 5)) {
            try TraceLayout(.mlpQ8, model: model, input: input.spec, limits: .default, maxTileWorkUnits: 5)
        }
        #expect(throws: KernelError.invalidTensor("the input is int8 [5, 4]; the layout is for int8 [5, 3]")) {
            try TraceLayout(.gemmI8, model: try Model(arrays: [("b", try random.tensor(.int8, [3, 2]))]),
                            input: TensorSpec(dtype: .int8, shape: [5, 3]), limits: .default).execute(input: input)
        }
    }

    /// The vector of docs/kernels.md: gemm-i8/1, A = [[1, 2], [3, 4]] int8, b = identity int8, two tiles of one row.
    @Test func documentedVector() throws {
        let model = try Model(arrays: [("b", try Tensor(int8: [1, 0, 0, 1], shape: [2, 2]))])
        let input = try Tensor(int8: [1, 2, 3, 4], shape: [2, 2])
        let trace = try Kernels.executeTraced(.gemmI8, model: model, input: input, limits: .default, maxTileWorkUnits: 4)
        #expect(trace.blobBytes == [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0])
        #expect(trace.tileHashes.count == 2)
        #expect(trace.tileHashes[0] == SHA256.hash(Array("assay/trace-tile/1".utf8) + [UInt8](repeating: 0, count: 16) + [1, 0, 0, 0, 2, 0, 0, 0]))
        #expect(trace.tileHashes[0].description == "b10213c127ad818fddb7bd38f3fd3d393292ae093371b8b46e9ce05051065e14")
        #expect(trace.tileHashes[1].description == "7dd5580b85d84a2504e6815e9aa321b6f91fa40880b4773ffacb05cd84ca5fe9")
        #expect(trace.root.description == "00704b09f43d8ace4ef929f0c509270cd445a604ff4247b3ddd16abf95f3fd53")
        #expect(trace.root == SHA256.hash(tag: 0x01, trace.tileHashes[0], trace.tileHashes[1]))
        #expect(input.spec.canonicalHeaderLength == input.canonicalBytes.count - input.data.count)
    }
}

/// The properties of one traced job under one budget.
struct TraceProperties {
    let kernel: KernelID
    let model: Model
    let input: Tensor
    let layout: TraceLayout
    let trace: Trace

    init(_ kernel: KernelID, _ model: Model, _ input: Tensor, budget: UInt64) throws {
        (self.kernel, self.model, self.input) = (kernel, model, input)
        layout = try TraceLayout(kernel, model: model, input: input.spec, limits: .default, maxTileWorkUnits: budget)
        trace = try layout.execute(input: input, threads: 2)
    }

    func checkAll(using random: inout SeededGenerator) throws {
        try tilesCoverEachLayerOnceWithinBudget()
        try finalLayerIsTheOutput()
        try everyTileChecks(against: trace.blobBytes)
        #expect(try layout.traceRoot(ofTrace: trace.blobBytes) == trace.root)
        try corruptedTileAloneFails(using: &random)
    }

    /// Consecutive tiles follow each other from the layer's first byte to its last; their work sums to the job's.
    func tilesCoverEachLayerOnceWithinBudget() throws {
        var work: UInt64 = 0
        for layer in 0..<layout.layerCount {
            var next = try layout.layerRange(layer).lowerBound
            for tile in 0..<(try layout.tileCount(layer: layer)) {
                let range = try layout.tileRange(layer: layer, tile: tile)
                #expect(range.lowerBound == next, "\(kernel) layer \(layer) tile \(tile)")
                next = range.upperBound
                let units = try layout.tileWorkUnits(layer: layer, tile: tile)
                #expect(units <= layout.maxTileWorkUnits)
                work += units
            }
            #expect(next == (try layout.layerRange(layer).upperBound))
        }
        #expect(work == (try Kernels.cost(kernel, model: model, input: input, limits: .default)))
        #expect(trace.tileHashes.count == layout.totalTileCount)
        #expect(UInt64(trace.blobBytes.count) == layout.traceLength)
    }

    func finalLayerIsTheOutput() throws {
        let expected = try Kernels.executeReference(kernel, model: model, input: input, limits: .default)
        #expect(trace.output == expected)
        let last = try layout.layerRange(layout.layerCount - 1)
        #expect(Array(trace.blobBytes[Int(last.lowerBound)..<Int(last.upperBound)]) == expected.output.data)
    }

    /// Every tile recomputed from only the bytes its check reads matches its hash in `traceBytes`; returns the
    /// (layer, tile) pairs that fail.
    @discardableResult
    func everyTileChecks(against traceBytes: [UInt8], failing expectedFailures: Set<[Int]> = []) throws -> Set<[Int]> {
        var failures: Set<[Int]> = []
        for layer in 0..<layout.layerCount {
            for tile in 0..<(try layout.tileCount(layer: layer)) {
                let check = try layout.checkTile(
                    layer: layer, tile: tile, inputs: try inputs(layer: layer, tile: tile, trace: traceBytes),
                    committedTileHash: try committedHash(layer: layer, tile: tile, trace: traceBytes))
                #expect(check.workUnits == (try layout.tileWorkUnits(layer: layer, tile: tile)))
                if !check.matches { failures.insert([layer, tile]) }
            }
        }
        #expect(failures == expectedFailures, "\(kernel) budget \(layout.maxTileWorkUnits)")
        return failures
    }

    /// A cheater corrupts one tile, then recomputes every later layer from the corrupted trace so that all else
    /// is consistent (`Trace.corrupting`): only that tile fails its check, and the forged trace's root and output
    /// are those of its bytes.
    func corruptedTileAloneFails(using random: inout SeededGenerator) throws {
        var candidates: [TileID] = []
        for layer in 0..<layout.layerCount {
            for tile in 0..<(try layout.tileCount(layer: layer)) where !(try layout.tileRange(layer: layer, tile: tile)).isEmpty {
                candidates.append(TileID(layer: layer, tile: tile))
            }
        }
        guard let target = candidates.randomElement(using: &random) else { return }
        let forged = try trace.corrupting([target], threads: 2)
        try everyTileChecks(against: forged.blobBytes, failing: [[target.layer, target.tile]])
        #expect(try layout.traceRoot(ofTrace: forged.blobBytes) == forged.root)
        let last = try layout.layerRange(layout.layerCount - 1)
        #expect(Array(forged.blobBytes[Int(last.lowerBound)..<Int(last.upperBound)]) == forged.output.output.data)
        #expect(forged.output.output.data != trace.output.output.data || target.layer < layout.layerCount - 1)
    }

    func inputs(layer: Int, tile: Int, trace traceBytes: [UInt8]) throws -> [UInt8] {
        try layout.tileInputs(layer: layer, tile: tile).pieces.flatMap { piece in
            (piece.source == .jobInput ? input.canonicalBytes : traceBytes)[Int(piece.range.lowerBound)..<Int(piece.range.upperBound)]
        }
    }

    func committedHash(layer: Int, tile: Int, trace traceBytes: [UInt8]) throws -> Digest32 {
        let range = try layout.tileRange(layer: layer, tile: tile)
        return TraceLayout.tileHash(layer: layer, tile: tile, bytes: Array(traceBytes[Int(range.lowerBound)..<Int(range.upperBound)]))
    }
}

extension SeededGenerator {
    /// A tile budget from the smallest the tiling accepts to just over the whole job, log-uniform so that budgets
    /// of a few output elements (many tiles, column blocks) are as likely as whole-job ones.
    mutating func budget(minimum: UInt64, total: UInt64) -> UInt64 {
        let doublings = max(1, total / minimum).bitWidth - max(1, total / minimum).leadingZeroBitCount
        let budget = (minimum << UInt64.random(in: 0...UInt64(doublings), using: &self)) + UInt64.random(in: 0..<minimum, using: &self)
        return min(budget, total + 1)
    }
}

extension TraceLayout {
    var convPlan: ConvPlan? { if case let .conv(plan) = plan { plan } else { nil } }
    var totalWork: UInt64 { plan.plan.workUnits }

    /// The smallest budget every layer's tiling accepts: one output element (gemm, mlp, qnn/1 linear and layers
    /// without weights) or one output row of one filter (conv).
    var smallestTileBudget: UInt64 {
        layers.map { tiling in
            switch tiling {
            case let .matrix(matrix): UInt64(matrix.k)
            case let .conv(conv): UInt64(conv.geometry.outWidth * conv.geometry.patchLength)
            case let .elements(elements): elements.elementWorkUnits
            }
        }.reduce(1, max)
    }
}
