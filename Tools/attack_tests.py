"""Issue 15's attacks replayed against a real 4-validator devnet: after each one every node must keep committing and
each node's resident memory must stay under a stated bound. Prints one line per attack with the RSS of every node.

The attacks: 100 unauthenticated P2P connections announcing 8 MiB frames, 500 slowloris RPC connections, deeply
nested JSON, a batch whose response would be huge, a WebSocket client that pipelines requests and never reads, and
senders filling the mempool with transactions behind a missing nonce."""
import base64, json, os, re, shutil, socket, struct, subprocess, sys, tempfile, threading, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEVNET = os.path.join(ROOT, "Network", "devnet")
ASSAY = os.path.join(os.environ.get("ASSAY_SCRATCH", os.path.join(ROOT, ".build")), os.environ.get("ASSAY_BUILD", "debug"),
                     "assay")
# What a node may grow by during one attack, and what it may hold at all (debug build, 4 nodes on one machine).
GROWTH_BOUND_MB = 64
RSS_BOUND_MB = 256
failures = []


def rpc(url, body, timeout=30):
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return json.loads(error.read() or b"null")


def call(url, method, params=None):
    return rpc(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}).encode())


def height(url):
    try:
        return call(url, "status")["result"]["latest_height"]
    except Exception:
        return -1


def node_home(i):
    return os.path.join(DIR, f"node{i}")


def rss_mb(i):
    pid = open(os.path.join(node_home(i), "pid")).read().strip()
    status = open(f"/proc/{pid}/status").read()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def host_port(url):
    match = re.match(r"http://([^:/]+):(\d+)", url)
    return match.group(1), int(match.group(2))


def p2p_port(i):
    config = open(os.path.join(node_home(i), "config.toml")).read()
    return int(re.search(r"\[p2p\]\n(?:(?!\[)[^\n]*\n)*?listen = ['\"]127\.0\.0\.1:(\d+)", config).group(1))


def attack(name, body):
    """Runs one attack and checks that every node commits 3 more blocks and stays inside the memory bounds."""
    before = [rss_mb(i) for i in range(4)]
    start_heights = [height(url) for url in URLS]
    started = time.time()
    try:
        outcome = body()
        deadline = time.time() + 60
        while min(height(url) - h for url, h in zip(URLS, start_heights)) < 3:
            assert time.time() < deadline, f"nodes stopped committing: {start_heights} -> {[height(u) for u in URLS]}"
            time.sleep(0.3)
        after = [rss_mb(i) for i in range(4)]
        growth = [a - b for a, b in zip(after, before)]
        assert max(growth) < GROWTH_BOUND_MB, f"RSS grew by {max(growth):.0f} MB (bound {GROWTH_BOUND_MB} MB)"
        assert max(after) < RSS_BOUND_MB, f"RSS reached {max(after):.0f} MB (bound {RSS_BOUND_MB} MB)"
        rss = " ".join(f"{b:.0f}->{a:.0f}" for b, a in zip(before, after))
        print(f"ok   {name} ({time.time() - started:.1f} s): {outcome}; RSS MB per node {rss}", flush=True)
    except Exception as error:
        failures.append(name)
        print(f"FAIL {name}: {error}", flush=True)


def preauth_frames():
    """Each connection announces an 8 MiB frame and starts sending it before any handshake."""
    port, closed = p2p_port(0), []

    def flood():
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            try:
                connection.sendall(struct.pack(">I", 8 << 20))
                for _ in range(64):
                    connection.sendall(b"\0" * (128 << 10))
            except OSError:
                closed.append(True)

    threads = [threading.Thread(target=flood) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(closed) == 100, f"only {len(closed)} of 100 connections were closed before their frame was read"
    return "100 of 100 connections closed from the frame header"


def slowloris_open(count):
    host, port = host_port(URLS[0])
    connections = []
    for _ in range(count):
        connection = socket.create_connection((host, port), timeout=5)
        connection.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
        connections.append(connection)
    return connections


def slowloris(connections):
    def body():
        for connection in connections:
            try:
                connection.sendall(b"X-a: b\r\n")
            except OSError:
                pass
        started = time.time()
        assert "result" in call(URLS[0], "status"), "RPC stopped answering"
        return f"{len(connections)} half-sent request heads held; status answered in {time.time() - started:.2f} s"
    return body


def slowloris_closed(connections):
    """The idle timeout (30 s from the connection's start) closes every connection whose head never completes."""
    def body():
        deadline = time.time() + 45
        while True:
            still_open = sum(is_open(connection) for connection in connections)
            if not still_open:
                return f"all {len(connections)} closed by the node"
            assert time.time() < deadline, f"{still_open} of {len(connections)} still open"
            time.sleep(1)
    return body


def is_open(connection):
    connection.setblocking(False)
    try:
        return connection.recv(1 << 16) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def nested_json():
    timings = []
    for _ in range(10):
        started = time.time()
        reply = rpc(URLS[0], b"[" * 5_000 + b"]" * 5_000)
        timings.append(time.time() - started)
        assert reply["error"]["code"] in (-32600, -32700), reply
    return f"10 bodies nested 5,000 deep refused, slowest in {max(timings):.3f} s"


def large_batches():
    """Batches of the largest allowed size (1,000 requests) asking for whole blocks, 20 of them at once."""
    top = height(URLS[0])
    batch = json.dumps([{"jsonrpc": "2.0", "id": n, "method": "block", "params": {"height": 1 + n % top}}
                        for n in range(1_000)]).encode()
    replies = []
    threads = [threading.Thread(target=lambda: replies.append(rpc(URLS[0], batch, timeout=120))) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(replies) == 20 and all(isinstance(reply, list) for reply in replies), replies[:1]
    cut = sum(1 for reply in replies for r in reply if r.get("error", {}).get("code") == -32023)
    return f"20 concurrent batches of 1,000 block requests: {20_000 - cut} answered, {cut} cut off by the budget"


def websocket_non_reader():
    """Pipelines requests over a WebSocket and never reads: the node must close it, not queue without end."""
    host, port = host_port(URLS[0])
    connection = socket.create_connection((host, port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    connection.sendall((f"GET /websocket HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    top = height(URLS[0])
    sent, reset = 0, False
    try:
        for n in range(20_000):
            payload = json.dumps({"jsonrpc": "2.0", "id": n, "method": "block", "params": {"height": 1 + n % top}})
            connection.sendall(masked_text_frame(payload.encode()))
            sent += 1
    except ConnectionError:
        reset = True
    closed_unread = reset or wait_closed_by_peer(connection, 10)
    connection.settimeout(10)
    received = b""
    try:
        while data := connection.recv(1 << 20):
            received += data
    except ConnectionError:  # the node closed with our requests unread, so its kernel reset the connection
        reset = True
    connection.close()
    close_code = final_close_code(received)
    assert closed_unread, "the node did not close a connection whose client reads nothing"
    assert close_code == 1008 or reset, "the node neither closed nor reset a connection that never reads"
    ending = f"close {close_code}" if close_code else "a reset"
    return f"sent {sent} requests without reading; the node ended it with {ending} after {len(received) >> 10} KiB"


def wait_closed_by_peer(connection, seconds):
    """True once the kernel no longer lists `connection` as established (the peer sent FIN or reset it), without
    reading from it."""
    port = connection.getsockname()[1]
    deadline = time.time() + seconds
    while time.time() < deadline:
        listing = subprocess.run(["ss", "-tn", "state", "established", f"( sport = :{port} )"],
                                 capture_output=True, text=True).stdout
        if f":{port} " not in listing:
            return True
        time.sleep(0.2)
    return False


def final_close_code(received):
    """The status code of the close frame that ends `received`, if it ends with one (0x88, length, code, reason)."""
    for start in range(len(received) - 4, max(-1, len(received) - 130), -1):
        if received[start] == 0x88 and start + 2 + (received[start + 1] & 0x7F) == len(received):
            return struct.unpack(">H", received[start + 2:start + 4])[0]
    return None


def masked_text_frame(payload):
    mask = os.urandom(4)
    header = b"\x81" + (bytes([0x80 | 126]) + struct.pack(">H", len(payload)) if len(payload) >= 126
                        else bytes([0x80 | len(payload)]))
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def gapped_mempool():
    """Senders send nonces next+1, next+2, ... skipping next: each is capped at 16 waiting transactions, and an
    honest transfer still commits at the minimum fee."""
    refused = 0
    for name in ("account-1", "account-2"):
        key = os.path.join(DIR, "genesis", f"{name}.json")
        address = re.search(r"address: (\S+)", run("keys", "show", key)).group(1)
        nonce = int(call(URLS[0], "account", {"address": address})["result"]["nonce"])
        for gap in range(1, 21):
            tx = run("tx", "transfer", "--print-hex", "--key", key, "--to", address, "--amount", "0.000001",
                     "--node", URLS[0], "--nonce", str(nonce + gap)).strip()
            reply = call(URLS[0], "broadcast_tx_sync", {"tx": tx})
            if "error" in reply:
                assert reply["error"]["code"] == -32012, reply
                refused += 1
    assert refused == 2 * 4, f"{refused} refused, expected 8 (16 waiting per sender)"
    honest = os.path.join(DIR, "genesis", "account-3.json")
    started = time.time()
    run("tx", "transfer", "--key", honest, "--to", address, "--amount", "0.000001", "--node", URLS[1], "--wait")
    return f"16 gapped per sender kept, 8 refused (-32012); an honest transfer committed in {time.time() - started:.1f} s"


def run(*args):
    return subprocess.run([ASSAY, *args], check=True, capture_output=True, text=True).stdout


DIR = tempfile.mkdtemp(prefix="assay-attacks-")
try:
    up = subprocess.run([DEVNET, "up", "-n", "4", "--dir", DIR], cwd=ROOT, text=True, capture_output=True)
    if up.returncode != 0:
        print(up.stdout[-2000:], up.stderr[-3000:])
        raise SystemExit("devnet did not come up")
    URLS = [open(os.path.join(node_home(i), "rpc_url")).read().strip() for i in range(4)]
    loris = slowloris_open(500)
    attack("100 unauthenticated P2P connections each announcing an 8 MiB frame", preauth_frames)
    attack("500 slowloris connections to the RPC port", slowloris(loris))
    attack("JSON nested 5,000 deep, 10 times", nested_json)
    attack("20 concurrent batches of 1,000 block requests", large_batches)
    attack("a WebSocket client that pipelines 20,000 requests and never reads", websocket_non_reader)
    attack("2 senders fill the mempool with gapped nonces", gapped_mempool)
    attack("the slowloris connections are closed by the idle timeout", slowloris_closed(loris))
    for connection in loris:
        connection.close()
finally:
    subprocess.run([DEVNET, "down", "--dir", DIR], cwd=ROOT, capture_output=True)
    shutil.rmtree(DIR, ignore_errors=True)
print(f"attacks: {7 - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
