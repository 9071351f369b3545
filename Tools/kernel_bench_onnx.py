#!/usr/bin/env python3
"""ONNX Runtime's side of `AssayBench kernels`: times MatMulInteger / ConvInteger cases and prints GOPS.

Reads one case a line on stdin and answers each with one JSON line {"case": ..., "gops": ...} (flushed), so the
bench can measure ONNX Runtime and Assay alternately under the same machine load. Cases:
  gemm,ADTYPE,BDTYPE,M,K,N,THREADS
  conv,XDTYPE,WDTYPE,N,C,H,W,FILTERS,KERNEL,PAD,THREADS
  qnn,DIRECTORY,THREADS     a qnn/1 chain of convolutions written by `AssayBench models` (one NAME.npy per model
                            array, and input.npy), run as QLinearConv nodes
  onnx,MODEL,INPUT,MACS,THREADS  a quantized .onnx file run as it is, on INPUT.npy's uint8 elements dequantized by
                            the model's input QuantizeLinear (which gives the same bytes back); MACS as Assay counts
GOPS = 2 x multiply-accumulates / the best time of the runs in about 0.3 s (at least 5 runs).
The weights (B, W) are graph initializers, as in a deployed model, so ONNX Runtime may pre-pack them.
"""
import json
import os
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


def qnn_case(directory):
    """The qnn/1 convolution chain in `directory` as QLinearConv nodes with the same int8 weights, int32 biases, pads
    and zero points. Node i's scale multiplier x 2^-31 x 2^-shift is x_scale x w_scale / y_scale with w_scale 1 and
    x_scale the previous node's y_scale (1 for the input), so every node requantizes by the same factor; ONNX Runtime
    rounds it in float, not as gemmlowp does, so single elements may differ by a unit (the timing is what counts)."""
    arrays = {name[:-4]: np.load(os.path.join(directory, name)) for name in os.listdir(directory)}
    x = arrays.pop("input")
    initializers = []

    def constant(name, value):
        initializers.append(onnx.numpy_helper.from_array(np.asarray(value), name))
        return name

    nodes, tensor, scale, zero, shape, macs = [], "x", 1.0, arrays["input_zero_point"], x.shape, 0
    for i in range(len([name for name in arrays if name.endswith(".op")])):
        field = lambda name: arrays[f"node{i}.{name}"]  # noqa: E731
        assert int(field("op")) == 1, "the bench writes convolutions only"
        w, pads = field("weight"), [int(p) for p in field("pads")]
        out_scale = scale * 2.0 ** (31 + int(field("shift"))) / int(field("multiplier"))
        out_zero = field("output_zero_point")
        inputs = [tensor, constant(f"s{i}", np.float32(scale)), constant(f"z{i}", zero), constant(f"w{i}", w),
                  constant(f"ws{i}", np.float32(1)), constant(f"wz{i}", np.int8(0)),
                  constant(f"ys{i}", np.float32(out_scale)), constant(f"yz{i}", out_zero), constant(f"b{i}", field("bias"))]
        nodes.append(helper.make_node("QLinearConv", inputs, [f"t{i}"], pads=pads))
        shape = (shape[0], w.shape[0], shape[2] + pads[0] + pads[2] - w.shape[2] + 1, shape[3] + pads[1] + pads[3] - w.shape[3] + 1)
        macs += int(np.prod(shape)) * int(np.prod(w.shape[1:]))
        tensor, scale, zero = f"t{i}", out_scale, out_zero
    graph = helper.make_graph(
        nodes, "qnn", [helper.make_tensor_value_info("x", TensorProto.UINT8, list(x.shape))],
        [helper.make_tensor_value_info(tensor, TensorProto.UINT8, list(shape))], initializer=initializers)
    return graph, {"x": x}, macs


def onnx_case(model_path, input_path, macs):
    model = onnx.load(model_path)
    name = model.graph.input[0].name
    quantize = next(node for node in model.graph.node if node.op_type == "QuantizeLinear" and node.input[0] == name)
    constants = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    scale, zero = constants[quantize.input[1]], constants[quantize.input[2]]
    x = (np.load(input_path).astype(np.float32) - np.float32(zero)) * np.float32(scale)
    return model, {name: x}, macs


def graph_model(graph):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def session(model, threads):
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
    if fields[0] == "onnx":
        model, feeds, macs = onnx_case(fields[1], fields[2], int(fields[3]))
        return session(model, threads), feeds, macs
    if fields[0] == "gemm":
        graph, feeds, macs = gemm_case(fields[1], fields[2], *map(int, fields[3:6]), rng)
    elif fields[0] == "conv":
        graph, feeds, macs = conv_case(fields[1], fields[2], *map(int, fields[3:10]), rng)
    elif fields[0] == "qnn":
        graph, feeds, macs = qnn_case(fields[1])
    else:
        sys.exit(f"unknown case {spec}")
    return session(graph_model(graph), threads), feeds, macs


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
