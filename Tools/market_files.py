"""Job files for market demos and tests, without NumPy: .npy and np.savez-style .npz writers and readers, the inputs
and models of a small gemm-i8/1 job and of a ~10^9-work-unit mlp-q8/1 job (docs/kernels.md), and batches of the
digits test split for the imported digits CNN (Tools/models, docs/models.md)."""
import ast, io, math, os, random, re, struct, subprocess, zipfile

DESCR = {"int8": ("|i1", "b"), "int32": ("<i4", "i"), "uint8": ("|u1", "B"), "int64": ("<i8", "q")}
DTYPE_OF_DESCR = {descr: dtype for dtype, (descr, _) in DESCR.items()}


def npy_header(dtype, shape):
    descr = DESCR[dtype][0]
    dims = "(" + "".join(f"{d}, " for d in shape).rstrip(" ") + ")" if len(shape) != 1 else f"({shape[0]},)"
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()


def npy_bytes(dtype, shape, values):
    return npy_header(dtype, shape) + struct.pack(f"<{len(values)}{DESCR[dtype][1]}", *values)


def write_npy(path, dtype, shape, values):
    with open(path, "wb") as out:
        out.write(npy_bytes(dtype, shape, values))


def write_npz(path, arrays):
    """arrays: {name: (dtype, shape, values)}, stored uncompressed as np.savez does."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, (dtype, shape, values) in arrays.items():
            archive.writestr(name + ".npy", npy_bytes(dtype, shape, values))
    with open(path, "wb") as out:
        out.write(buffer.getvalue())


def gemm_job(directory, tag, m=4, k=8, n=4, seed=0):
    """A random int8 gemm: returns (input.npy, model.npz, work units m*k*n)."""
    rng = random.Random(seed)
    x, model = f"{directory}/{tag}-a.npy", f"{directory}/{tag}-b.npz"
    write_npy(x, "int8", [m, k], [rng.randrange(-128, 128) for _ in range(m * k)])
    write_npz(model, {"b": ("int8", [k, n], [rng.randrange(-128, 128) for _ in range(k * n)])})
    return x, model, m * k * n


def large_gemm_job(directory, m=65536, k=1024, n=8, seed=0):
    """A uint8 x int8 gemm with a large input (64 MiB by default), written without packing it value by value:
    returns (input.npy, model.npz, the input bytes, the model's values row-major)."""
    rng = random.Random(seed)
    data = rng.randbytes(m * k)
    b_values = [rng.randrange(-128, 128) for _ in range(k * n)]
    x, model = f"{directory}/large-a.npy", f"{directory}/large-b.npz"
    with open(x, "wb") as out:
        out.write(npy_header("uint8", [m, k]) + data)
    write_npz(model, {"b": ("int8", [k, n], b_values)})
    return x, model, data, b_values


def large_gemm_model(directory, k=4096, n=4096, seed=1):
    """A gemm model b, int8 [k, n], of k x n random bytes (16 MiB by default), written without packing it value by
    value: returns (model.npz, b's bytes; read them as signed with memoryview(...).cast("b"))."""
    data = random.Random(seed).randbytes(k * n)
    path = f"{directory}/large-model-{k}x{n}.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("b.npy", npy_header("int8", [k, n]) + data)
    return path, data


def parse_npy(blob):
    """(dtype, shape, values) of a C-order .npy of one of the DESCR dtypes (format 1.0 or 2.0), as the CLI and
    np.save write it; anything else raises ValueError."""
    if blob[:6] != b"\x93NUMPY" or blob[6] not in (1, 2):
        raise ValueError("not a .npy of format 1.0 or 2.0")
    size_format, start = ("<H", 10) if blob[6] == 1 else ("<I", 12)
    end = start + struct.unpack(size_format, blob[8:start])[0]
    header = ast.literal_eval(blob[start:end].decode("latin1"))
    if header["fortran_order"] or header["descr"] not in DTYPE_OF_DESCR:
        raise ValueError(f"unsupported .npy header {header}")
    dtype, shape = DTYPE_OF_DESCR[header["descr"]], list(header["shape"])
    return dtype, shape, struct.unpack(f"<{math.prod(shape)}{DESCR[dtype][1]}", blob[end:])


def read_npy(path):
    with open(path, "rb") as file:
        return parse_npy(file.read())


def read_npy_int32(path):
    """The shape and values of an int32 .npy as the CLI writes it."""
    dtype, shape, values = read_npy(path)
    assert dtype == "int32", dtype
    return shape, values


def read_npz(path):
    """{name: (dtype, shape, values)} of an np.savez-style .npz (stored or deflated entries)."""
    with zipfile.ZipFile(path) as archive:
        return {name.removesuffix(".npy"): parse_npy(archive.read(name)) for name in archive.namelist()}


def heavy_mlp_job(directory, batch=17200, width=240, seed=0):
    """mlp-q8/1 with layers 1 -> width -> width -> 1 over `batch` rows: batch x (2 width + width^2) work units
    (0.999e9 by default) from an input and a model that each fit a 64 KiB transaction. A single gemm cannot
    reach 10^9 within the chain's byte limits (its work is at most sqrt(input x model x output bytes))."""
    rng = random.Random(seed)
    x, model = f"{directory}/heavy-x.npy", f"{directory}/heavy-model.npz"
    write_npy(x, "int8", [batch, 1], [rng.randrange(-128, 128) for _ in range(batch)])
    dims = [1, width, width, 1]
    arrays = {}
    for i in range(3):
        arrays[f"layer{i}.weight"] = ("int8", [dims[i], dims[i + 1]], [rng.randrange(-128, 128) for _ in range(dims[i] * dims[i + 1])])
        arrays[f"layer{i}.bias"] = ("int32", [dims[i + 1]], [0] * dims[i + 1])
        arrays[f"layer{i}.multiplier"] = ("int32", [], [1 << 30])
        arrays[f"layer{i}.shift"] = ("int32", [], [8])
        arrays[f"layer{i}.output_zero_point"] = ("int8", [], [0])
    write_npz(model, arrays)
    return x, model, batch * sum(dims[i] * dims[i + 1] for i in range(3))


def wide_mlp_job(directory, batch=8192, width=2048, layers=6, seed=0, tag="wide"):
    """mlp-q8/1 with `layers` layers of width x width over `batch` rows, random int8 weights and inputs written
    without packing them value by value: batch x width^2 x layers work units (2.06 x 10^11 by default, issue 11's
    acceptance job: a 16 MiB input, a 24 MiB model). Returns (input.npy, model.npz, work units)."""
    rng = random.Random(seed)
    x, model = f"{directory}/{tag}-x.npy", f"{directory}/{tag}-model.npz"
    with open(x, "wb") as out:
        out.write(npy_header("int8", [batch, width]) + rng.randbytes(batch * width))
    with zipfile.ZipFile(model, "w", zipfile.ZIP_STORED) as archive:
        for i in range(layers):
            archive.writestr(f"layer{i}.weight.npy", npy_header("int8", [width, width]) + rng.randbytes(width * width))
            archive.writestr(f"layer{i}.bias.npy", npy_bytes("int32", [width], [0] * width))
            archive.writestr(f"layer{i}.multiplier.npy", npy_bytes("int32", [], [1 << 30]))
            archive.writestr(f"layer{i}.shift.npy", npy_bytes("int32", [], [12]))
            archive.writestr(f"layer{i}.output_zero_point.npy", npy_bytes("int8", [], [0]))
    return x, model, batch * width * width * layers


def qnn_cnn_job(directory, batch=256, seed=0, tag="qnn"):
    """A qnn/1 CNN shaped like the digits one (uint8 [batch, 1, 8, 8] in, uint8 [batch, 10] out; docs/kernels.md,
    "qnn/1"), with random int8 weights: conv 1->8 with relu, concat of the input and that (so its tiles read the job
    input and the trace), 2x2 max pool, conv 9->16, conv 16->16, the add of those two convs (two trace layers),
    global average pool, reshape, linear 16->10. Trace layers: 0 conv, 1 concat, 2 pool, 3 conv, 4 conv, 5 add,
    6 pool, 7 reshape, 8 linear. Returns (input.npy, model.npz)."""
    rng = random.Random(seed)
    x, model = f"{directory}/{tag}-x.npy", f"{directory}/{tag}-model.npz"
    write_npy(x, "uint8", [batch, 1, 8, 8], [rng.randrange(0, 256) for _ in range(batch * 64)])
    arrays = {"input_zero_point": ("uint8", [], [0])}

    def node(i, op, inputs, fields):
        arrays[f"node{i}.op"] = ("uint8", [], [op])
        arrays[f"node{i}.inputs"] = ("int32", [len(inputs)], inputs)
        arrays.update({f"node{i}.{name}": value for name, value in fields.items()})

    def scale(shift, zero_point=0):
        return {"multiplier": ("int32", [], [1 << 30]), "shift": ("int32", [], [shift]),
                "output_zero_point": ("uint8", [], [zero_point])}

    def conv(channels, filters, shift):
        return {"weight": ("int8", [filters, channels, 3, 3], [rng.randrange(-128, 128) for _ in range(filters * channels * 9)]),
                "bias": ("int32", [filters], [rng.randrange(-1000, 1000) for _ in range(filters)]),
                "pads": ("int32", [4], [1, 1, 1, 1]), "clamp": ("uint8", [2], [0, 255]), **scale(shift)}

    node(0, 1, [0], conv(1, 8, 6))
    node(1, 9, [0, 1], {"axis": ("int32", [], [1])})
    node(2, 3, [2], {"kernel": ("int32", [2], [2, 2]), "strides": ("int32", [2], [2, 2])})
    node(3, 1, [3], conv(9, 16, 8))
    node(4, 1, [4], conv(16, 16, 8))
    node(5, 2, [4, 5], {"a_multiplier": ("int32", [], [1 << 30]), "a_shift": ("int32", [], [0]),
                        "b_multiplier": ("int32", [], [1 << 30]), "b_shift": ("int32", [], [0]), **scale(19)})
    node(6, 5, [6], scale(4))
    node(7, 6, [7], {"shape": ("int32", [2], [0, -1])})
    node(8, 0, [8], {"weight": ("int8", [16, 10], [rng.randrange(-128, 128) for _ in range(160)]),
                     "bias": ("int32", [10], [0] * 10), **scale(7, 128)})
    write_npz(model, arrays)
    return x, model


MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models", "fixtures")
DIGITS_CNN = os.path.join(MODELS, "digits_cnn_int8_qop.onnx")
DIGITS_TEST = os.path.join(MODELS, "digits_test.npz")
# What `assay model import` prints of the model's input (docs/models.md, "Input and output").
IMPORTED_INPUT = re.compile(r"^input '[^']*' (u?int8) \[N, ([\d, ]+)\]: "
                            r"q = clamp\(round_half_even\(x / (\S+)\) \+ (-?\d+), (-?\d+), (-?\d+)\)$", re.MULTILINE)


def import_digits_cnn(assay, directory):
    """Imports Tools/models' int8 digits CNN with `assay model import`; returns (model.qnn, its input as printed:
    (dtype, shape of one item, scale, zero point, low, high))."""
    model = os.path.join(directory, "digits.qnn")
    done = subprocess.run([assay, "model", "import", DIGITS_CNN, "--out", model], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"assay model import {DIGITS_CNN} failed: {done.stderr.strip()}")
    found = IMPORTED_INPUT.search(done.stdout)
    if not found:
        raise RuntimeError(f"assay model import printed no input line: {done.stdout}")
    dtype, dims, scale, zero_point, low, high = found.groups()
    return model, (dtype, [int(d) for d in dims.split(",")], float(scale), int(zero_point), int(low), int(high))


def float32(value):
    """value rounded to the nearest float32 (as a Python float)."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def quantize_pixel(pixel, scale, zero_point, low, high):
    """A client's quantization of one digits pixel (0..16) for the model (Tools/models/README.md): the model input
    x = pixel / 16 in float32, then q = clamp(round_half_even(x / scale) + zero_point) with the float32 division
    ONNX Runtime and NumPy do (a float32 quotient rounded from the double one is the exactly rounded float32
    quotient, 53 >= 2 x 24 + 2 bits) and the float32 scale that import prints in its shortest form."""
    quotient = float32(float32(pixel / 16) / float32(scale))
    return min(max(round(quotient) + zero_point, low), high)


def digits_batch(directory, model_input, first, count, tag="digits"):
    """The test digits first..first+count-1 (of 540) as the imported model's input .npy; returns (input.npy,
    their labels)."""
    dtype, item_shape, scale, zero_point, low, high = model_input
    split = read_npz(DIGITS_TEST)
    _, pixel_shape, pixels = split["pixels"]
    labels = split["labels"][2]
    per_item = math.prod(item_shape)
    if pixel_shape[1] * pixel_shape[2] != per_item or not 0 <= first < first + count <= len(labels):
        raise ValueError(f"digits {first}..{first + count - 1} of {len(labels)} do not fit an input of {item_shape}")
    table = [quantize_pixel(p, scale, zero_point, low, high) for p in range(17)]
    x = os.path.join(directory, f"{tag}-x.npy")
    write_npy(x, dtype, [count, *item_shape], [table[p] for p in pixels[first * per_item:(first + count) * per_item]])
    return x, list(labels[first:first + count])


def argmax_rows(values, width):
    """The index of each row's largest value (the first on ties, as NumPy's argmax)."""
    rows = [values[i:i + width] for i in range(0, len(values), width)]
    return [row.index(max(row)) for row in rows]
