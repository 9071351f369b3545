/// The integer matrix product every kernel reduces to: C[M,N] = sum over k of (A[m,k] - za) * (B[k,n] - zb),
/// with A and B row-major 8-bit matrices and C int32 modulo 2^32. Addition modulo 2^32 is associative and
/// commutative, so every loop order, blocking and thread split gives the same bits.
enum GemmCore {
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

    static func optimised(
        a: [UInt8], _ aOperand: MatrixOperand, b: [UInt8], _ bOperand: MatrixOperand,
        m: Int, n: Int, k: Int, threads: Int
    ) -> [Int32] {
        reference(a: a, aOperand, b: b, bOperand, m: m, n: n, k: k)
    }
}
