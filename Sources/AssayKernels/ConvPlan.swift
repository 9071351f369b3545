/// `conv2d-i8/1`, ONNX `ConvInteger` on NCHW input with explicit pads: input X [N,C,H,W] int8/uint8; model arrays
/// `w` [M, C/group, kH, kW] int8/uint8, optional scalars `x_zero_point` (X's dtype) and `w_zero_point` (w's dtype),
/// optional int32 `pads` [4] (top, left, bottom, right), `strides` [2], `dilations` [2] (height, width) and
/// `group` (scalar). Padded positions contribute zero (as if filled with x_zero_point). Output int32
/// [N, M, OH, OW]. Work units: N x M x OH x OW x (C/group) x kH x kW.
struct ConvPlan: KernelPlan, Sendable {
    static let arrayNames: Set<String> = ["w", "x_zero_point", "w_zero_point", "pads", "strides", "dilations", "group"]

    let geometry: ConvGeometry
    let x: MatrixOperand
    let w: MatrixOperand
    let workUnits: UInt64

    init(model: Model, input: TensorSpec, limits: KernelLimits) throws(KernelError) {
        let checks = ArrayChecks(model: model, limits: limits)
        try checks.rejectUnknownArrays { ConvPlan.arrayNames.contains($0) }
        let wTensor = try checks.required("w")
        let xShape = try checks.dimensions(of: input, named: ArrayChecks.inputName, rank: 4, dtypes: [.int8, .uint8])
        let wShape = try checks.dimensions(of: wTensor, named: "w", rank: 4, dtypes: [.int8, .uint8])
        geometry = try ConvGeometry(input: xShape, weights: wShape, attributes: ConvAttributes(checks))
        let outputElements = try ArrayChecks.product(geometry.outputShape, what: "output elements")
        try checks.checkElements(outputElements, what: "output elements")
        // The optimised path lowers each (image, group) to a matrix of (C/group x kH x kW) rows, OH x OW columns.
        let loweredElements = try ArrayChecks.product(
            [geometry.patchLength, geometry.outHeight, geometry.outWidth], what: "lowered input elements")
        try checks.checkElements(loweredElements, what: "lowered input elements")
        workUnits = try ArrayChecks.product(
            [geometry.batch, geometry.filters, geometry.outHeight, geometry.outWidth, geometry.patchLength],
            what: "work units")
        try checks.checkWork(workUnits)
        x = MatrixOperand(dtype: input.dtype, zeroPoint: try checks.scalar("x_zero_point", dtypes: [input.dtype], default: 0))
        w = MatrixOperand(dtype: wTensor.dtype, zeroPoint: try checks.scalar("w_zero_point", dtypes: [wTensor.dtype], default: 0))
    }

    func run(model: Model, input: Tensor, implementation: Implementation) -> KernelOutput {
        let weights = model["w"]!.data
        let output: Tensor
        switch implementation {
        case .reference:
            output = Tensor.int32Unchecked(ConvReference.run(geometry, x: input.data, x, w: weights, w), shape: geometry.outputShape)
        case let .optimised(threads):
            output = Tensor.int32Output(shape: geometry.outputShape) { out in
                ConvLowered.run(geometry, x: input.data, x, w: weights, w, threads: threads, into: out)
            }
        }
        return KernelOutput(output: output, workUnits: workUnits)
    }
}

/// The int32 attribute arrays of a convolution, with ONNX defaults.
struct ConvAttributes {
    var pads: [Int32] = [0, 0, 0, 0]
    var strides: [Int32] = [1, 1]
    var dilations: [Int32] = [1, 1]
    var group: Int32 = 1

    /// Reads `pads`, `strides`, `dilations` and `group`, each name preceded by `prefix` (qnn/1's `node<i>.`).
    init(_ checks: ArrayChecks, prefix: String = "") throws(KernelError) {
        if let value = try checks.int32Vector(prefix + "pads", count: 4) { pads = value }
        if let value = try checks.int32Vector(prefix + "strides", count: 2) { strides = value }
        if let value = try checks.int32Vector(prefix + "dilations", count: 2) { dilations = value }
        group = try checks.scalar(prefix + "group", dtypes: [.int32], default: 1)
        guard pads.allSatisfy({ $0 >= 0 }) else { throw .invalidAttribute("pads \(pads) must be >= 0") }
        guard strides.allSatisfy({ $0 >= 1 }) else { throw .invalidAttribute("strides \(strides) must be >= 1") }
        guard dilations.allSatisfy({ $0 >= 1 }) else { throw .invalidAttribute("dilations \(dilations) must be >= 1") }
        guard group >= 1 else { throw .invalidAttribute("group \(group) must be >= 1") }
        for value in pads + strides + dilations + [group] {
            try checks.checkDimension(UInt64(value), what: "a convolution attribute")
        }
    }
}

/// Every size of one convolution, derived once and checked.
struct ConvGeometry: Sendable {
    let batch: Int, channels: Int, height: Int, width: Int
    let filters: Int, kernelHeight: Int, kernelWidth: Int, group: Int
    let padTop: Int, padLeft: Int, strideHeight: Int, strideWidth: Int, dilationHeight: Int, dilationWidth: Int
    let outHeight: Int, outWidth: Int

    var channelsPerGroup: Int { channels / group }
    var filtersPerGroup: Int { filters / group }
    var patchLength: Int { channelsPerGroup * kernelHeight * kernelWidth }
    var outputShape: [Int] { [batch, filters, outHeight, outWidth] }

    init(input: [Int], weights: [Int], attributes: ConvAttributes) throws(KernelError) {
        (batch, channels, height, width) = (input[0], input[1], input[2], input[3])
        (filters, kernelHeight, kernelWidth) = (weights[0], weights[2], weights[3])
        group = Int(attributes.group)
        guard channels % group == 0, filters % group == 0 else {
            throw .shapeMismatch("group \(group) must divide X's \(channels) channels and w's \(filters) filters")
        }
        guard weights[1] == channels / group else {
            throw .shapeMismatch("w has \(weights[1]) input channels per filter; X's \(channels) channels / group \(group) = \(channels / group)")
        }
        let pads = attributes.pads.map { Int($0) }
        (padTop, padLeft) = (pads[0], pads[1])
        (strideHeight, strideWidth) = (Int(attributes.strides[0]), Int(attributes.strides[1]))
        (dilationHeight, dilationWidth) = (Int(attributes.dilations[0]), Int(attributes.dilations[1]))
        outHeight = try ConvGeometry.outputSize(
            "height", input: height, padding: pads[0] + pads[2], kernel: kernelHeight,
            stride: strideHeight, dilation: dilationHeight)
        outWidth = try ConvGeometry.outputSize(
            "width", input: width, padding: pads[1] + pads[3], kernel: kernelWidth,
            stride: strideWidth, dilation: dilationWidth)
    }

    /// floor((input + padding - ((kernel - 1) x dilation + 1)) / stride) + 1, refusing a kernel wider than the
    /// padded input. All terms are bounded by `maxDimension` (at most 2^20 by any sane limit), so no overflow.
    private static func outputSize(
        _ axis: String, input: Int, padding: Int, kernel: Int, stride: Int, dilation: Int
    ) throws(KernelError) -> Int {
        guard kernel >= 1 else { throw .shapeMismatch("kernel \(axis) must be >= 1") }
        let extent = (kernel - 1) * dilation + 1
        guard extent <= input + padding else {
            throw .shapeMismatch("dilated kernel \(axis) \(extent) exceeds padded input \(axis) \(input + padding)")
        }
        return (input + padding - extent) / stride + 1
    }
}

/// The oracle: the ONNX definition as seven plain loops.
enum ConvReference {
    static func run(
        _ g: ConvGeometry, x: [UInt8], _ xOperand: MatrixOperand, w: [UInt8], _ wOperand: MatrixOperand
    ) -> [Int32] {
        var out = [Int32](repeating: 0, count: g.batch * g.filters * g.outHeight * g.outWidth)
        var index = 0
        for image in 0..<g.batch {
            for filter in 0..<g.filters {
                let firstChannel = (filter / g.filtersPerGroup) * g.channelsPerGroup
                for oy in 0..<g.outHeight {
                    for ox in 0..<g.outWidth {
                        var sum: Int32 = 0
                        for c in 0..<g.channelsPerGroup {
                            for ky in 0..<g.kernelHeight {
                                let iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight
                                guard iy >= 0 && iy < g.height else { continue }
                                for kx in 0..<g.kernelWidth {
                                    let ix = ox * g.strideWidth - g.padLeft + kx * g.dilationWidth
                                    guard ix >= 0 && ix < g.width else { continue }
                                    let xIndex = ((image * g.channels + firstChannel + c) * g.height + iy) * g.width + ix
                                    let wIndex = ((filter * g.channelsPerGroup + c) * g.kernelHeight + ky) * g.kernelWidth + kx
                                    sum &+= xOperand.centred(x, xIndex) &* wOperand.centred(w, wIndex)
                                }
                            }
                        }
                        out[index] = sum
                        index += 1
                    }
                }
            }
        }
        return out
    }
}
