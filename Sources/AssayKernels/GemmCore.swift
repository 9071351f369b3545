import CKernels
import Dispatch

/// The integer matrix product every kernel reduces to: C[M,N] = sum over k of (A[m,k] - za) * (B[k,n] - zb),
/// with A and B row-major 8-bit matrices and C int32 modulo 2^32. Addition modulo 2^32 is associative and
/// commutative, so every loop order, blocking and thread split gives the same bits.
enum GemmCore {
    /// Below this many multiply-accumulates a second thread costs more than it saves.
    static let minWorkPerThread = 1 << 18

    /// The oracle: three plain loops.
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

    /// Packs B once, then runs the blocked C kernel (AVX2 when available, unless `vector` is false) on disjoint
    /// tiles of C, one per thread.
    static func optimised(
        a: [UInt8], _ aOperand: MatrixOperand, b: [UInt8], _ bOperand: MatrixOperand,
        m: Int, n: Int, k: Int, threads: Int, vector: Bool = true
    ) -> [Int32] {
        guard m > 0 && n > 0 else { return [] }
        let packedCount = ck_packed_b_count(k, n)
        let packed = [Int16](unsafeUninitializedCapacity: packedCount) { out, initialized in
            ck_pack_b(b, bOperand.isSigned ? 1 : 0, bOperand.zeroPoint, k, n, out.baseAddress)  // writes every element
            initialized = packedCount
        }
        let tiles = TileSplit(m: m, n: n, panelWidth: ck_panel_width(), parts: partCount(m: m, n: n, k: k, threads: threads))
        return [Int32](unsafeUninitializedCapacity: m * n) { c, initialized in
            nonisolated(unsafe) let cBase = c.baseAddress!
            packed.withUnsafeBufferPointer { packedB in
                a.withUnsafeBufferPointer { aBuffer in
                    nonisolated(unsafe) let packedBase = packedB.baseAddress
                    nonisolated(unsafe) let aBase = aBuffer.baseAddress
                    DispatchQueue.concurrentPerform(iterations: tiles.parts) { part in
                        let tile = tiles.tile(part)
                        let scratch = UnsafeMutablePointer<Int16>.allocate(capacity: ck_scratch_count())
                        defer { scratch.deallocate() }
                        ck_gemm(aBase, aOperand.isSigned ? 1 : 0, aOperand.zeroPoint, k, n, packedBase, cBase,
                                tile.rows.lowerBound, tile.rows.upperBound,
                                tile.columns.lowerBound, tile.columns.upperBound, scratch, vector ? 1 : 0)
                    }
                }
            }
            initialized = m * n
        }
    }

    static func partCount(m: Int, n: Int, k: Int, threads: Int) -> Int {
        let work = Double(m) * Double(n) * Double(max(k, 1))
        return max(1, min(threads, Int(min(work / Double(minWorkPerThread), Double(threads)))))
    }
}

/// Divides C into `parts` disjoint tiles along its longer side: rows, or columns in whole panels.
struct TileSplit: Sendable {
    let m: Int, n: Int, panelWidth: Int
    let byRows: Bool
    let parts: Int

    init(m: Int, n: Int, panelWidth: Int, parts: Int) {
        self.m = m
        self.n = n
        self.panelWidth = panelWidth
        let panels = (n + panelWidth - 1) / panelWidth
        byRows = m >= n || panels < parts
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
