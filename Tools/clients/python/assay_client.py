"""An outside Assay wallet, written from docs/encoding.md, docs/encoding-transactions.md, docs/kernels.md
(tensor and model bytes) and docs/rpc.md only: it shares no code with the Swift implementation.

  assay_client.py new-key                                  print a fresh secret key and its address
  assay_client.py address --secret HEX
  assay_client.py transfer --node URL --secret HEX --to ADDR --amount BASE_UNITS
  assay_client.py job --node URL --secret HEX --offer ID [--m 4 --k 8 --n 4] [--deadline-blocks 50]
      registers a small random gemm-i8/1 model (B, int8 [k, n]) if the chain lacks it, then submits a job with a
      random int8 A [m, k]; max_work_units = m*k*n.
  assay_client.py blob-put --node URL FILE                 upload FILE as a blob (resuming), print its id
  assay_client.py blob-get --node URL ID --out FILE        download blob ID into FILE, verified against ID
      (docs/encoding.md "Blobs" and docs/rpc.md "Blobs over HTTP")
  assay_client.py job-money --node URL JOB_ID              how the job's money moved (escrow, paid, refunded, burned,
      slashed), as JSON, from the events of block_results, checked against the job view's settlement (money_flow.py)

Every transaction is sent with broadcast_tx_commit; the script exits 1 if the node rejects it or the committed
result code is not 0.
"""
import argparse, hashlib, json, os, struct, sys, tempfile

import coincurve
import requests

from money_flow import job_money


# ---- primitives (docs/encoding.md, "Primitive rules") ----

def uleb(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def u32(value):
    return struct.pack("<I", value)


def u64(value):
    return struct.pack("<Q", value)


def var_bytes(data):
    return uleb(len(data)) + data


def string(text):
    return var_bytes(text.encode("utf-8"))


def sha256(data):
    return hashlib.sha256(data).digest()


# ---- bech32m addresses (BIP-350; docs/encoding.md, "Keys, hashes, addresses") ----

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32M_CONST = 0x2BC830A3


def _polymod(values):
    generators = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            check ^= generators[i] if (top >> i) & 1 else 0
    return check


def _hrp_expand(hrp):
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data, from_bits, to_bits, pad):
    acc, bits, out = 0, 0, []
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & ((1 << to_bits) - 1))
    if pad and bits:
        out.append((acc << (to_bits - bits)) & ((1 << to_bits) - 1))
    elif not pad and (bits >= from_bits or (acc << (to_bits - bits)) & ((1 << to_bits) - 1)):
        raise ValueError("invalid padding")
    return out


def address_encode(raw20, hrp="assay"):
    data = _convert_bits(raw20, 8, 5, True)
    polymod = _polymod(_hrp_expand(hrp) + data + [0] * 6) ^ BECH32M_CONST
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[d] for d in data + checksum)


def address_decode(text, hrp="assay"):
    text = text.lower()
    prefix, _, rest = text.rpartition("1")
    if prefix != hrp or len(rest) < 6:
        raise ValueError(f"{text!r} is not an {hrp}1... address")
    data = [CHARSET.index(c) for c in rest]
    if _polymod(_hrp_expand(hrp) + data) != BECH32M_CONST:
        raise ValueError(f"{text!r}: bad bech32m checksum")
    raw = bytes(_convert_bits(data[:-6], 5, 8, False))
    if len(raw) != 20:
        raise ValueError(f"{text!r}: an address is 20 bytes")
    return raw


class Key:
    def __init__(self, secret_hex):
        self.secret = coincurve.PrivateKey(bytes.fromhex(secret_hex))
        self.xonly = self.secret.public_key_xonly.format()  # 32 bytes
        self.address = address_encode(sha256(self.xonly)[:20])

    def sign(self, message32):
        return self.secret.sign_schnorr(message32, os.urandom(32))


# ---- transactions (docs/encoding.md "Transaction", docs/encoding-transactions.md) ----

def transaction(key, chain_id, nonce, fee, body):
    unsigned = string(chain_id) + key.xonly + u64(nonce) + u64(fee) + body
    signature = key.sign(sha256(unsigned))
    assert coincurve.PublicKeyXOnly(key.xonly).verify(signature, sha256(unsigned))
    return unsigned + signature


def transfer_body(recipient20, amount):
    return uleb(0) + recipient20 + u64(amount)


def blob_ref(data):
    """How a transaction names a blob: its id (BlobHasher, below), then its length (u64)."""
    hasher = BlobHasher()
    hasher.update(data)
    return bytes.fromhex(hasher.blob_id()) + u64(len(data))


def register_model_body(model_bytes):
    return uleb(5) + blob_ref(model_bytes)


def job_body(offer_id, kernel, model_hash, input_bytes, max_work_units, deadline):
    return uleb(6) + offer_id + string(kernel) + model_hash + blob_ref(input_bytes) + u64(max_work_units) + u64(deadline)


# ---- tensors and models (docs/kernels.md, "Values") ----

def tensor(dtype_tag, shape, data):
    return uleb(dtype_tag) + uleb(len(shape)) + b"".join(u64(d) for d in shape) + var_bytes(data)


def model(named_tensors):
    items = sorted(named_tensors, key=lambda item: item[0].encode())
    return uleb(len(items)) + b"".join(string(name) + t for name, t in items)


INT8 = 0


# ---- JSON-RPC (docs/rpc.md) ----

class Node:
    def __init__(self, url):
        self.url = url

    def call(self, method, params=None, timeout=30):
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}
        reply = requests.post(self.url, json=body, timeout=timeout).json()
        if "error" in reply:
            raise RuntimeError(f"{method} refused: {reply['error'].get('message')} (code {reply['error'].get('code')})")
        return reply["result"]

    def commit(self, tx_bytes, what):
        result = self.call("broadcast_tx_commit", {"tx": tx_bytes.hex()}, timeout=90)
        if result.get("code") != 0:
            raise RuntimeError(f"{what} committed with code {result.get('code')}: {result.get('log')}")
        print(f"{what}: committed at height {result['height']}, hash {result['hash']}", flush=True)
        return result


# ---- blobs (docs/encoding.md, "Blobs"; docs/rpc.md, "Blobs over HTTP") ----

CHUNK = 1 << 20
REQUEST_CHUNKS = 8  # chunks per upload request: bounds memory on both sides


def blob_root(leaves):
    """RFC 6962 shape: the left subtree of n > 1 leaves holds the largest power of two below n."""
    if len(leaves) == 1:
        return leaves[0]
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    return sha256(b"\x01" + blob_root(leaves[:split]) + blob_root(leaves[split:]))


class BlobHasher:
    """Leaf hashes of bytes fed in pieces of any size; holds at most one chunk."""

    def __init__(self):
        self.pending, self.leaves, self.length = bytearray(), [], 0

    def update(self, data):
        self.length += len(data)
        view = memoryview(data)
        while view:
            take = CHUNK - len(self.pending)
            self.pending += view[:take]
            view = view[take:]
            if len(self.pending) == CHUNK:
                self.leaves.append(sha256(b"\x00" + self.pending))
                self.pending = bytearray()

    def blob_id(self):
        leaves = list(self.leaves)
        if self.pending or not leaves:  # the empty blob is one empty chunk
            leaves.append(sha256(b"\x00" + self.pending))
        return blob_root(leaves).hex()


class Progress:
    """A progress line on stderr, only when stderr is a terminal."""

    def __init__(self, label, total):
        self.label, self.total, self.visible = label, total, sys.stderr.isatty()

    def show(self, done):
        if self.visible:
            fraction = done / self.total if self.total else 1.0
            bar = "#" * int(fraction * 30)
            print(f"\r{self.label} [{bar:.<30}] {int(fraction * 100)}% {done / CHUNK:.1f}/{self.total / CHUNK:.1f} MiB",
                  end="", file=sys.stderr, flush=True)

    def end(self):
        if self.visible:
            print(file=sys.stderr)


def blob_error(response):
    try:
        error = response.json()["error"]
        return f"{error['message']} (HTTP {response.status_code}, {error['reason']})"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"


def blob_status(url, blob_id, length=None):
    """The node's status object for the blob, or None when it holds nothing of it."""
    query = {} if length is None else {"length": length}
    response = requests.get(f"{url}/blobs/{blob_id}/status", params=query, timeout=30)
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise RuntimeError(f"blob status refused: {blob_error(response)}")
    return response.json()


def blob_put(url, path):
    """Uploads the file at path (only the chunks the node lacks) and returns (blob id, length)."""
    hasher = BlobHasher()
    with open(path, "rb") as file:
        while piece := file.read(CHUNK):
            hasher.update(piece)
    blob_id, length = hasher.blob_id(), hasher.length
    count = max(1, -(-length // CHUNK))
    status = blob_status(url, blob_id, length) or {"complete": False, "held_chunks": []}
    if status["complete"]:
        return blob_id, length
    held = set(status["held_chunks"])
    missing = [i for i in range(count) if i not in held]
    progress = Progress("uploading", length)
    sent = sum(min(CHUNK, length - i * CHUNK) for i in held)
    with open(path, "rb") as file:
        while missing:
            run = [missing.pop(0)]
            while missing and missing[0] == run[-1] + 1 and len(run) < REQUEST_CHUNKS:
                run.append(missing.pop(0))
            start = run[0] * CHUNK
            file.seek(start)
            data = file.read(min(length, (run[-1] + 1) * CHUNK) - start)
            headers = {"Content-Range": f"bytes {start}-{start + len(data) - 1}/{length}"} if data else {}
            response = requests.put(f"{url}/blobs/{blob_id}", params={"length": length}, data=data, headers=headers,
                                    timeout=120)
            if response.status_code != 200:
                raise RuntimeError(f"upload refused: {blob_error(response)}")
            status = response.json()
            sent += len(data)
            progress.show(sent)
    progress.end()
    if not status["complete"]:
        raise RuntimeError(f"the node did not report blob {blob_id} complete after the upload")
    return blob_id, length


def put_bytes(url, data):
    """Uploads bytes held in memory (a tensor or model this client encoded) through a temporary file."""
    with tempfile.NamedTemporaryFile() as file:
        file.write(data)
        file.flush()
        return blob_put(url, file.name)


def blob_get(url, blob_id, out):
    """Streams blob_id into a temporary file beside out while hashing it; renames it to out only if it matches."""
    temporary = f"{out}.partial-{os.getpid()}"
    hasher = BlobHasher()
    try:
        with requests.get(f"{url}/blobs/{blob_id}", stream=True, timeout=120) as response:
            if response.status_code != 200:
                raise RuntimeError(f"download refused: {blob_error(response)}")
            progress = Progress("downloading", int(response.headers.get("Content-Length", 0)))
            with open(temporary, "wb") as file:
                for piece in response.iter_content(chunk_size=256 << 10):
                    hasher.update(piece)
                    file.write(piece)
                    progress.show(hasher.length)
                file.flush()
                os.fsync(file.fileno())
            progress.end()
        actual = hasher.blob_id()
        if actual != blob_id:
            raise RuntimeError(f"the downloaded bytes hash to {actual}, not to {blob_id}; {out} was not written")
        os.replace(temporary, out)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return hasher.length


def sender_state(node, key):
    account = node.call("account", {"address": key.address})
    return node.call("status")["chain_id"], int(account["nonce"]), int(account["balance"])


def cmd_transfer(args):
    node, key = Node(args.node), Key(args.secret)
    chain, nonce, _ = sender_state(node, key)
    tx = transaction(key, chain, nonce, args.fee, transfer_body(address_decode(args.to), args.amount))
    node.commit(tx, f"transfer of {args.amount} base units to {args.to}")


def cmd_job(args):
    node, key = Node(args.node), Key(args.secret)
    chain, nonce, _ = sender_state(node, key)
    rng = os.urandom
    b = tensor(INT8, [args.k, args.n], rng(args.k * args.n))
    model_bytes = model([("b", b)])
    model_hash = blob_ref(model_bytes)[:32]
    put_bytes(node.url, model_bytes)
    tx = transaction(key, chain, nonce, args.fee, register_model_body(model_bytes))
    node.commit(tx, f"register_model {model_hash.hex()}")
    nonce += 1
    a = tensor(INT8, [args.m, args.k], rng(args.m * args.k))
    deadline = node.call("status")["latest_height"] + args.deadline_blocks
    units = args.m * args.k * args.n
    put_bytes(node.url, a)
    body = job_body(bytes.fromhex(args.offer), "gemm-i8/1", model_hash, a, units, deadline)
    tx = transaction(key, chain, nonce, args.fee, body)
    node.commit(tx, f"job on offer {args.offer[:12]}... ({units} work units)")
    print(f"job_id {sha256(tx).hex()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("new-key")
    address = commands.add_parser("address")
    address.add_argument("--secret", required=True)
    for name in ("transfer", "job"):
        sub = commands.add_parser(name)
        sub.add_argument("--node", required=True)
        sub.add_argument("--secret", required=True, help="32-byte secret key, hex")
        sub.add_argument("--fee", type=int, default=1000, help="base units")
        if name == "transfer":
            sub.add_argument("--to", required=True)
            sub.add_argument("--amount", type=int, required=True, help="base units")
        else:
            sub.add_argument("--offer", required=True)
            sub.add_argument("--m", type=int, default=4)
            sub.add_argument("--k", type=int, default=8)
            sub.add_argument("--n", type=int, default=4)
            sub.add_argument("--deadline-blocks", type=int, default=50)
    put = commands.add_parser("blob-put")
    put.add_argument("--node", required=True)
    put.add_argument("file")
    get = commands.add_parser("blob-get")
    get.add_argument("--node", required=True)
    get.add_argument("id")
    get.add_argument("--out", required=True)
    money = commands.add_parser("job-money")
    money.add_argument("--node", required=True)
    money.add_argument("id")
    args = parser.parse_args()
    try:
        if args.command == "new-key":
            secret = coincurve.PrivateKey().secret.hex()
            print(json.dumps({"secret": secret, "address": Key(secret).address}))
        elif args.command == "address":
            print(Key(args.secret).address)
        elif args.command == "transfer":
            cmd_transfer(args)
        elif args.command == "blob-put":
            blob_id, length = blob_put(args.node.rstrip("/"), args.file)
            print(json.dumps({"id": blob_id, "length": length}))
        elif args.command == "job-money":
            print(json.dumps(job_money(Node(args.node), args.id), indent=1))
        elif args.command == "blob-get":
            length = blob_get(args.node.rstrip("/"), args.id, args.out)
            print(json.dumps({"id": args.id, "length": length, "file": args.out}))
        else:
            cmd_job(args)
    except (RuntimeError, ValueError, OSError, requests.RequestException) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
