#!/usr/bin/env python3
"""ONNX Runtime's side of `AssayBench kernels`: times MatMulInteger / ConvInteger cases and prints GOPS.

Reads one case a line on stdin and answers each with one JSON line {"case": ..., "gops": ...} (flushed), so the
bench can measure ONNX Runtime and Assay alternately under the same machine load. Cases:
  gemm,ADTYPE,BDTYPE,M,K,N,THREADS
  conv,XDTYPE,WDTYPE,N,C,H,W,FILTERS,KERNEL,PAD,THREADS
GOPS = 2 x multiply-accumulates / the best time of the runs in about 0.3 s (at least 5 runs).
The weights (B, W) are graph initializers, as in a deployed model, so ONNX Runtime may pre-pack them.
"""
import json
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

ONNX_TYPES = {"uint8": TensorProto.UINT8, "int8": TensorProto.INT8}


def random_array(dtype, shape, rng):
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, size=shape, dtype=np.int64).astype(dtype)


def gemm_case(a_type, b_type, m, k, n, rng):
    b = random_array(b_type, (k, n), rng)
    node = helper.make_node("MatMulInteger", ["a", "b"], ["y"])
    graph = helper.make_graph(
        [node], "gemm",
        [helper.make_tensor_value_info("a", ONNX_TYPES[a_type], [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])],
        initializer=[onnx.numpy_helper.from_array(b, "b")],
    )
    return graph, {"a": random_array(a_type, (m, k), rng)}, m * k * n


def conv_case(x_type, w_type, batch, channels, height, width, filters, kernel, pad, rng):
    w = random_array(w_type, (filters, channels, kernel, kernel), rng)
    node = helper.make_node("ConvInteger", ["x", "w"], ["y"], pads=[pad] * 4)
    out_h, out_w = height + 2 * pad - kernel + 1, width + 2 * pad - kernel + 1
    graph = helper.make_graph(
        [node], "conv",
        [helper.make_tensor_value_info("x", ONNX_TYPES[x_type], [batch, channels, height, width])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [batch, filters, out_h, out_w])],
        initializer=[onnx.numpy_helper.from_array(w, "w")],
    )
    feeds = {"x": random_array(x_type, (batch, channels, height, width), rng)}
    return graph, feeds, batch * filters * out_h * out_w * channels * kernel * kernel


def session(graph, threads):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def gops(sess, feeds, macs):
    for _ in range(2):
        sess.run(None, feeds)
    times = []
    start = time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - start < 0.3 and len(times) < 200):
        begin = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - begin)
    return 2 * macs / min(times) / 1e9


def prepare(spec, rng):
    fields = spec.split(",")
    threads = int(fields[-1])
    if fields[0] == "gemm":
        graph, feeds, macs = gemm_case(fields[1], fields[2], *map(int, fields[3:6]), rng)
    elif fields[0] == "conv":
        graph, feeds, macs = conv_case(fields[1], fields[2], *map(int, fields[3:10]), rng)
    else:
        sys.exit(f"unknown case {spec}")
    return session(graph, threads), feeds, macs


def main():
    rng = np.random.default_rng(7)
    prepared = {}  # a case asked for again (the next round) reuses its session and data
    for line in sys.stdin:
        spec = line.strip()
        if spec not in prepared:
            prepared = {spec: prepare(spec, rng)}
        sess, feeds, macs = prepared[spec]
        print(json.dumps({"case": spec, "gops": gops(sess, feeds, macs)}), flush=True)


if __name__ == "__main__":
    main()
