/// How one layer's output is cut into tiles (docs/kernels.md, "Tiles and traces"). Every tile is one contiguous
/// byte range of the layer's output in C order, the tiles follow each other in index order and cover the output
/// exactly once; an empty output is one empty tile. What a tile reads depends on the layer's kind as well
/// (`TracedPlan.reads`).
enum LayerTiling: Sendable {
    case matrix(MatrixTiling)
    case conv(ConvTiling)
    /// qnn/1's layers without weights: runs of consecutive output elements.
    case elements(ElementTiling)

    var tileCount: Int {
        switch self {
        case let .matrix(tiling): tiling.tileCount
        case let .conv(tiling): tiling.tileCount
        case let .elements(tiling): tiling.tileCount
        }
    }

    /// The tile's bytes within the layer's output data.
    func outputRange(_ tile: Int) -> Range<Int> {
        switch self {
        case let .matrix(tiling): tiling.outputRange(tile)
        case let .conv(tiling): tiling.outputRange(tile)
        case let .elements(tiling): tiling.outputRange(tile)
        }
    }

    func workUnits(_ tile: Int) -> UInt64 {
        switch self {
        case let .matrix(tiling): tiling.workUnits(tile)
        case let .conv(tiling): tiling.workUnits(tile)
        case let .elements(tiling): tiling.workUnits(tile)
        }
    }
}

/// Tiles of a matrix layer Y [M, N] = f(X [M, K], weights [K, N]) (gemm-i8/1, each layer of mlp-q8/1). One output
/// element costs K work units. Rows are cut into blocks of whole rows when a row fits the budget (K x N <= T), else
/// every row is cut into blocks of floor(T / K) columns, one row per tile; either way a tile is contiguous in C order.
struct MatrixTiling: Sendable {
    let m: Int, k: Int, n: Int
    /// Bytes per output element (4 for int32, 1 for int8); inputs are 8-bit.
    let outputElementBytes: Int
    let rowsPerTile: Int, columnsPerTile: Int
    let rowBlocks: Int, columnBlocks: Int

    init(m: Int, k: Int, n: Int, outputElementBytes: Int, maxTileWorkUnits budget: UInt64) throws(KernelError) {
        (self.m, self.k, self.n, self.outputElementBytes) = (m, k, n, outputElementBytes)
        let rowCost = UInt64(k) * UInt64(n)
        if m == 0 || n == 0 || k == 0 {
            (rowsPerTile, columnsPerTile) = (max(1, m), max(1, n))
        } else if rowCost <= budget {
            (rowsPerTile, columnsPerTile) = (Int(min(UInt64(m), budget / rowCost)), n)
        } else if UInt64(k) <= budget {
            (rowsPerTile, columnsPerTile) = (1, Int(budget / UInt64(k)))
        } else {
            throw .limitExceeded(what: "work units of one output element (K)", value: UInt64(k), limit: budget)
        }
        rowBlocks = max(1, ceilingDivide(m, rowsPerTile))
        columnBlocks = max(1, ceilingDivide(n, columnsPerTile))
    }

    var tileCount: Int { rowBlocks * columnBlocks }

    /// Tiles run row block by row block, column blocks in order within each.
    func region(_ tile: Int) -> (rows: Range<Int>, columns: Range<Int>) {
        let (rowBlock, columnBlock) = tile.quotientAndRemainder(dividingBy: columnBlocks)
        let rows = min(m, rowBlock * rowsPerTile)..<min(m, (rowBlock + 1) * rowsPerTile)
        let columns = min(n, columnBlock * columnsPerTile)..<min(n, (columnBlock + 1) * columnsPerTile)
        return (rows, columns)
    }

    func outputRange(_ tile: Int) -> Range<Int> {
        let (rows, columns) = region(tile)
        let start = (rows.lowerBound * n + columns.lowerBound) * outputElementBytes
        return start..<start + rows.count * columns.count * outputElementBytes
    }

    /// The tile's input rows, whole (an empty tile reads nothing).
    func inputRange(_ tile: Int) -> Range<Int> {
        let (rows, columns) = region(tile)
        return columns.isEmpty ? 0..<0 : rows.lowerBound * k..<rows.upperBound * k
    }

    func workUnits(_ tile: Int) -> UInt64 {
        let (rows, columns) = region(tile)
        return UInt64(rows.count) * UInt64(columns.count) * UInt64(k)
    }
}

/// Tiles of a convolution's output [N, M, OH, OW]: per image and group, blocks of filters times blocks of output
/// rows, all OW columns. One output row of one filter costs OW x (C/group) x kH x kW work units (the row cost). Rows
/// are cut into blocks of floor(T / row cost); when a whole plane fits, several filters of the group share a tile.
/// A tile reads its group's input channels, rows of its receptive field (the halo) only.
struct ConvTiling: Sendable {
    let geometry: ConvGeometry
    /// Bytes per output element (4 for conv2d-i8/1's int32, 1 for a qnn/1 conv's requantized 8 bits).
    let outputElementBytes: Int
    let filtersPerTile: Int, rowsPerTile: Int
    let filterBlocks: Int, rowBlocks: Int

    init(_ g: ConvGeometry, outputElementBytes: Int, maxTileWorkUnits budget: UInt64) throws(KernelError) {
        (geometry, self.outputElementBytes) = (g, outputElementBytes)
        let rowCost = UInt64(g.outWidth) * UInt64(g.patchLength)
        if g.batch == 0 || g.filters == 0 || rowCost == 0 {
            (filtersPerTile, rowsPerTile) = (max(1, g.filtersPerGroup), g.outHeight)
        } else if rowCost <= budget {
            rowsPerTile = Int(min(UInt64(g.outHeight), budget / rowCost))
            let planeCost = rowCost * UInt64(g.outHeight)
            filtersPerTile = rowsPerTile == g.outHeight ? Int(min(UInt64(g.filtersPerGroup), budget / planeCost)) : 1
        } else {
            throw .limitExceeded(what: "work units of one output row of one filter", value: rowCost, limit: budget)
        }
        filterBlocks = max(1, ceilingDivide(g.filtersPerGroup, filtersPerTile))
        rowBlocks = max(1, ceilingDivide(g.outHeight, rowsPerTile))
    }

    private var isEmpty: Bool { geometry.batch == 0 || geometry.filters == 0 }

    var tileCount: Int { isEmpty ? 1 : geometry.batch * geometry.group * filterBlocks * rowBlocks }

    /// Tiles run image by image, group by group, filter block by filter block, row block by row block.
    func region(_ tile: Int) -> (image: Int, group: Int, filters: Range<Int>, rows: Range<Int>) {
        guard !isEmpty else { return (0, 0, 0..<0, 0..<0) }
        let g = geometry
        let (rest, rowBlock) = tile.quotientAndRemainder(dividingBy: rowBlocks)
        let (imageGroup, filterBlock) = rest.quotientAndRemainder(dividingBy: filterBlocks)
        let (image, group) = imageGroup.quotientAndRemainder(dividingBy: g.group)
        let first = group * g.filtersPerGroup
        let filters = first + filterBlock * filtersPerTile..<first + min(g.filtersPerGroup, (filterBlock + 1) * filtersPerTile)
        let rows = rowBlock * rowsPerTile..<min(g.outHeight, (rowBlock + 1) * rowsPerTile)
        return (image, group, filters, rows)
    }

    /// Contiguous: a tile holds one filter's rows, or whole planes of consecutive filters.
    func outputRange(_ tile: Int) -> Range<Int> {
        let g = geometry
        let (image, _, filters, rows) = region(tile)
        let start = ((image * g.filters + filters.lowerBound) * g.outHeight + rows.lowerBound) * g.outWidth * outputElementBytes
        return start..<start + filters.count * rows.count * g.outWidth * outputElementBytes
    }

    /// The input rows the tile's output rows reach (iy = oy x stride - pad_top + ky x dilation), clipped to the
    /// input: empty when the receptive field lies wholly in the padding.
    func inputRows(_ tile: Int) -> Range<Int> {
        let g = geometry
        let rows = region(tile).rows
        guard !rows.isEmpty else { return 0..<0 }
        let first = rows.lowerBound * g.strideHeight - g.padTop
        let last = (rows.upperBound - 1) * g.strideHeight - g.padTop + (g.kernelHeight - 1) * g.dilationHeight
        let (lower, upper) = (max(0, first), min(g.height, last + 1))
        return lower < upper ? lower..<upper : 0..<0
    }

    /// Per input channel of the tile's group, its rows `inputRows` (all W columns); merged where adjacent.
    func inputRanges(_ tile: Int) -> [Range<Int>] {
        let g = geometry
        let (image, group, filters, _) = region(tile)
        let rows = inputRows(tile)
        guard !filters.isEmpty, !rows.isEmpty else { return [] }
        var ranges: [Range<Int>] = []
        for channel in group * g.channelsPerGroup..<(group + 1) * g.channelsPerGroup {
            let start = ((image * g.channels + channel) * g.height + rows.lowerBound) * g.width
            let range = start..<start + rows.count * g.width
            if let last = ranges.last, last.upperBound == range.lowerBound {
                ranges[ranges.count - 1] = last.lowerBound..<range.upperBound
            } else {
                ranges.append(range)
            }
        }
        return ranges
    }

    func workUnits(_ tile: Int) -> UInt64 {
        let (_, _, filters, rows) = region(tile)
        return UInt64(filters.count) * UInt64(rows.count) * UInt64(geometry.outWidth) * UInt64(geometry.patchLength)
    }
}

/// Tiles of a qnn/1 layer without weights (add, pools, data movement): runs of at most floor(T / e) consecutive
/// output elements, where e is the work units of one output element (1, a pooling window's size, or a global
/// average pool's plane). What a run reads is the layer kind's rule (`QNNPlan.elementReads`).
struct ElementTiling: Sendable {
    let count: Int
    let elementWorkUnits: UInt64
    let elementsPerTile: Int

    init(count: Int, elementWorkUnits: UInt64, maxTileWorkUnits budget: UInt64) throws(KernelError) {
        guard elementWorkUnits <= budget else {
            throw .limitExceeded(what: "work units of one output element", value: elementWorkUnits, limit: budget)
        }
        (self.count, self.elementWorkUnits) = (count, elementWorkUnits)
        elementsPerTile = Int(min(UInt64(max(1, count)), budget / max(1, elementWorkUnits)))
    }

    var tileCount: Int { max(1, ceilingDivide(count, elementsPerTile)) }

    /// Elements are bytes: the activations are 8-bit.
    func outputRange(_ tile: Int) -> Range<Int> { min(count, tile * elementsPerTile)..<min(count, (tile + 1) * elementsPerTile) }

    func workUnits(_ tile: Int) -> UInt64 { UInt64(outputRange(tile).count) * elementWorkUnits }
}

/// Copies columns `range` of a row-major 8-bit matrix [rows, columns] (the whole matrix is returned as is).
enum ColumnBlock {
    static func extract(_ matrix: [UInt8], rows: Int, columns: Int, range: Range<Int>) -> [UInt8] {
        guard range != 0..<columns else { return matrix }
        var block: [UInt8] = []
        block.reserveCapacity(rows * range.count)
        for row in 0..<rows {
            block.append(contentsOf: matrix[row * columns + range.lowerBound..<row * columns + range.upperBound])
        }
        return block
    }
}

func ceilingDivide(_ numerator: Int, _ denominator: Int) -> Int { (numerator + denominator - 1) / denominator }
