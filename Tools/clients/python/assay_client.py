"""An outside Assay wallet, written from docs/encoding.md, docs/encoding-transactions.md, docs/kernels.md
(tensor and model bytes) and docs/rpc.md only: it shares no code with the Swift implementation.

  assay_client.py new-key                                  print a fresh secret key and its address
  assay_client.py address --secret HEX
  assay_client.py transfer --node URL --secret HEX --to ADDR --amount BASE_UNITS
  assay_client.py job --node URL --secret HEX --offer ID [--m 4 --k 8 --n 4] [--deadline-blocks 50]
      registers a small random gemm-i8/1 model (B, int8 [k, n]) if the chain lacks it, then submits a job with a
      random int8 A [m, k]; max_work_units = m*k*n.

Every transaction is sent with broadcast_tx_commit; the script exits 1 if the node rejects it or the committed
result code is not 0.
"""
import argparse, hashlib, json, os, struct, sys

import coincurve
import requests


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


# ---- blobs (docs/encoding.md, "Blobs") ----

CHUNK = 1 << 20


def blob_id(data):
    """The Merkle root over 1 MiB chunks: leaves sha256(00 || chunk), nodes sha256(01 || left || right)."""
    chunks = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]

    def root(leaves):
        if len(leaves) == 1:
            return leaves[0]
        split = 1 << ((len(leaves) - 1).bit_length() - 1)
        return sha256(b"\x01" + root(leaves[:split]) + root(leaves[split:]))

    return root([sha256(b"\x00" + chunk) for chunk in chunks])


def blob_ref(data):
    """How a transaction names a blob: its id, then its length (u64)."""
    return blob_id(data) + u64(len(data))


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

    def put_blob(self, data):
        """Uploads a blob (PUT /blobs/{id}?length=N on the RPC port) so that the node admits transactions naming it."""
        ident = blob_id(data).hex()
        base = self.url.rstrip("/")
        reply = requests.put(f"{base}/blobs/{ident}", params={"length": len(data)}, data=data, timeout=300)
        if reply.status_code != 200:
            raise RuntimeError(f"upload of blob {ident} refused: HTTP {reply.status_code} {reply.text[:300]}")
        return ident

    def commit(self, tx_bytes, what):
        result = self.call("broadcast_tx_commit", {"tx": tx_bytes.hex()}, timeout=90)
        if result.get("code") != 0:
            raise RuntimeError(f"{what} committed with code {result.get('code')}: {result.get('log')}")
        print(f"{what}: committed at height {result['height']}, hash {result['hash']}", flush=True)
        return result


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
    model_hash = blob_id(model_bytes)
    node.put_blob(model_bytes)
    tx = transaction(key, chain, nonce, args.fee, register_model_body(model_bytes))
    node.commit(tx, f"register_model {model_hash.hex()}")
    nonce += 1
    a = tensor(INT8, [args.m, args.k], rng(args.m * args.k))
    deadline = node.call("status")["latest_height"] + args.deadline_blocks
    units = args.m * args.k * args.n
    node.put_blob(a)
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
    args = parser.parse_args()
    try:
        if args.command == "new-key":
            secret = coincurve.PrivateKey().secret.hex()
            print(json.dumps({"secret": secret, "address": Key(secret).address}))
        elif args.command == "address":
            print(Key(args.secret).address)
        elif args.command == "transfer":
            cmd_transfer(args)
        else:
            cmd_job(args)
    except (RuntimeError, ValueError, requests.RequestException) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
