#!/usr/bin/env python3
"""The checks behind Tools/crosscheck-models (run that script, which prepares the environment).

For each digits model: ONNX Runtime float and int8 (QOperator and QDQ) on the 540 test digits, and each int8 file
imported with `assay model import` and run with `assay kernel run qnn/1` on the quantized pixels (quantized here
as a client would, from the input QuantizeLinear's scale and zero point). Prints every accuracy, the share of
Assay's int8 logits identical to ONNX Runtime's and the largest difference in quantized units.

Acceptance (issue 12): Assay's int8 accuracy within 0.5 points of ONNX Runtime's int8 accuracy, and no logit
differing by more than one quantized unit from ONNX Runtime's, or, on a CPU where ONNX Runtime's uint8 x int8
product is not exact (AVX2 without VNNI), from the logits it gave on an exact CPU (fixtures/digits_int8_expected.npz).
"""
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import (INT8_FORMATS, MODELS, accuracy, compare_quantized, load_test_split,  # noqa: E402
                      logits_quantization, onnxruntime_logits, to_model_input, to_quantized_units)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ACCURACY_POINTS_MAX = 0.5
UNITS_MAX = 1


def input_quantization(path):
    """(scale, zero point, dtype) of the QuantizeLinear that quantizes the graph's input (after any Reshape)."""
    model = onnx.load(str(path))
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    node = next(n for n in model.graph.node if n.op_type == "QuantizeLinear")
    zero_point = values[node.input[2]]
    return np.float32(values[node.input[1]]), int(zero_point), zero_point.dtype


def client_quantize(x, scale, zero_point, dtype):
    """What a client does to float pixels: round(x / scale) half to even, plus the zero point, saturated."""
    info = np.iinfo(dtype)
    q = np.rint(x / scale).astype(np.int64) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return result.stdout


def assay_units(assay, onnx_path, q, workdir, threads):
    """Imports the model, checks NumPy reads the model file, runs qnn/1; returns the uint8/int8 logits."""
    model_path, input_path, output_path = (workdir / name for name in ("model.qnn", "input.npy", "logits.npy"))
    run([assay, "model", "import", str(onnx_path), "--out", str(model_path)])
    with np.load(model_path) as arrays:
        if "node0.op" not in arrays.files:
            raise RuntimeError(f"{model_path} has no node0.op: {arrays.files[:5]}")
    np.save(input_path, q)
    run([assay, "kernel", "run", "qnn/1", "--model", str(model_path), "--input", str(input_path),
         "--out", str(output_path), "--threads", str(threads)])
    return np.load(output_path).astype(np.int64)


def onnxruntime_u8s8_exact():
    """Whether this CPU's ONNX Runtime multiplies uint8 by int8 exactly. Without VNNI its AVX2 kernel sums pairs of
    products in saturating int16 (vpmaddubsw), so a pair such as 255 x 127 + 255 x 127 comes out wrong."""
    import onnxruntime as ort
    from onnx import TensorProto, helper
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    b = rng.integers(-128, 128, (64, 64), dtype=np.int8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])], "u8s8",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [64, 64])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [64, 64])],
        initializer=[numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.array_equal(session.run(None, {"a": a})[0], a.astype(np.int64) @ b.astype(np.int64))


def check_model(assay, name, pixels, labels, threads, workdir, ort_exact):
    x = to_model_input(pixels)
    float_accuracy = accuracy(onnxruntime_logits(FIXTURES / f"{name}.onnx", x), labels)
    print(f"{name:11} {'onnxruntime float':21} accuracy {100 * float_accuracy:6.2f} %")
    passed = True
    for fmt in INT8_FORMATS:
        path = FIXTURES / f"{name}_int8_{fmt}.onnx"
        ort_logits = onnxruntime_logits(path, x)
        ort_units = to_quantized_units(ort_logits, *logits_quantization(path))
        q = client_quantize(x, *input_quantization(path))
        units = assay_units(assay, path, q, workdir, threads)
        ort_accuracy, assay_accuracy = accuracy(ort_logits, labels), accuracy(units, labels)
        identical, largest = compare_quantized(ort_units, units)
        if not ort_exact:  # the logits ONNX Runtime gave on a CPU where it is exact, for the first 100 digits
            with np.load(FIXTURES / "digits_int8_expected.npz") as expected:
                recorded = expected[f"{name.removeprefix('digits_')}_{fmt}"].astype(np.int64)
                assay_recorded = assay_units(assay, path, expected["input"], workdir, threads)
            recorded_identical, largest = compare_quantized(recorded, assay_recorded)
        ok = abs(assay_accuracy - ort_accuracy) * 100 <= ACCURACY_POINTS_MAX and largest <= UNITS_MAX
        passed &= ok
        print(f"{name:11} {'onnxruntime int8 ' + fmt:21} accuracy {100 * ort_accuracy:6.2f} %")
        agreement = (f"{100 * identical:6.2f} % of {units.size} int8 logits identical to onnxruntime's"
                     + ("" if ort_exact else f" (inexact here); {100 * recorded_identical:6.2f} % of "
                        f"{recorded.size} identical to the recorded exact ones") + f", largest difference {largest}")
        print(f"{name:11} {'assay qnn/1 ' + fmt:21} accuracy {100 * assay_accuracy:6.2f} %   {agreement} "
              f"quantized units  {'ok' if ok else 'FAIL'}")
    return passed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assay", required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    pixels, labels = load_test_split(FIXTURES)
    print(f"test split: {len(labels)} digits")
    ort_exact = onnxruntime_u8s8_exact()
    if not ort_exact:
        print("information: this CPU's onnxruntime multiplies uint8 by int8 with saturating int16 pair sums (no VNNI), "
              "so its int8 logits are not exact here; agreement is checked against the logits it gave on an exact "
              "CPU, recorded in fixtures/digits_int8_expected.npz (first 100 digits)")
    passed = True
    with tempfile.TemporaryDirectory() as workdir:
        for name in MODELS:
            passed &= check_model(args.assay, name, pixels, labels, args.threads, Path(workdir), ort_exact)
    print("crosscheck-models: " + ("all within the acceptance rule" if passed else "FAILED the acceptance rule"))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
