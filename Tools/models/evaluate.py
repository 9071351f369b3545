#!/usr/bin/env python3
"""Runs the digits test split through ONNX Runtime (float, int8 QOperator, int8 QDQ) and prints the accuracies.

Also prints how far the two int8 formats agree, in quantized units of the logits, which is the same measure
the Assay crosscheck will apply to qnn/1 against ONNX Runtime (see compare_quantized).

Usage: Tools/models/.venv/bin/python Tools/models/evaluate.py [--fixtures DIR]
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

MODELS = ("digits_cnn", "digits_mlp")
INT8_FORMATS = ("qop", "qdq")
PIXEL_MAX = 16.0  # must match make_fixtures.py: the float input is pixel / 16


def load_test_split(fixtures):
    with np.load(fixtures / "digits_test.npz") as data:
        return data["pixels"], data["labels"]


def to_model_input(pixels):
    return (pixels.astype(np.float32) / np.float32(PIXEL_MAX))[:, None, :, :]


def onnxruntime_logits(path, x):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"input": x})[0]


def logits_quantization(path):
    """(scale, zero point) of the uint8 tensor that the model's final DequantizeLinear turns into the logits."""
    model = onnx.load(str(path))
    final = next(n for n in model.graph.node if n.op_type == "DequantizeLinear" and n.output[0] == "logits")
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    return float(values[final.input[1]]), int(values[final.input[2]])


def to_quantized_units(logits, scale, zero_point):
    """Undo the final DequantizeLinear exactly: its outputs are (q - zero_point) * scale with q an integer."""
    steps = logits / np.float32(scale)
    units = np.rint(steps).astype(np.int64) + zero_point
    if np.abs(steps - np.rint(steps)).max() > 1e-3 or units.min() < 0 or units.max() > 255:
        raise ValueError("logits are not uint8 values dequantized with the final DequantizeLinear's parameters")
    return units


def compare_quantized(reference, candidate):
    """Share of identical quantized logits and the largest difference, in quantized units."""
    difference = np.abs(reference.astype(np.int64) - candidate.astype(np.int64))
    return float((difference == 0).mean()), int(difference.max())


def accuracy(logits, labels):
    return float((logits.argmax(axis=1) == labels).mean())


# The Assay side (issue 12 item 3) is crosscheck_models.py, behind Tools/crosscheck-models: it imports each int8
# file with `assay model import`, runs it with `assay kernel run qnn/1` and compares with compare_quantized.


def evaluate_model(fixtures, name, x, labels):
    rows = [(name, "float", accuracy(onnxruntime_logits(fixtures / f"{name}.onnx", x), labels))]
    units = {}
    for fmt in INT8_FORMATS:
        path = fixtures / f"{name}_int8_{fmt}.onnx"
        logits = onnxruntime_logits(path, x)
        units[fmt] = to_quantized_units(logits, *logits_quantization(path))
        rows.append((name, f"int8 {fmt}", accuracy(logits, labels)))
    return rows, compare_quantized(units["qop"], units["qdq"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=Path(__file__).resolve().parent / "fixtures")
    args = parser.parse_args()
    pixels, labels = load_test_split(args.fixtures)
    x = to_model_input(pixels)
    print(f"test split: {len(labels)} digits, onnxruntime {ort.__version__}")
    for name in MODELS:
        rows, (identical, largest) = evaluate_model(args.fixtures, name, x, labels)
        for model, runtime, score in rows:
            print(f"{model:11} {runtime:9} accuracy {100 * score:6.2f} %")
        print(f"{name:11} qop vs qdq: {100 * identical:.2f} % of int8 logits identical, largest difference "
              f"{largest} quantized units")
    return 0


if __name__ == "__main__":
    sys.exit(main())
