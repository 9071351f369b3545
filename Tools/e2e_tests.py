"""End-to-end tests of the node (issue 6): real processes from Network/devnet, checked over JSON-RPC only."""
import json, os, re, shutil, signal, subprocess, sys, tempfile, time, urllib.request, urllib.error

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEVNET = os.path.join(ROOT, "Network", "devnet")
BUILD = os.environ.get("ASSAY_BUILD", "debug")
ASSAY = os.path.join(ROOT, ".build", BUILD, "assay")
passed, failed = 0, 0


def devnet(*args, check=True):
    return subprocess.run([DEVNET, *args, "--dir", DIR], check=check, capture_output=True, text=True, cwd=ROOT)


def rpc(url, method, params=None, raw=None, timeout=10):
    body = raw if raw is not None else json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}).encode()
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return json.loads(error.read() or b"null")


def urls():
    return [open(os.path.join(DIR, f"node{i}", "rpc_url")).read().strip() for i in range(4)]


def height(url):
    try:
        return rpc(url, "status", timeout=2)["result"]["latest_height"]
    except Exception:
        return -1


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def check(name, body):
    global passed, failed
    start = time.time()
    try:
        body()
        passed += 1
        print(f"ok   {name} ({time.time() - start:.1f} s)", flush=True)
    except Exception as error:
        failed += 1
        print(f"FAIL {name}: {error}", flush=True)


def assay(*args):
    return subprocess.run([ASSAY, *args], check=True, capture_output=True, text=True).stdout


def block_ids(url, h):
    result = rpc(url, "block", {"height": h})["result"]
    return result["hash"], result["header"]["state_root"]


def same_chain(nodes, top):
    for h in range(1, top + 1):
        ids = {block_ids(url, h) for url in nodes}
        assert len(ids) == 1, f"nodes disagree at height {h}: {ids}"


def test_transfers_commit_everywhere():
    nodes = urls()
    funder = os.path.join(DIR, "genesis", "account-0.json")
    out = subprocess.run([ASSAY, "loadgen", "--nodes", ",".join(nodes), "--funder", funder, "--accounts", "20",
                          "--txs", "200", "--batch", "50", "--timeout", "120"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "committed: 200 of 200" in out.stdout, out.stdout
    top = min(height(url) for url in nodes)
    same_chain(nodes, top)


def test_one_killed_three_continue_then_rejoin():
    nodes = urls()
    devnet("kill", "3")
    start = max(height(url) for url in nodes[:3])
    wait_for(lambda: min(height(url) for url in nodes[:3]) >= start + 3, 60, "3 nodes to commit 3 more blocks")
    devnet("start", "3")
    target = max(height(url) for url in nodes[:3])
    wait_for(lambda: height(nodes[3]) >= target, 30, f"node 3 to block-sync to height {target}")
    same_chain(nodes, target)


def test_two_killed_halts_then_resumes():
    nodes = urls()
    devnet("kill", "2")
    devnet("kill", "3")
    time.sleep(2)
    stalled = max(height(url) for url in nodes[:2])
    time.sleep(4)
    assert max(height(url) for url in nodes[:2]) <= stalled + 1, "two of four validators kept committing"
    devnet("start", "2")
    devnet("start", "3")
    wait_for(lambda: min(height(url) for url in nodes) >= stalled + 2, 60, "commits to resume on all 4")
    same_chain(nodes, min(height(url) for url in nodes))


def test_bad_rpc_input_is_refused_and_changes_nothing():
    url = urls()[0]
    funder = os.path.join(DIR, "genesis", "account-1.json")
    address = re.search(r"address: (\S+)", assay("keys", "show", funder)).group(1)
    before = rpc(url, "account", {"address": address})["result"]
    assert rpc(url, "", raw=b"{not json")["error"]["code"] == -32700
    assert rpc(url, "no_such_method")["error"]["code"] == -32601
    assert rpc(url, "block", {"height": "tall"})["error"]["code"] == -32602
    big = rpc(url, "", raw=b"[" + b" " * (10 * 1024 * 1024) + b"]")
    assert big["error"]["code"] == -32600 and "exceeds" in big["error"]["message"], big
    tx_hex = sign_transfer(funder, address)
    tampered = tx_hex[:-2] + ("00" if tx_hex[-2:] != "00" else "01")
    assert rpc(url, "broadcast_tx_sync", {"tx": tampered})["error"]["data"]["reason"] == "bad_signature"
    wrong_chain = sign_transfer(funder, address, chain="another-chain")
    assert rpc(url, "broadcast_tx_sync", {"tx": wrong_chain})["error"]["data"]["reason"] == "wrong_chain"
    assert "error" not in rpc(url, "broadcast_tx_commit", {"tx": tx_hex}, timeout=60)
    reused = rpc(url, "broadcast_tx_sync", {"tx": sign_transfer(funder, address, nonce=before["nonce"])})
    assert reused["error"]["data"]["reason"] in ("nonce_too_low", "duplicate"), reused
    after = rpc(url, "account", {"address": address})["result"]
    assert after["nonce"] == before["nonce"] + 1, (before, after)
    assert rpc(url, "health")["result"] == {}


def sign_transfer(key, to, chain=None, nonce=None):
    args = ["tx", "transfer", "--print-hex", "--key", key, "--to", to, "--amount", "0.000001", "--node", urls()[0]]
    if chain:
        args += ["--chain-id", chain]
    if nonce is not None:
        args += ["--nonce", str(nonce)]
    return assay(*args).strip()


def test_unknown_peer_is_refused():
    stranger_dir = os.path.join(DIR, "stranger")
    assay("keys", "new", "--out", os.path.join(DIR, "stranger-key.json"), "--insecure-plaintext")
    node0 = os.path.join(DIR, "node0")
    config = open(os.path.join(node0, "config.toml")).read()
    p2p = re.search(r"\[p2p\][^\[]*?listen = ['\"]127\.0\.0\.1:(\d+)", config).group(1)
    assay("node", "init", "--home", stranger_dir, "--genesis", os.path.join(DIR, "genesis", "genesis.json"),
          "--key", os.path.join(DIR, "stranger-key.json"), "--p2p-listen", "127.0.0.1:0", "--rpc-listen", "127.0.0.1:0",
          "--peer", f"127.0.0.1:{p2p}")
    log = open(os.path.join(stranger_dir, "node.log"), "w")
    process = subprocess.Popen([ASSAY, "node", "start", "--home", stranger_dir], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "is not in the chain's validator list" in open(os.path.join(node0, "node.log")).read(), 30,
                 "node 0 to log the refused peer")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


DIR = tempfile.mkdtemp(prefix="assay-e2e-")
try:
    up = subprocess.run([DEVNET, "up", "-n", "4", "--dir", DIR], cwd=ROOT, text=True, capture_output=True)
    print(up.stdout[-2000:], up.stderr[-3000:] if up.returncode else "", flush=True)
    if up.returncode != 0:
        raise SystemExit("devnet did not come up")
    check("200 transfers across 4 nodes commit with equal blocks and state roots", test_transfers_commit_everywhere)
    check("bad RPC input gets JSON-RPC errors and changes nothing", test_bad_rpc_input_is_refused_and_changes_nothing)
    check("one validator killed: 3 keep committing; restarted it block-syncs and rejoins", test_one_killed_three_continue_then_rejoin)
    check("two of four killed: commits stop; restarted: commits resume, no conflict", test_two_killed_halts_then_resumes)
    check("a peer whose key is not a validator is refused and logged", test_unknown_peer_is_refused)
finally:
    subprocess.run([DEVNET, "down", "--dir", DIR], cwd=ROOT, capture_output=True)
    shutil.rmtree(DIR, ignore_errors=True)
print(f"e2e: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
