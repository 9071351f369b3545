#!/usr/bin/env python3
"""Train the digits CNN and MLP, export them to ONNX, quantize them statically, write Tools/models/fixtures/.

Seeded and single-threaded so that a rerun on the same machine writes byte-identical files.
Run through ./make_fixtures.sh, which creates the pinned venv first.
"""
import os

# Fixed thread counts before numpy/onnxruntime load: a different BLAS split changes float sums and so the weights.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                      quantize_static)
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier

SEED = 20261130
FIXTURES = Path(__file__).resolve().parent / "fixtures"
OPSET = 13
PIXEL_MAX = 16.0  # load_digits pixels are integers 0..16; models take pixel / 16 as float32
TEST_COUNT = 540
CALIBRATION_COUNT = 200


def split_digits():
    """Seeded permutation of the 1797 digits into test, calibration and training splits (in that order)."""
    digits = load_digits()
    order = np.random.default_rng(SEED).permutation(len(digits.target))
    pixels = digits.images[order].astype(np.uint8)  # [N, 8, 8], values 0..16
    labels = digits.target[order].astype(np.int64)
    cuts = (TEST_COUNT, TEST_COUNT + CALIBRATION_COUNT)
    names = ("test", "calibration", "train")
    return {name: (p, l) for name, p, l in zip(names, np.split(pixels, cuts), np.split(labels, cuts))}


def to_model_input(pixels):
    """uint8 pixels [N, 8, 8] -> the models' float32 NCHW input [N, 1, 8, 8] in [0, 1]."""
    return (pixels.astype(np.float32) / np.float32(PIXEL_MAX))[:, None, :, :]


# ---------------------------------------------------------------- numpy CNN (forward and backward)

def im2col_3x3(x):
    """[N, C, H, W] -> [N*H*W, C*9] patches of a 3x3 window, stride 1, zero padding 1."""
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))  # [N, C, H, W, 3, 3]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * w, c * 9)


def col2im_3x3(cols, shape):
    """Adjoint of im2col_3x3: sums each patch gradient back onto the input pixels it came from."""
    n, c, h, w = shape
    patches = cols.reshape(n, h, w, c, 3, 3).transpose(0, 3, 1, 2, 4, 5)
    padded = np.zeros((n, c, h + 2, w + 2), dtype=cols.dtype)
    for i in range(3):
        for j in range(3):
            padded[:, :, i:i + h, j:j + w] += patches[..., i, j]
    return padded[:, :, 1:-1, 1:-1]


def conv_forward(x, weight, bias):
    n, _, h, w = x.shape
    cols = im2col_3x3(x)
    out = cols @ weight.reshape(len(weight), -1).T + bias
    return out.reshape(n, h, w, -1).transpose(0, 3, 1, 2), cols


def conv_backward(grad_out, cols, weight, x_shape):
    grad_flat = grad_out.transpose(0, 2, 3, 1).reshape(-1, len(weight))
    grad_weight = (grad_flat.T @ cols).reshape(weight.shape)
    grad_x = col2im_3x3(grad_flat @ weight.reshape(len(weight), -1), x_shape)
    return grad_x, grad_weight, grad_flat.sum(axis=0)


def maxpool_2x2_forward(x):
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    winner = blocks.argmax(axis=-1)  # first maximum, so ties send the gradient to one input only
    return np.take_along_axis(blocks, winner[..., None], axis=-1)[..., 0], winner


def maxpool_2x2_backward(grad_out, winner, x_shape):
    n, c, h, w = x_shape
    blocks = np.zeros(winner.shape + (4,), dtype=grad_out.dtype)
    np.put_along_axis(blocks, winner[..., None], grad_out[..., None], axis=-1)
    return blocks.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(x_shape)


CNN_CONVS = (("conv1", 1, 8), ("conv2", 8, 16), ("conv3", 16, 32))
CNN_CLASSES = 10


def init_cnn(rng):
    params = {}
    for name, c_in, c_out in CNN_CONVS:
        params[name + ".weight"] = rng.normal(0, np.sqrt(2 / (c_in * 9)), (c_out, c_in, 3, 3))
        params[name + ".bias"] = np.zeros(c_out)
    width = CNN_CONVS[-1][2]
    params["fc.weight"] = rng.normal(0, np.sqrt(1 / width), (width, CNN_CLASSES))  # [in, out], as MatMul takes it
    params["fc.bias"] = np.zeros(CNN_CLASSES)
    return params


def cnn_forward(params, x):
    """conv1-relu, conv2-relu, maxpool 2x2, conv3-relu, global average pool, dense. Returns logits and a tape."""
    tape = {}
    h = x
    for name, _, _ in CNN_CONVS:
        tape[name + ".in"] = h
        h, tape[name + ".cols"] = conv_forward(h, params[name + ".weight"], params[name + ".bias"])
        h = np.maximum(h, 0)
        tape[name + ".relu"] = h
        if name == "conv2":
            tape["pool.in_shape"] = h.shape
            h, tape["pool.winner"] = maxpool_2x2_forward(h)
    tape["gap.shape"] = h.shape
    pooled = h.mean(axis=(2, 3))
    tape["fc.in"] = pooled
    return pooled @ params["fc.weight"] + params["fc.bias"], tape


def cnn_backward(params, tape, grad_logits):
    grads = {"fc.weight": tape["fc.in"].T @ grad_logits, "fc.bias": grad_logits.sum(axis=0)}
    n, c, h, w = tape["gap.shape"]
    grad = np.broadcast_to((grad_logits @ params["fc.weight"].T)[:, :, None, None] / (h * w), (n, c, h, w))
    for name, _, _ in reversed(CNN_CONVS):
        if name == "conv2":
            grad = maxpool_2x2_backward(grad, tape["pool.winner"], tape["pool.in_shape"])
        grad = grad * (tape[name + ".relu"] > 0)
        grad, grads[name + ".weight"], grads[name + ".bias"] = conv_backward(
            grad, tape[name + ".cols"], params[name + ".weight"], tape[name + ".in"].shape)
    return grads


def softmax_cross_entropy_grad(logits, labels):
    """Gradient of the mean cross-entropy with respect to the logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    probs[np.arange(len(labels)), labels] -= 1
    return probs / len(labels)


def train_cnn(x, labels, epochs=40, batch=32, lr=3e-3):
    """Adam (beta1 0.9, beta2 0.999) on minibatches drawn in a seeded order; float64 throughout."""
    rng = np.random.default_rng(SEED)
    params = init_cnn(rng)
    moment1 = {k: np.zeros_like(v) for k, v in params.items()}
    moment2 = {k: np.zeros_like(v) for k, v in params.items()}
    step = 0
    x = x.astype(np.float64)
    for _ in range(epochs):
        order = rng.permutation(len(labels))
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            logits, tape = cnn_forward(params, x[idx])
            grads = cnn_backward(params, tape, softmax_cross_entropy_grad(logits, labels[idx]))
            step += 1
            for k in params:
                moment1[k] = 0.9 * moment1[k] + 0.1 * grads[k]
                moment2[k] = 0.999 * moment2[k] + 0.001 * grads[k] ** 2
                m_hat = moment1[k] / (1 - 0.9 ** step)
                v_hat = moment2[k] / (1 - 0.999 ** step)
                params[k] -= lr * m_hat / (np.sqrt(v_hat) + 1e-8)
    return params


# ---------------------------------------------------------------- ONNX export (onnx.helper)

def initializer(name, array):
    return numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name)


def dense_nodes(prefix, source, target, weight, bias):
    """MatMul + Add rather than Gemm: QOperator quantizes MatMul to QLinearMatMul (Gemm would become QGemm)."""
    nodes = [helper.make_node("MatMul", [source, prefix + ".weight"], [prefix + ".matmul"], name=prefix + "_matmul"),
             helper.make_node("Add", [prefix + ".matmul", prefix + ".bias"], [target], name=prefix + "_add")]
    return nodes, [initializer(prefix + ".weight", weight), initializer(prefix + ".bias", bias)]


def flatten_node(source, target, width):
    """Reshape to [N, width] (batch kept by the 0 in the shape): the quantizer keeps Reshape in uint8."""
    shape = numpy_helper.from_array(np.array([0, width], dtype=np.int64), target + ".shape")
    return helper.make_node("Reshape", [source, target + ".shape"], [target], name=target), shape


def make_model(name, nodes, initializers):
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], initializers)
    model = helper.make_model(graph, producer_name="assay-tools-models", producer_version="1",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # readable by every onnxruntime since 1.10
    onnx.checker.check_model(model, full_check=True)
    return model


def export_cnn(params):
    nodes, inits, source = [], [], "input"
    for name, _, _ in CNN_CONVS:
        nodes.append(helper.make_node("Conv", [source, name + ".weight", name + ".bias"], [name + ".out"],
                                      name=name, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]))
        nodes.append(helper.make_node("Relu", [name + ".out"], [name + ".relu"], name=name + "_relu"))
        inits += [initializer(name + ".weight", params[name + ".weight"]),
                  initializer(name + ".bias", params[name + ".bias"])]
        source = name + ".relu"
        if name == "conv2":
            nodes.append(helper.make_node("MaxPool", [source], ["pool"], name="pool", kernel_shape=[2, 2],
                                          strides=[2, 2]))
            source = "pool"
    nodes.append(helper.make_node("GlobalAveragePool", [source], ["gap"], name="gap"))
    reshape, shape = flatten_node("gap", "flat", CNN_CONVS[-1][2])
    fc_nodes, fc_inits = dense_nodes("fc", "flat", "logits", params["fc.weight"], params["fc.bias"])
    return make_model("digits_cnn", nodes + [reshape] + fc_nodes, inits + [shape] + fc_inits)


MLP_HIDDEN = (64, 32)


def train_mlp(x, labels):
    mlp = MLPClassifier(hidden_layer_sizes=MLP_HIDDEN, activation="relu", solver="adam", alpha=1e-4,
                        batch_size=32, learning_rate_init=1e-3, max_iter=200, random_state=SEED)
    return mlp.fit(x.reshape(len(x), -1), labels)


def export_mlp(mlp):
    """The fitted MLPClassifier's weights as a plain graph emitting logits.

    skl2onnx would append Softmax, ArgMax and label-decoding ops that are not part of the network; the
    weights are all the kernel needs, and the logits keep the comparison with qnn/1 exact.
    """
    width = 64
    reshape, shape = flatten_node("input", "flat", width)
    nodes, inits, source = [reshape], [shape], "flat"
    last = len(mlp.coefs_) - 1
    for i, (weight, bias) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
        prefix = f"fc{i + 1}"
        target = "logits" if i == last else prefix + ".out"
        layer_nodes, layer_inits = dense_nodes(prefix, source, target, weight, bias)
        nodes += layer_nodes
        inits += layer_inits
        if i != last:
            nodes.append(helper.make_node("Relu", [target], [prefix + ".relu"], name=prefix + "_relu"))
            source = prefix + ".relu"
    return make_model("digits_mlp", nodes, inits)


# ---------------------------------------------------------------- quantization

class DigitsCalibration(CalibrationDataReader):
    """Feeds the calibration split in fixed batches of 20, always in the same order."""

    def __init__(self, x, batch=20):
        self.batches = iter([{"input": x[i:i + batch]} for i in range(0, len(x), batch)])

    def get_next(self):
        return next(self.batches, None)


QUANT_FORMATS = {"qop": QuantFormat.QOperator, "qdq": QuantFormat.QDQ}


def quantize(float_path, calibration_x, suffix):
    out = float_path.with_name(float_path.stem + f"_int8_{suffix}.onnx")
    # uint8 activations (asymmetric, zero point from the calibrated range), int8 weights (symmetric, zero point 0),
    # one scale per tensor, MinMax calibration.
    quantize_static(str(float_path), str(out), DigitsCalibration(calibration_x), quant_format=QUANT_FORMATS[suffix],
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=False,
                    calibrate_method=CalibrationMethod.MinMax)
    return out


def accuracy(path, x, labels):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {"input": x})[0]
    return float((logits.argmax(axis=1) == labels).mean())


def main():
    FIXTURES.mkdir(exist_ok=True)
    splits = split_digits()
    test_pixels, test_labels = splits["test"]
    train_x, train_labels = to_model_input(splits["train"][0]), splits["train"][1]
    calibration_x = to_model_input(splits["calibration"][0])
    np.savez(FIXTURES / "digits_test.npz", pixels=test_pixels, labels=test_labels)

    started = time.process_time()
    cnn = export_cnn(train_cnn(train_x, train_labels))
    cnn_seconds = time.process_time() - started
    started = time.process_time()
    mlp = export_mlp(train_mlp(train_x, train_labels))
    mlp_seconds = time.process_time() - started
    print(f"training CPU time: cnn {cnn_seconds:.1f} s, mlp {mlp_seconds:.1f} s")

    written = [FIXTURES / "digits_test.npz"]
    for name, model in (("digits_cnn", cnn), ("digits_mlp", mlp)):
        float_path = FIXTURES / f"{name}.onnx"
        onnx.save(model, str(float_path))
        written += [float_path] + [quantize(float_path, calibration_x, s) for s in QUANT_FORMATS]

    test_x = to_model_input(test_pixels)
    for path in written:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        score = f"accuracy {accuracy(path, test_x, test_labels):.4f}" if path.suffix == ".onnx" else ""
        print(f"{path.name:30} {path.stat().st_size:7d} B  sha256 {digest}  {score}")


if __name__ == "__main__":
    sys.exit(main())
