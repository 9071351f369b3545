#!/usr/bin/env python3
"""Writes fixtures/ops_*.onnx and fixtures/ops_expected.npz: a small random-weight CNN using the layer kinds the
digits models do not (strided, grouped and dilated Conv, Relu, Clip, Add of two activations, AveragePool,
Concat, Transpose, Flatten, Gemm with transB), quantized by quantize_static with per-channel int8 weights in QDQ
and QOperator form, two hand-written MatMulInteger/ConvInteger layers, and ONNX Runtime's int8 outputs on a seeded batch, in quantized units (issue 12 importer tests).

Usage: Tools/models/.venv/bin/python Tools/models/make_op_fixtures.py
"""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import logits_quantization, onnxruntime_logits, to_quantized_units  # noqa: E402
from make_expected import quantized_input  # noqa: E402

SEED = 20261201
FIXTURES = Path(__file__).resolve().parent / "fixtures"
INPUT_SHAPE = (2, 8, 8)


def float_model(rng):
    def weight(name, *shape):
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.5).astype(np.float32), name)

    inits = [weight("wa", 4, 2, 3, 3), weight("ba", 4), weight("wb", 4, 1, 3, 3), weight("bb", 4),
             weight("wfc", 10, 32), weight("bfc", 10),
             numpy_helper.from_array(np.array(0, np.float32), "clip_min"),
             numpy_helper.from_array(np.array(6, np.float32), "clip_max")]
    nodes = [
        helper.make_node("Conv", ["input", "wa", "ba"], ["a"], "conv_a", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["a"], ["a_relu"], "relu_a"),
        helper.make_node("Conv", ["a_relu", "wb", "bb"], ["b"], "conv_b", pads=[2, 2, 2, 2], group=4, dilations=[2, 2]),
        helper.make_node("Clip", ["b", "clip_min", "clip_max"], ["b_clip"], "clip_b"),
        helper.make_node("Add", ["a_relu", "b_clip"], ["sum"], "add"),
        helper.make_node("AveragePool", ["sum"], ["avg"], "avg", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("MaxPool", ["sum"], ["max"], "max", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Concat", ["avg", "max"], ["cat"], "concat", axis=1),
        helper.make_node("Transpose", ["cat"], ["swapped"], "transpose", perm=[0, 1, 3, 2]),
        helper.make_node("Flatten", ["swapped"], ["flat"], "flatten", axis=1),
        helper.make_node("Gemm", ["flat", "wfc", "bfc"], ["logits"], "fc", transB=1),
    ]
    graph = helper.make_graph(nodes, "ops", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *INPUT_SHAPE])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


class Calibration(CalibrationDataReader):
    def __init__(self, x):
        self.batches = iter([{"input": x[i:i + 20]} for i in range(0, len(x), 20)])

    def get_next(self):
        return next(self.batches, None)


def integer_model(rng, conv):
    """QuantizeLinear -> MatMulInteger (or ConvInteger) -> Cast -> Mul(x_scale x w_scale) -> QuantizeLinear ->
    DequantizeLinear, written by hand: the integer-op form of a quantized layer."""
    x_scale, w_scale, y_scale = np.float32(1 / 255), np.float32(0.02), np.float32(0.05)
    if conv:
        weight = rng.integers(0, 256, size=(3, 2, 3, 3), dtype=np.uint8)  # ONNX Runtime's ConvInteger is uint8 x uint8
        product = helper.make_node("ConvInteger", ["xq", "w", "xz", "wz"], ["acc"], "conv_int", pads=[1, 1, 1, 1])
        w_zero = np.array(128, np.uint8)
    else:
        weight = rng.integers(-128, 128, size=(8, 3), dtype=np.int8)
        product = helper.make_node("MatMulInteger", ["xq", "w", "xz", "wz"], ["acc"], "matmul_int")
        w_zero = np.array(0, np.int8)
    inits = [numpy_helper.from_array(a, n) for n, a in (
        ("xs", np.array(x_scale)), ("xz", np.array(0, np.uint8)), ("w", weight), ("wz", w_zero),
        ("c", np.array(x_scale * w_scale)), ("ys", np.array(y_scale)), ("yz", np.array(10, np.uint8)))]
    nodes = [helper.make_node("QuantizeLinear", ["input", "xs", "xz"], ["xq"], "quantize"), product,
             helper.make_node("Cast", ["acc"], ["accf"], "cast", to=TensorProto.FLOAT),
             helper.make_node("Mul", ["accf", "c"], ["y"], "scale"),
             helper.make_node("QuantizeLinear", ["y", "ys", "yz"], ["yq"], "requantize"),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["logits"], "logits_DequantizeLinear")]
    shape, out = (["N", 2, 4, 4], ["N", 3, 4, 4]) if conv else (["N", 8], ["N", 3])
    graph = helper.make_graph(nodes, "integer", [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, out)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    rng = np.random.default_rng(SEED)
    float_path = Path("/tmp") / "ops_float.onnx"
    onnx.save(float_model(rng), str(float_path))
    calibration = rng.random((100, *INPUT_SHAPE), dtype=np.float32)
    batch = rng.random((16, *INPUT_SHAPE), dtype=np.float32)
    arrays = {}
    for fmt, quant_format in (("qop", QuantFormat.QOperator), ("qdq", QuantFormat.QDQ)):
        path = FIXTURES / f"ops_int8_{fmt}.onnx"
        quantize_static(str(float_path), str(path), Calibration(calibration), quant_format=quant_format,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                        calibrate_method=CalibrationMethod.MinMax)
        arrays[fmt] = to_quantized_units(onnxruntime_logits(path, batch), *logits_quantization(path)).astype(np.uint8)
        arrays["input"] = quantized_input(path, batch)
        print(path.name, path.stat().st_size, "bytes:", ", ".join(n.op_type for n in onnx.load(str(path)).graph.node))
    for name, conv, shape in (("matmulinteger", False, (16, 8)), ("convinteger", True, (16, 2, 4, 4))):
        path = FIXTURES / f"ops_{name}.onnx"
        onnx.save(integer_model(rng, conv), str(path))
        x = rng.random(shape, dtype=np.float32)
        arrays[f"{name}_input"] = quantized_input(path, x)
        arrays[name] = to_quantized_units(onnxruntime_logits(path, x), *logits_quantization(path)).astype(np.uint8)
    np.savez(FIXTURES / "ops_expected.npz", **arrays)
    return 0


if __name__ == "__main__":
    sys.exit(main())
