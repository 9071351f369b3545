#!/usr/bin/env python3
"""Writes fixtures/digits_int8_expected.npz: ONNX Runtime's int8 outputs for the first test digits, in quantized
units, which the AssayONNX tests compare the imported qnn/1 models with (issue 12).

Arrays (all uint8, as the importer's models take and give them):
  input          [N, 1, 8, 8]  the quantized pixels: the int8 models' input QuantizeLinear output (scale 1/255, zero point 0)
  cnn_qop, cnn_qdq, mlp_qop, mlp_qdq   [N, 10]  the logits before the final DequantizeLinear

Usage: Tools/models/.venv/bin/python Tools/models/make_expected.py [--count N]   (run Tools/models/make_fixtures.sh once first)
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import load_test_split, logits_quantization, onnxruntime_logits, to_model_input, to_quantized_units  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def quantized_input(path, x):
    """The uint8 tensor the model's first QuantizeLinear writes, fetched by making it a graph output."""
    model = onnx.load(str(path))
    first = next(n for n in model.graph.node if n.op_type == "QuantizeLinear")
    model.graph.output.append(helper.make_tensor_value_info(first.output[0], TensorProto.UINT8, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run([first.output[0]], {"input": x})[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    pixels, _ = load_test_split(FIXTURES)
    x = to_model_input(pixels[:args.count])
    arrays = {"input": quantized_input(FIXTURES / "digits_cnn_int8_qop.onnx", x)}
    # The MLP quantizes after its Reshape, with the same scale and zero point: the same bytes.
    mlp_input = quantized_input(FIXTURES / "digits_mlp_int8_qop.onnx", x)
    assert np.array_equal(mlp_input.reshape(arrays["input"].shape), arrays["input"])
    for name in ("cnn", "mlp"):
        for fmt in ("qop", "qdq"):
            path = FIXTURES / f"digits_{name}_int8_{fmt}.onnx"
            units = to_quantized_units(onnxruntime_logits(path, x), *logits_quantization(path))
            arrays[f"{name}_{fmt}"] = units.astype(np.uint8)
    np.savez(FIXTURES / "digits_int8_expected.npz", **arrays)
    print(f"wrote {FIXTURES / 'digits_int8_expected.npz'}: {args.count} digits, onnxruntime {ort.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
