#!/usr/bin/env python3
"""State sync next to block sync on a large genesis (issue 13, item 5), with real node processes.

Makes a genesis with --accounts funded accounts (`assay genesis init --bulk-accounts`), runs a 4-validator devnet
on it (Network/devnet, snapshots every --interval blocks) until every validator has written a snapshot, then:
  1. alters chunk 7 of node 0's snapshots on disk (each as it is written) and starts a node by state sync from
     node 0 alone: it must reject the chunk (and restore nothing);
  2. starts a node by state sync from all four (trusting the snapshot's block) and measures its time to the tip and
     the P2P bytes it received (`assay_peer_received_bytes_total`);
  3. starts a node by block sync of the same chain and measures the same.
Usage: Tools/statesync_bench.py [--accounts 1000000] [--interval 100] [--dir DIR] (ASSAY_SCRATCH, ASSAY_BUILD, ASSAY_BIN as
for Network/devnet). Not part of CI: it takes minutes.
"""
import argparse, json, os, re, shutil, socket, subprocess, sys, tempfile, threading, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRATCH = os.environ.get("ASSAY_SCRATCH", os.path.join(ROOT, ".build"))
BUILD = os.environ.get("ASSAY_BUILD", "debug")
ASSAY = os.environ.get("ASSAY_BIN") or os.path.join(ROOT, SCRATCH, BUILD, "assay")
DEVNET = os.path.join(ROOT, "Network", "devnet")


def run(*args, **kwargs):
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, **kwargs)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return done.stdout


def rpc(url, method, params=None, timeout=5):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}).encode()
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())["result"]


def height(url):
    try:
        return rpc(url, "status")["latest_height"]
    except Exception:
        return -1


def received_bytes(url):
    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
        found = re.search(r"^assay_peer_received_bytes_total (\d+)", response.read().decode(), re.M)
    return int(found.group(1))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise SystemExit(f"timed out after {seconds} s waiting for {what}")


def alter_chunk_7(snapshots, done):
    """A thread that flips one byte of chunk 7 in every complete snapshot under `snapshots` as it appears, until
    `done` is set; then puts back the originals of those still held."""
    def watch():
        originals = {}
        while not done.is_set():
            for name in os.listdir(snapshots) if os.path.isdir(snapshots) else []:
                chunk = os.path.join(snapshots, name, "chunk-7")
                if name.isdigit() and chunk not in originals and os.path.exists(chunk):
                    originals[chunk] = open(chunk, "rb").read()
                    altered = bytearray(originals[chunk])
                    altered[len(altered) // 2] ^= 1
                    open(chunk, "wb").write(bytes(altered))
            time.sleep(0.05)
        for chunk, original in originals.items():
            if os.path.exists(chunk):
                open(chunk, "wb").write(original)
    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def written_snapshots(net, index):
    log = open(os.path.join(net, f"node{index}", "node.log")).read()
    return {int(h) for h in re.findall(r"snapshot at height (\d+) written", log)}


class Joiner:
    """A non-validator node on the devnet's genesis with the given peers, joining by state sync when `state_sync`.
    Its home is written at once (`node init` reads the whole genesis: minutes at 10^6 accounts), its trust set and
    its process started by `start`."""

    def __init__(self, work, name, key, node_key, genesis, peers, state_sync):
        self.home = os.path.join(work, name)
        self.url = f"http://127.0.0.1:{free_port()}"
        placeholder = ["--trust-height", "1", "--trust-hash", "00" * 32] if state_sync else []
        run(ASSAY, "node", "init", "--home", self.home, "--genesis", genesis, "--key", key, "--node-key", node_key, "--p2p-listen",
            "127.0.0.1:0", "--rpc-listen", self.url[len("http://"):], *[a for p in peers for a in ("--peer", p)], *placeholder)
        self.log_path = os.path.join(self.home, "node.log")
        self.process = None

    def start(self, trust=None):
        if trust:
            config = os.path.join(self.home, "config.toml")
            text = re.sub(r"trust_height = \d+", f"trust_height = {trust[0]}", open(config).read())
            open(config, "w").write(re.sub(r"trust_hash = '[0-9a-f]*'|trust_hash = \"[0-9a-f]*\"", f"trust_hash = '{trust[1]}'", text))
        self.started = time.time()
        self.process = subprocess.Popen([ASSAY, "node", "start", "--home", self.home], stdout=open(self.log_path, "w"),
                                        stderr=subprocess.STDOUT)

    def log(self):
        return open(self.log_path).read()

    def at_tip(self, tip_url):
        try:
            status = rpc(self.url, "status", timeout=2)
        except Exception:
            return False
        return not status["catching_up"] and status["latest_height"] >= height(tip_url) - 1

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--interval", type=int, default=100)
    parser.add_argument("--dir")
    args = parser.parse_args()
    work = args.dir or tempfile.mkdtemp(prefix="assay-statesync-")
    os.makedirs(work, exist_ok=True)
    net = os.path.join(work, "net")
    if not os.environ.get("ASSAY_BIN"):
        print(f"== building assay ({BUILD}, {SCRATCH})", flush=True)
        subprocess.run(["swift", "build", "-c", BUILD, "--scratch-path", SCRATCH, "--product", "assay"], check=True, cwd=ROOT)
    # Each joiner's consensus key, and its node key: the one the validators' [p2p] allowed_node_keys lets in.
    keys, node_keys = {}, {}
    for name in ("rejecting", "statesync", "blocksync"):
        keys[name] = os.path.join(work, f"{name}-key.json")
        node_keys[name] = os.path.join(work, f"{name}-node-key.json")
        for path in (keys[name], node_keys[name]):
            run(ASSAY, "keys", "new", "--out", path, "--insecure-plaintext")
    public = {n: re.search(r"public_key: (\S+)", run(ASSAY, "keys", "show", k)).group(1) for n, k in node_keys.items()}
    started = time.time()
    run(ASSAY, "genesis", "init", "--validators", "4", "--accounts", "2", "--bulk-accounts", str(args.accounts),
        "--out", os.path.join(work, "genesis"))
    genesis = os.path.join(work, "genesis", "genesis.json")
    print(f"== genesis with {args.accounts} bulk accounts: {os.path.getsize(genesis)} bytes in {time.time() - started:.1f} s",
          flush=True)
    joiners, verdict = [], threading.Event()
    try:
        started = time.time()
        run(DEVNET, "up", "-n", "4", "--dir", net, "--genesis", genesis, "--snapshot-interval", str(args.interval),
            *[a for key in public.values() for a in ("--allow-node", key)], env={**os.environ, "ASSAY_DEVNET_START_SECONDS": "1800"})
        print(f"== devnet up (genesis written by each validator) in {time.time() - started:.1f} s", flush=True)
        urls = [open(os.path.join(net, f"node{i}", "rpc_url")).read().strip() for i in range(4)]
        peers = [re.search(r"\[p2p\]\n(?:(?!\[)[^\n]*\n)*?listen = ['\"](127\.0\.0\.1:\d+)",
                           open(os.path.join(net, f"node{i}", "config.toml")).read()).group(1) for i in range(4)]
        started = time.time()
        joiners = [Joiner(work, name, keys[name], node_keys[name], genesis, peers[:1] if name == "rejecting" else peers,
                          state_sync=name != "blocksync") for name in ("rejecting", "statesync", "blocksync")]
        rejecting, statesync, blocksync = joiners
        print(f"== three joiner homes written (node init reads the genesis) in {time.time() - started:.1f} s", flush=True)
        wait_for(lambda: set.intersection(*[written_snapshots(net, i) for i in range(4)]), 1800, "a snapshot on every validator")
        snapshot = max(set.intersection(*[written_snapshots(net, i) for i in range(4)]))
        trust = (snapshot, rpc(urls[0], "block", {"height": snapshot})["hash"])
        print(f"== snapshot at height {snapshot} on every validator; chain at {height(urls[0])}", flush=True)

        # 1. One altered chunk: the joiner asking node 0 alone rejects it and restores nothing. Node 0 goes on taking
        # snapshots while the joiner starts (it reads the genesis first), so chunk 7 of each of its snapshots is
        # altered as soon as the snapshot is complete, whichever the joiner is offered.
        altered = alter_chunk_7(os.path.join(net, "node0", "data", "snapshots"), verdict)
        rejecting.start(trust)
        wait_for(lambda: any(line in rejecting.log() for line in ("chunk 7 from peer", "state sync: restored"))
                 or rejecting.process.poll() is not None, 1800, "the altered chunk's verdict")
        rejecting.stop()
        verdict.set()
        altered.join()
        found = re.search(r"state sync: chunk 7 from peer \S+ rejected[^\n]*", rejecting.log())
        assert found and "state sync: restored" not in rejecting.log(), "the altered chunk was not rejected"
        print(f"== altered chunk: {found.group(0)}", flush=True)

        figures = []
        for joiner, trusted in ((statesync, trust), (blocksync, None)):
            name = os.path.basename(joiner.home)
            joiner.start(trusted)
            wait_for(lambda: joiner.at_tip(urls[0]) or joiner.process.poll() is not None, 3600, f"{name} at the tip")
            assert joiner.process.poll() is None, f"{name} exited:\n{joiner.log()[-3000:]}"
            seconds = time.time() - joiner.started
            figures.append((name, seconds, received_bytes(joiner.url), height(joiner.url)))
            joiner.stop()
        print(f"\n{'node':<10} {'time to tip (s)':>16} {'p2p bytes received':>20} {'height':>8}")
        for name, seconds, received, reached in figures:
            print(f"{name:<10} {seconds:>16.1f} {received:>20} {reached:>8}")
        restored = re.search(r"state sync: restored[^\n]*", open(os.path.join(work, "statesync", "node.log")).read())
        print(f"state sync log: {restored.group(0) if restored else '?'}")
    finally:
        verdict.set()
        for joiner in joiners:
            joiner.stop()
        subprocess.run([DEVNET, "down", "--dir", net], cwd=ROOT, capture_output=True)
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
