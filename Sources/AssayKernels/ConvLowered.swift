/// The optimised convolution: each (image, group) is lowered to a matrix product (im2col). The lowered matrix has
/// one row per (channel, ky, kx) of a filter and one column per output pixel; positions in the padding hold the
/// input zero point, so they contribute exactly zero like the reference's skipped terms.
enum ConvLowered {
    static func run(
        _ g: ConvGeometry, x: [UInt8], _ xOperand: MatrixOperand, w: [UInt8], _ wOperand: MatrixOperand, threads: Int
    ) -> [Int32] {
        let pixels = g.outHeight * g.outWidth
        let groupWeights = g.filtersPerGroup * g.patchLength
        var out = [Int32](repeating: 0, count: g.batch * g.filters * pixels)
        var lowered = [UInt8](repeating: 0, count: g.patchLength * pixels)
        for image in 0..<g.batch {
            for group in 0..<g.group {
                lower(g, x: x, image: image, group: group, padByte: UInt8(truncatingIfNeeded: xOperand.zeroPoint), into: &lowered)
                let weights = Array(w[(group * groupWeights)..<((group + 1) * groupWeights)])
                let product = GemmCore.optimised(
                    a: weights, wOperand, b: lowered, xOperand,
                    m: g.filtersPerGroup, n: pixels, k: g.patchLength, threads: threads)
                let base = (image * g.filters + group * g.filtersPerGroup) * pixels
                out.replaceSubrange(base..<(base + product.count), with: product)
            }
        }
        return out
    }

    /// Fills `lowered` [patchLength, OH x OW] for one image and group.
    static func lower(_ g: ConvGeometry, x: [UInt8], image: Int, group: Int, padByte: UInt8, into lowered: inout [UInt8]) {
        let pixels = g.outHeight * g.outWidth
        lowered.withUnsafeMutableBufferPointer { rows in
            x.withUnsafeBufferPointer { input in
                var row = 0
                for c in 0..<g.channelsPerGroup {
                    let plane = ((image * g.channels) + group * g.channelsPerGroup + c) * g.height * g.width
                    for ky in 0..<g.kernelHeight {
                        for kx in 0..<g.kernelWidth {
                            var column = row * pixels
                            for oy in 0..<g.outHeight {
                                let iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight
                                let rowInside = iy >= 0 && iy < g.height
                                for ox in 0..<g.outWidth {
                                    let ix = ox * g.strideWidth - g.padLeft + kx * g.dilationWidth
                                    rows[column] = rowInside && ix >= 0 && ix < g.width
                                        ? input[plane + iy * g.width + ix] : padByte
                                    column += 1
                                }
                            }
                            row += 1
                        }
                    }
                }
            }
        }
    }
}
