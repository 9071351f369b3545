#!/usr/bin/env python3
"""The cases behind Tools/crosscheck-kernels (run that script, which prepares the environment).

Every case goes through `assay kernel run` on .npy/.npz files and must equal exact integer arithmetic
(NumPy int64, written here from docs/kernels.md); mlp-q8/1 cases check the requantization rules the same way. Where ONNX Runtime is exact (MatMulInteger uint8 x uint8,
int8 x int8, int8 x uint8; ConvInteger uint8 x uint8) it must equal ONNX Runtime too. For uint8 x int8
MatMulInteger, ONNX Runtime's AVX2 path saturates 16-bit pair sums; its mismatches are reported, not required.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

ONNX_TYPES = {np.dtype(np.uint8): TensorProto.UINT8, np.dtype(np.int8): TensorProto.INT8}
EXTREMES = {np.dtype(np.uint8): [0, 255, 1, 254], np.dtype(np.int8): [-128, 127, 0, -1]}
DIMS = [1, 2, 3, 5, 7, 13, 16, 17, 31, 37, 61, 64, 97]
LONG_K = [256, 257, 509, 1021, 1500]
# (A dtype, B dtype, ONNX Runtime exact on this machine class: AVX2 without VNNI)
GEMM_COMBOS = [(np.uint8, np.uint8, True), (np.int8, np.int8, True), (np.int8, np.uint8, True),
               (np.uint8, np.int8, False)]


def values(rng, dtype, shape):
    """Random values with extremes mixed in; sometimes a whole array of one extreme."""
    dtype = np.dtype(dtype)
    info = np.iinfo(dtype)
    if rng.random() < 0.1:
        return np.full(shape, rng.choice([info.min, info.max]), dtype=dtype)
    array = rng.integers(info.min, info.max + 1, size=shape, dtype=np.int64)
    mask = rng.random(shape) < 0.3
    array[mask] = rng.choice(EXTREMES[dtype], size=int(mask.sum()))
    return array.astype(dtype)


def zero_point(rng, dtype):
    dtype = np.dtype(dtype)
    info = np.iinfo(dtype)
    choice = rng.random()
    if choice < 0.2:
        return None
    if choice < 0.4:
        return np.array(rng.choice([info.min, info.max, 0]), dtype=dtype)
    return np.array(rng.integers(info.min, info.max + 1), dtype=dtype)


def run_assay(assay, kernel, workdir, arrays, x, threads):
    x_path, model_path, out_path = (os.path.join(workdir, name) for name in ("x.npy", "model.npz", "y.npy"))
    np.save(x_path, x)
    np.savez(model_path, **arrays)
    result = subprocess.run([assay, "kernel", "run", kernel, "--input", x_path, "--model", model_path,
                             "--out", out_path, "--threads", str(threads)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"assay failed: {result.stderr.strip()}")
    return np.load(out_path)


def ort_session(node, inputs, output_shape):
    graph = helper.make_graph(
        [node], "case",
        [helper.make_tensor_value_info(name, ONNX_TYPES[array.dtype], list(array.shape)) for name, array in inputs],
        [helper.make_tensor_value_info("y", TensorProto.INT32, list(output_shape))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return model, ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def onnx_inputs(pairs):
    """(name, array) pairs for the ONNX node; an absent optional zero point becomes an empty input name."""
    names, inputs = [], []
    for name, array in pairs:
        names.append(name if array is not None else "")
        if array is not None:
            inputs.append((name, array))
    while names and names[-1] == "":
        names.pop()
    return names, inputs


def gemm_exact(a, b, a_zero, b_zero):
    az = 0 if a_zero is None else int(a_zero)
    bz = 0 if b_zero is None else int(b_zero)
    return (a.astype(np.int64) - az) @ (b.astype(np.int64) - bz)


def conv_exact(x, w, x_zero, w_zero, pads, strides, dilations, group):
    """ONNX ConvInteger by definition: centre, pad with zeros, sum shifted slices, all in int64."""
    xz = 0 if x_zero is None else int(x_zero)
    wz = 0 if w_zero is None else int(w_zero)
    xc = np.pad(x.astype(np.int64) - xz, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    wc = w.astype(np.int64) - wz
    n, c, h, wd = xc.shape
    m, cg, kh, kw = wc.shape
    oh = (h - ((kh - 1) * dilations[0] + 1)) // strides[0] + 1
    ow = (wd - ((kw - 1) * dilations[1] + 1)) // strides[1] + 1
    y = np.zeros((n, m, oh, ow), dtype=np.int64)
    mg = m // group
    for g in range(group):
        xg = xc[:, g * cg:(g + 1) * cg]
        wg = wc[g * mg:(g + 1) * mg]
        for i in range(kh):
            for j in range(kw):
                top, left = i * dilations[0], j * dilations[1]
                patch = xg[:, :, top:top + (oh - 1) * strides[0] + 1:strides[0],
                           left:left + (ow - 1) * strides[1] + 1:strides[1]]
                y[:, g * mg:(g + 1) * mg] += np.einsum("nchw,mc->nmhw", patch, wg[:, :, i, j])
    return y


class Tally:
    def __init__(self):
        self.cases = 0
        self.required_failures = []
        self.ort_exact_checked = 0
        self.ort_info = []  # (case label, mismatching elements, total elements)
        self.reference_checked = 0

    def require(self, label, what, expected, actual):
        if expected.shape != actual.shape or not np.array_equal(expected, actual):
            diff = "shape" if expected.shape != actual.shape else int((expected != actual).sum())
            self.required_failures.append(f"{label}: {what} mismatch ({diff})")


def gemm_cases(rng, count, assay, workdir, tally):
    for index in range(count):
        a_type, b_type, ort_exact = GEMM_COMBOS[index % len(GEMM_COMBOS)]
        m, n = rng.choice(DIMS), rng.choice(DIMS)
        k = int(rng.choice(LONG_K)) if index % 5 == 0 else int(rng.choice(DIMS))
        a, b = values(rng, a_type, (m, k)), values(rng, b_type, (k, n))
        a_zero, b_zero = zero_point(rng, a_type), zero_point(rng, b_type)
        arrays = {"b": b}
        if a_zero is not None:
            arrays["a_zero_point"] = a_zero
        if b_zero is not None:
            arrays["b_zero_point"] = b_zero
        label = f"gemm #{index} {np.dtype(a_type)}x{np.dtype(b_type)} {m}x{k}x{n} za={a_zero} zb={b_zero}"
        exact = gemm_exact(a, b, a_zero, b_zero)
        actual = run_assay(assay, "gemm-i8/1", workdir, arrays, a, threads=1 + index % 2)
        tally.cases += 1
        tally.require(label, "assay vs exact", exact, actual.astype(np.int64))
        names, inputs = onnx_inputs([("a", a), ("b", b), ("a_zero_point", a_zero), ("b_zero_point", b_zero)])
        _, session = ort_session(helper.make_node("MatMulInteger", names, ["y"]), inputs, exact.shape)
        ort_out = session.run(None, dict(inputs))[0].astype(np.int64)
        if ort_exact:
            tally.ort_exact_checked += 1
            tally.require(label, "assay vs onnxruntime", ort_out, actual.astype(np.int64))
        else:
            tally.ort_info.append((label, int((ort_out != exact).sum()), exact.size))


def conv_cases(rng, count, assay, workdir, tally):
    combos = [(np.uint8, np.uint8), (np.int8, np.int8), (np.int8, np.uint8), (np.uint8, np.int8)]
    for index in range(count):
        x_type, w_type = combos[index % len(combos)]
        group = int(rng.choice([1, 1, 2, 3]))
        channels, filters = group * int(rng.integers(1, 4)), group * int(rng.integers(1, 4))
        kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        dilations = [int(rng.integers(1, 3)), int(rng.integers(1, 3))]
        strides = [int(rng.integers(1, 4)), int(rng.integers(1, 4))]
        pads = [int(v) for v in rng.integers(0, 3, size=4)]
        height = (kh - 1) * dilations[0] + 1 + int(rng.integers(0, 9))
        width = (kw - 1) * dilations[1] + 1 + int(rng.integers(0, 9))
        batch = int(rng.integers(1, 3))
        x = values(rng, x_type, (batch, channels, height, width))
        w = values(rng, w_type, (filters, channels // group, kh, kw))
        x_zero, w_zero = zero_point(rng, x_type), zero_point(rng, w_type)
        arrays = {"w": w, "pads": np.array(pads, np.int32), "strides": np.array(strides, np.int32),
                  "dilations": np.array(dilations, np.int32), "group": np.array(group, np.int32)}
        if x_zero is not None:
            arrays["x_zero_point"] = x_zero
        if w_zero is not None:
            arrays["w_zero_point"] = w_zero
        label = (f"conv #{index} {np.dtype(x_type)}x{np.dtype(w_type)} x{list(x.shape)} w{list(w.shape)} "
                 f"pads={pads} strides={strides} dilations={dilations} group={group} zx={x_zero} zw={w_zero}")
        exact = conv_exact(x, w, x_zero, w_zero, pads, strides, dilations, group)
        actual = run_assay(assay, "conv2d-i8/1", workdir, arrays, x, threads=1 + index % 2)
        tally.cases += 1
        tally.require(label, "assay vs exact", exact, actual.astype(np.int64))
        names, inputs = onnx_inputs([("x", x), ("w", w), ("x_zero_point", x_zero), ("w_zero_point", w_zero)])
        node = helper.make_node("ConvInteger", names, ["y"], pads=pads, strides=strides, dilations=dilations,
                                group=group, kernel_shape=[kh, kw])
        model, session = ort_session(node, inputs, exact.shape)
        if index % 8 == 0:
            reference = ReferenceEvaluator(model).run(None, dict(inputs))[0].astype(np.int64)
            tally.reference_checked += 1
            tally.require(label, "assay vs onnx.reference", reference, actual.astype(np.int64))
        if x_type == np.uint8 and w_type == np.uint8:
            ort_out = session.run(None, dict(inputs))[0].astype(np.int64)
            tally.ort_exact_checked += 1
            tally.require(label, "assay vs onnxruntime", ort_out, actual.astype(np.int64))


INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def wrap_int32(values):
    return ((values + (1 << 31)) % (1 << 32)) - (1 << 31)


def srdhm(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int64 arrays holding int32 values."""
    ab = a * b
    q = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    truncated = np.where(q >= 0, q // (1 << 31), -((-q) // (1 << 31)))  # C division truncates toward zero
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, truncated)


def rdbpot(x, exponent):
    """gemmlowp RoundingDivideByPOT."""
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + ((x & mask) > threshold)


def mlp_exact(x, arrays, layers):
    """mlp-q8/1 written from docs/kernels.md, in int64 NumPy."""
    values = x.astype(np.int64)
    zero = int(arrays.get("input_zero_point", 0))
    for i in range(layers):
        weight = arrays[f"layer{i}.weight"].astype(np.int64)
        acc = wrap_int32((values - zero) @ weight + arrays[f"layer{i}.bias"].astype(np.int64))
        v = rdbpot(srdhm(acc, int(arrays[f"layer{i}.multiplier"])), int(arrays[f"layer{i}.shift"]))
        out_zero = int(arrays[f"layer{i}.output_zero_point"])
        low = max(-128, out_zero) if int(arrays.get(f"layer{i}.relu", 0)) == 1 else -128
        values = np.clip(v + out_zero, low, 127)
        zero = out_zero
    return values


def mlp_cases(rng, count, assay, workdir, tally):
    for index in range(count):
        layers = int(rng.integers(1, 4))
        widths = [int(rng.choice(DIMS)) for _ in range(layers + 1)]
        batch = int(rng.choice([1, 2, 7, 16]))
        arrays = {"input_zero_point": np.array(rng.integers(-128, 128), np.int8)}
        for i in range(layers):
            bias = rng.integers(-5000, 5001, size=widths[i + 1]).astype(np.int64)
            if index % 4 == 0:  # accumulators that wrap around
                bias[:2] = [INT32_MAX, INT32_MIN][:len(bias[:2])]
            multiplier = int(rng.choice([INT32_MIN, INT32_MAX, 1 << 30, int(rng.integers(INT32_MIN, INT32_MAX))]))
            arrays.update({
                f"layer{i}.weight": values(rng, np.int8, (widths[i], widths[i + 1])),
                f"layer{i}.bias": bias.astype(np.int32),
                f"layer{i}.multiplier": np.array(multiplier, np.int32),
                f"layer{i}.shift": np.array(rng.integers(0, 32), np.int32),
                f"layer{i}.output_zero_point": np.array(rng.integers(-128, 128), np.int8),
                f"layer{i}.relu": np.array(rng.integers(0, 2), np.uint8),
            })
        x = values(rng, np.int8, (batch, widths[0]))
        label = f"mlp #{index} widths={widths} batch={batch}"
        actual = run_assay(assay, "mlp-q8/1", workdir, arrays, x, threads=1 + index % 2)
        tally.cases += 1
        tally.require(label, "assay vs exact", mlp_exact(x, arrays, layers), actual.astype(np.int64))


def large_uint8_int8(rng, assay, workdir, tally):
    """One 1024^3 uint8 x int8 case: assay must be exact; ONNX Runtime's mismatches are information."""
    a, b = values(rng, np.uint8, (1024, 1024)), values(rng, np.int8, (1024, 1024))
    exact = gemm_exact(a, b, None, None)
    actual = run_assay(assay, "gemm-i8/1", workdir, {"b": b}, a, threads=2)
    tally.cases += 1
    label = "gemm large uint8xint8 1024x1024x1024"
    tally.require(label, "assay vs exact", exact, actual.astype(np.int64))
    _, session = ort_session(helper.make_node("MatMulInteger", ["a", "b"], ["y"]), [("a", a), ("b", b)], exact.shape)
    ort_out = session.run(None, {"a": a, "b": b})[0].astype(np.int64)
    tally.ort_info.append((label, int((ort_out != exact).sum()), exact.size))


def npy_bytes(descr, shape, data, fortran=False):
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}"
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + data


def cli_error_cases(assay, workdir):
    """Malformed .npy inputs and an A/B shape mismatch must each give one error line and exit status 1."""
    good = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.save(os.path.join(workdir, "b.npy"), np.zeros((4, 2), np.uint8))
    with open(os.path.join(workdir, "good.npy"), "wb") as handle:
        np.save(handle, good)
    whole = open(os.path.join(workdir, "good.npy"), "rb").read()
    cases = {
        "truncated": whole[:-3],
        "truncated header": whole[:30],
        "wrong dtype": npy_bytes("<f4", "(3, 4)", b"\0" * 48),
        "big-endian": npy_bytes(">i4", "(3, 4)", b"\0" * 48),
        "Fortran order": npy_bytes("|u1", "(3, 4)", bytes(12), fortran=True),
        "shape disagreeing with data": npy_bytes("|u1", "(5, 4)", bytes(12)),
        "2^40 elements": npy_bytes("|u1", "(1048576, 1048576)", bytes(16)),
        "A/B shape mismatch": npy_bytes("|u1", "(3, 5)", bytes(15)),
    }
    failures = []
    for name, content in cases.items():
        path = os.path.join(workdir, "bad.npy")
        with open(path, "wb") as handle:
            handle.write(content)
        # GNU time reports the peak resident memory of assay itself: proof that nothing big was allocated.
        peak_path = os.path.join(workdir, "peak")
        timer = ["/usr/bin/time", "-f", "%M", "-o", peak_path] if os.path.exists("/usr/bin/time") else []
        result = subprocess.run(timer + [assay, "kernel", "run", "gemm-i8/1", "--input", path,
                                         "--b", os.path.join(workdir, "b.npy"), "--out", os.path.join(workdir, "y.npy")],
                                capture_output=True, text=True)
        peak_kib = int(open(peak_path).read().split()[-1]) if timer else 0
        lines = result.stderr.strip().splitlines()
        message = lines[0] if lines else ""
        ok = result.returncode == 1 and message.startswith("Error: ") and len(lines) == 1 and peak_kib < 200_000
        print(f"  {'ok' if ok else 'FAIL'} {name}: exit {result.returncode}, peak {peak_kib} KiB, {message}")
        if not ok:
            failures.append(f"CLI error case '{name}': exit {result.returncode}, stderr {result.stderr.strip()!r}")
    return failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--assay", required=True)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--cases", type=int, default=120, help="cases per kernel")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    tally = Tally()
    print(f"seed {args.seed}, onnxruntime {ort.__version__}, onnx {onnx.__version__}, numpy {np.__version__}")
    with tempfile.TemporaryDirectory() as workdir:
        print("malformed inputs (each must exit 1 with one error line, no large allocation):")
        tally.required_failures += cli_error_cases(args.assay, workdir)
        gemm_cases(rng, args.cases, args.assay, workdir, tally)
        conv_cases(rng, args.cases, args.assay, workdir, tally)
        mlp_cases(rng, args.cases // 3, args.assay, workdir, tally)
        large_uint8_int8(rng, args.assay, workdir, tally)
    for failure in tally.required_failures:
        print("MISMATCH", failure)
    print(f"cases: {tally.cases}; required mismatches: {len(tally.required_failures)} "
          f"(vs exact int64 on every case, vs onnxruntime on {tally.ort_exact_checked} exact-combination cases, "
          f"vs onnx.reference on {tally.reference_checked} conv cases)")
    differing = [entry for entry in tally.ort_info if entry[1] > 0]
    print(f"information: onnxruntime MatMulInteger uint8 x int8 differs from exact arithmetic in "
          f"{len(differing)} of {len(tally.ort_info)} cases")
    for label, wrong, total in tally.ort_info:
        if "large" in label:
            print(f"information: {label}: onnxruntime wrong in {wrong} of {total} elements")
    sys.exit(1 if tally.required_failures else 0)


if __name__ == "__main__":
    main()
