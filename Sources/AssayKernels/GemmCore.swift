import CKernels
import Dispatch

/// The integer matrix product every kernel reduces to: C[M,N] = sum over k of (A[m,k] - za) * (B[k,n] - zb),
/// with A and B 8-bit matrices and C int32 modulo 2^32. Addition modulo 2^32 is associative and commutative, so
/// every loop order, blocking and thread split gives the same bits.
enum GemmCore {
    /// The oracle: three plain loops over row-major A [M,K] and B [K,N].
    static func reference(
        a: [UInt8], _ aOperand: MatrixOperand, b: [UInt8], _ bOperand: MatrixOperand, m: Int, n: Int, k: Int
    ) -> [Int32] {
        var c = [Int32](repeating: 0, count: m * n)
        for row in 0..<m {
            for column in 0..<n {
                var sum: Int32 = 0
                for inner in 0..<k {
                    sum &+= aOperand.centred(a, row * k + inner) &* bOperand.centred(b, inner * n + column)
                }
                c[row * n + column] = sum
            }
        }
        return c
    }

    /// The fastest micro-kernel path this CPU runs (AVX-512 VNNI, AVX2 or portable C); all give the same bits.
    static let bestPath = ck_best_path()

    /// The optimised product of row-major A [M,K] and B [K,N]. Tests force each supported `path`.
    static func optimised(
        a: [UInt8], _ aOperand: MatrixOperand, b: [UInt8], _ bOperand: MatrixOperand,
        m: Int, n: Int, k: Int, threads: Int, path: ck_path = bestPath
    ) -> [Int32] {
        [Int32](unsafeUninitializedCapacity: m * n) { c, initialized in
            if let base = c.baseAddress {
                optimised(a: a, aOperand, b: b, bOperand, m: m, n: n, k: k, threads: threads, path: path, into: base)
            }
            initialized = m * n
        }
    }

    /// Writes every element of C [M,N] (zeros when K is 0).
    static func optimised(
        a: [UInt8], _ aOperand: MatrixOperand, b: [UInt8], _ bOperand: MatrixOperand,
        m: Int, n: Int, k: Int, threads: Int, path: ck_path = bestPath, into c: UnsafeMutablePointer<Int32>
    ) {
        guard m > 0 && n > 0 && k > 0 else {
            c.initialize(repeating: 0, count: m * n)
            return
        }
        a.withUnsafeBufferPointer { aBuffer in
            b.withUnsafeBufferPointer { bBuffer in
                multiply(
                    a: aBuffer.baseAddress!, aOperand, b: bBuffer.baseAddress!, bOperand,
                    m: m, n: n, k: k, into: c, threads: threads, path: path)
            }
        }
    }

    /// Writes C [M,N] (row stride N) on up to `threads` threads: first A and B are packed (threads taking disjoint
    /// row and column ranges), then the threads compute disjoint tiles of C. M, N and K must be positive.
    static func multiply(
        a: UnsafePointer<UInt8>, _ aOperand: MatrixOperand, b: UnsafePointer<UInt8>, _ bOperand: MatrixOperand,
        m: Int, n: Int, k: Int, into c: UnsafeMutablePointer<Int32>, threads: Int, path: ck_path = bestPath
    ) {
        precondition(ck_path_supported(path) != 0)
        let split = TileSplit(m: m, n: n, k: k, threads: threads)
        // 64-byte alignment: a cache line, and the width of the VNNI path's loads.
        let packedA = UnsafeMutableRawPointer.allocate(byteCount: ck_packed_a_bytes(path, m, k), alignment: 64)
        let packedB = UnsafeMutableRawPointer.allocate(byteCount: ck_packed_b_bytes(path, k, n), alignment: 64)
        defer {
            packedA.deallocate()
            packedB.deallocate()
        }
        let shared = SharedPointers(a: a, b: b, c: c, packedA: packedA, packedB: packedB)
        // Iterations 0..<tiles pack row ranges of A, the rest column ranges of B.
        parallelFor(2 * split.tiles, threads: threads) { index in
            if index < split.tiles {
                let rows = split.rows(index)
                ck_pack_a(path, shared.a, aOperand.isSigned ? 1 : 0, aOperand.zeroPoint, m, k, rows.lowerBound, rows.upperBound, shared.packedA)
            } else {
                let columns = split.columns(index - split.tiles)
                ck_pack_b(path, shared.b, bOperand.isSigned ? 1 : 0, bOperand.zeroPoint, k, n, columns.lowerBound, columns.upperBound, shared.packedB)
            }
        }
        parallelFor(split.tiles, threads: threads) { index in
            let tile = split.tile(index)
            ck_gemm(path, shared.packedA, shared.packedB, m, k, n, shared.c,
                    tile.rows.lowerBound, tile.rows.upperBound, tile.columns.lowerBound, tile.columns.upperBound)
        }
    }
}

/// Runs `body` for 0..<iterations on Dispatch's threads, or inline on the calling thread when it asked for one
/// thread: a replay thread's low scheduling class (ReplayWorker) then covers all of its work.
func parallelFor(_ iterations: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
    if threads <= 1 {
        for index in 0..<iterations { body(index) }
    } else {
        DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
    }
}

/// Pointers shared by the threads of one `multiply`; each thread writes only its own ranges of the packed buffers
/// and its own tile of `c`, and all of them stay valid until `multiply` returns.
private struct SharedPointers: @unchecked Sendable {
    let a: UnsafePointer<UInt8>
    let b: UnsafePointer<UInt8>
    let c: UnsafeMutablePointer<Int32>
    let packedA: UnsafeMutableRawPointer
    let packedB: UnsafeMutableRawPointer
}

/// Divides C into disjoint tiles along its longer side, in whole row blocks of packed A or whole panels of packed
/// B. There are up to four tiles per thread: Dispatch hands them out as threads become free, so a thread that
/// starts late on a busy machine delays the product by one small tile, not by half of it.
struct TileSplit: Sendable {
    /// Below this many multiply-accumulates a tile costs more to hand out than to compute.
    static let minWorkPerTile = 1 << 18
    static let tilesPerThread = 4

    let m: Int, n: Int
    let byRows: Bool
    let tiles: Int
    private let unit: Int, units: Int

    init(m: Int, n: Int, k: Int, threads: Int) {
        self.m = m
        self.n = n
        byRows = m >= n
        unit = byRows ? ck_row_block() : ck_panel_width()
        units = ((byRows ? m : n) + unit - 1) / unit
        let work = Double(m) * Double(n) * Double(k)
        let byWork = Int(min(work / Double(TileSplit.minWorkPerTile), Double(Int32.max)))
        tiles = threads <= 1 ? 1 : max(1, min(units, threads * TileSplit.tilesPerThread, byWork))
    }

    /// Rows of packed A and columns of packed B that pack task `index` (of `tiles`) covers.
    func rows(_ index: Int) -> Range<Int> { range(index, of: m, unit: ck_row_block()) }
    func columns(_ index: Int) -> Range<Int> { range(index, of: n, unit: ck_panel_width()) }

    func tile(_ index: Int) -> (rows: Range<Int>, columns: Range<Int>) {
        byRows ? (range(index, of: m, unit: unit), 0..<n) : (0..<m, range(index, of: n, unit: unit))
    }

    /// The `index`-th of `tiles` near-equal consecutive ranges of whole `unit`s covering 0..<count.
    private func range(_ index: Int, of count: Int, unit: Int) -> Range<Int> {
        let units = (count + unit - 1) / unit
        let share = (units * index / tiles)..<(units * (index + 1) / tiles)
        return min(count, share.lowerBound * unit)..<min(count, share.upperBound * unit)
    }
}
