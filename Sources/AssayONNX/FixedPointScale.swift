/// A real scale `r` (0 < r < 1) as qnn/1's fixed-point `multiplier` (Q31) and right `shift` (docs/kernels.md,
/// "qnn/1"; docs/models.md). The one place the importer turns a float scale into integers. Two forms:
///
/// - **One rounding**, when `r >= 2^-11`: `shift = 0`, `multiplier = round(r x 2^31)` (at least 2^20, so 21
///   significant bits or more). R's high multiply then rounds the exact product once, as ONNX Runtime's float
///   requantization does; the multiplier is off `r` by at most 2^-32, far below a unit of any 8-bit output.
/// - **TFLite's `QuantizeMultiplier`** otherwise: `r = q x 2^-shift` with `q` in [0.5, 1),
///   `multiplier = round(q x 2^31)` (half away from zero; 2^31 becomes 2^30 with one shift less); `shift > 31`
///   (r < 2^-32) is refused. Its two roundings (the high multiply, then the shift) differ from one rounding of
///   the exact product for about one value in 2^shift, a price worth the precision only for small scales.
///
/// On the digits CNN, TFLite's form everywhere changed 22 % of the logits by one unit against ONNX Runtime.
struct FixedPointScale: Equatable, Sendable {
    let multiplier: Int32
    let shift: Int32

    /// The smallest scale written with one rounding (shift 0).
    static let singleRoundingMinimum = 0x1p-11

    /// multiplier x 2^-31 x 2^-shift: the scale this represents.
    var real: Double { Double(multiplier) / Double(1 << 31) / Double(1 << shift) }
}

extension FixedPointScale {
    /// Throws a reason (the caller prefixes what the scale is) for a scale the requantization cannot represent.
    init(_ real: Double) throws(ONNXImportError) {
        guard real.isFinite, real > 0 else { throw ONNXImportError("scale \(real) is not a positive finite number") }
        guard real < 1 else { throw ONNXImportError("scale \(real) is 1 or more; qnn/1 requantizes only with scales below 1") }
        if real >= FixedPointScale.singleRoundingMinimum {
            let multiplier = (real * 0x1p31).rounded(.toNearestOrAwayFromZero)
            guard multiplier < 0x1p31 else { throw ONNXImportError("scale \(real) rounds to 1; qnn/1 requantizes only with scales below 1") }
            self.init(multiplier: Int32(multiplier), shift: 0)
            return
        }
        // real = significand x 2^exponent with significand in [1, 2): q = significand / 2, shift = -(exponent + 1).
        var shift = -(Int(real.exponent) + 1)
        var multiplier = (real.significand * 0x1p30).rounded(.toNearestOrAwayFromZero)
        if multiplier == 0x1p31 {
            multiplier = 0x1p30
            shift -= 1
        }
        guard shift <= 31 else { throw ONNXImportError("scale \(real) is below 2^-32, too small for a 31-bit shift") }
        self.init(multiplier: Int32(multiplier), shift: Int32(shift))
    }
}
