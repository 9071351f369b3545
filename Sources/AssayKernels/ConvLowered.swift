import CKernels

/// The optimised convolution: each (image, group) is a matrix product of the group's filters [M/group, patch] by
/// the lowered input [patch, OH x OW] (im2col). Positions in the padding hold the input zero point, so they centre
/// to zero exactly like the reference's skipped terms.
enum ConvLowered {
    /// Writes every element of the output [N, M, OH, OW] into `output`.
    static func run(
        _ g: ConvGeometry, x: [UInt8], _ xOperand: MatrixOperand, w: [UInt8], _ wOperand: MatrixOperand, threads: Int,
        into output: UnsafeMutablePointer<Int32>
    ) {
        let pixels = g.outHeight * g.outWidth
        guard g.filtersPerGroup > 0 && pixels > 0 && g.patchLength > 0 else {
            output.initialize(repeating: 0, count: g.batch * g.filters * pixels)
            return
        }
        // The plan checked patchLength x pixels against maxElements before we got here.
        let lowered = UnsafeMutablePointer<UInt8>.allocate(capacity: g.patchLength * pixels)
        defer { lowered.deallocate() }
        x.withUnsafeBufferPointer { input in
            w.withUnsafeBufferPointer { weights in
                for image in 0..<g.batch {
                    for group in 0..<g.group {
                        let planes = input.baseAddress! + (image * g.channels + group * g.channelsPerGroup) * g.height * g.width
                        lower(g, planes: planes, padByte: UInt8(truncatingIfNeeded: xOperand.zeroPoint), into: lowered, threads: threads)
                        GemmCore.multiply(
                            a: weights.baseAddress! + group * g.filtersPerGroup * g.patchLength, wOperand,
                            b: lowered, xOperand, m: g.filtersPerGroup, n: pixels, k: g.patchLength,
                            into: output + (image * g.filters + group * g.filtersPerGroup) * pixels,
                            threads: threads)
                    }
                }
            }
        }
    }

    /// Fills `lowered` [patchLength, OH x OW], threads taking disjoint row ranges.
    private static func lower(
        _ g: ConvGeometry, planes: UnsafePointer<UInt8>, padByte: UInt8, into lowered: UnsafeMutablePointer<UInt8>, threads: Int
    ) {
        var shape = ck_conv_shape(
            channels: g.channelsPerGroup, height: g.height, width: g.width,
            kernel_height: g.kernelHeight, kernel_width: g.kernelWidth,
            pad_top: g.padTop, pad_left: g.padLeft, stride_height: g.strideHeight, stride_width: g.strideWidth,
            dilation_height: g.dilationHeight, dilation_width: g.dilationWidth,
            out_height: g.outHeight, out_width: g.outWidth)
        let parts = TileSplit(m: g.patchLength, n: g.outHeight * g.outWidth, k: 1, threads: threads).tiles
        let shared = LoweringPointers(planes: planes, lowered: lowered)
        withUnsafePointer(to: &shape) { shapePointer in
            let sharedShape = SendableShape(pointer: shapePointer)
            parallelFor(parts, threads: threads) { part in
                let rows = (g.patchLength * part / parts)..<(g.patchLength * (part + 1) / parts)
                ck_im2col(shared.planes, padByte, sharedShape.pointer, rows.lowerBound, rows.upperBound, shared.lowered)
            }
        }
    }
}

/// Input planes and the lowered buffer, shared by the lowering threads (each writes its own rows).
private struct LoweringPointers: @unchecked Sendable {
    let planes: UnsafePointer<UInt8>
    let lowered: UnsafeMutablePointer<UInt8>
}

private struct SendableShape: @unchecked Sendable {
    let pointer: UnsafePointer<ck_conv_shape>
}
