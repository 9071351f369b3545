import CKernels
import Dispatch

/// The integer matrix product every kernel reduces to: C[M,N] = sum over k of (A[m,k] - za) * (B[k,n] - zb),
/// with A and B 8-bit matrices and C int32 modulo 2^32. Addition modulo 2^32 is associative and commutative, so
/// every loop order, blocking and thread split gives the same bits.
enum GemmCore {
    /// Below this many multiply-accumulates per thread a second thread costs more than it saves.
    static let minWorkPerThread = 1 << 18

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

    /// The optimised product of row-major A [M,K] and B [K,N]. `vector: false` forces the portable micro-kernel.
    static func optimised(
        a: [UInt8], _ aOperand: MatrixOperand, b: [UInt8], _ bOperand: MatrixOperand,
        m: Int, n: Int, k: Int, threads: Int, vector: Bool = true
    ) -> [Int32] {
        [Int32](unsafeUninitializedCapacity: m * n) { c, initialized in
            if let base = c.baseAddress {
                optimised(a: a, aOperand, b: b, bOperand, m: m, n: n, k: k, threads: threads, vector: vector, into: base)
            }
            initialized = m * n
        }
    }

    /// Writes every element of C [M,N] (zeros when K is 0).
    static func optimised(
        a: [UInt8], _ aOperand: MatrixOperand, b: [UInt8], _ bOperand: MatrixOperand,
        m: Int, n: Int, k: Int, threads: Int, vector: Bool = true, into c: UnsafeMutablePointer<Int32>
    ) {
        guard m > 0 && n > 0 && k > 0 else {
            c.initialize(repeating: 0, count: m * n)
            return
        }
        a.withUnsafeBufferPointer { aBuffer in
            b.withUnsafeBufferPointer { bBuffer in
                multiply(
                    a: aBuffer.baseAddress!, aOperand, b: bBuffer.baseAddress!, bOperand,
                    m: m, n: n, k: k, into: c, threads: threads, vector: vector)
            }
        }
    }

    /// Writes C [M,N] (row stride N) on up to `threads` threads, each owning a disjoint tile of C and packing the
    /// panels of B it reads. M, N and K must be positive.
    static func multiply(
        a: UnsafePointer<UInt8>, _ aOperand: MatrixOperand, b: UnsafePointer<UInt8>, _ bOperand: MatrixOperand,
        m: Int, n: Int, k: Int, into c: UnsafeMutablePointer<Int32>, threads: Int, vector: Bool = true
    ) {
        let tiles = TileSplit(m: m, n: n, panelWidth: ck_panel_width(), parts: partCount(m: m, n: n, k: k, threads: threads))
        let packed = UnsafeMutablePointer<Int16>.allocate(capacity: ck_packed_b_count(k, n))
        defer { packed.deallocate() }
        let shared = SharedPointers(a: a, b: b, c: c, packed: packed)
        let pack = { @Sendable (columns: Range<Int>) in
            ck_pack_b(shared.b, bOperand.isSigned ? 1 : 0, bOperand.zeroPoint, k, n,
                      columns.lowerBound, columns.upperBound, shared.packed, vector ? 1 : 0)
        }
        let compute = { @Sendable (tile: (rows: Range<Int>, columns: Range<Int>)) in
            let scratch = UnsafeMutablePointer<Int16>.allocate(capacity: ck_scratch_count())
            defer { scratch.deallocate() }
            ck_gemm(shared.a, aOperand.isSigned ? 1 : 0, aOperand.zeroPoint, k, n, shared.packed, shared.c,
                    tile.rows.lowerBound, tile.rows.upperBound, tile.columns.lowerBound, tile.columns.upperBound,
                    scratch, vector ? 1 : 0)
        }
        if tiles.byRows && tiles.parts > 1 {
            // Every row tile reads all of B: the threads pack disjoint panels of it first.
            let packing = TileSplit(m: 1, n: n, panelWidth: ck_panel_width(), parts: tiles.parts)
            DispatchQueue.concurrentPerform(iterations: packing.parts) { pack(packing.tile($0).columns) }
            DispatchQueue.concurrentPerform(iterations: tiles.parts) { compute(tiles.tile($0)) }
        } else {
            // A column tile reads only its own panels of B, so each thread packs them and goes on without waiting.
            DispatchQueue.concurrentPerform(iterations: tiles.parts) { part in
                let tile = tiles.tile(part)
                pack(tile.columns)
                compute(tile)
            }
        }
    }

    static func partCount(m: Int, n: Int, k: Int, threads: Int) -> Int {
        let work = Double(m) * Double(n) * Double(k)
        return max(1, min(threads, Int(min(work / Double(minWorkPerThread), Double(threads)))))
    }
}

/// Pointers shared by the threads of one `multiply`; each thread writes only its own tile of `c` and panels of
/// `packed`, and all of them stay valid until `multiply` returns.
private struct SharedPointers: @unchecked Sendable {
    let a: UnsafePointer<UInt8>
    let b: UnsafePointer<UInt8>
    let c: UnsafeMutablePointer<Int32>
    let packed: UnsafeMutablePointer<Int16>
}

/// Divides C into `parts` disjoint tiles: column ranges of whole panels (each thread then packs only its part of
/// B and keeps a smaller block of it in cache), or row ranges when C is much taller than wide or too narrow.
struct TileSplit: Sendable {
    let m: Int, n: Int, panelWidth: Int
    let byRows: Bool
    let parts: Int

    init(m: Int, n: Int, panelWidth: Int, parts: Int) {
        self.m = m
        self.n = n
        self.panelWidth = panelWidth
        let panels = (n + panelWidth - 1) / panelWidth
        byRows = panels < parts || m > 2 * n
        self.parts = max(1, min(parts, byRows ? m : panels))
    }

    func tile(_ part: Int) -> (rows: Range<Int>, columns: Range<Int>) {
        if byRows { return (TileSplit.share(part, of: m, parts: parts), 0..<n) }
        let panels = (n + panelWidth - 1) / panelWidth
        let share = TileSplit.share(part, of: panels, parts: parts)
        return (0..<m, (share.lowerBound * panelWidth)..<min(n, share.upperBound * panelWidth))
    }

    /// The `part`-th of `parts` near-equal consecutive ranges of 0..<count.
    static func share(_ part: Int, of count: Int, parts: Int) -> Range<Int> {
        (count * part / parts)..<(count * (part + 1) / parts)
    }
}
