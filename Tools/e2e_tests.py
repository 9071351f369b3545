"""End-to-end tests of the node (issue 6): real processes from Network/devnet, checked over JSON-RPC only."""
import base64, contextlib, hashlib, http.server, json, os, random, re, shutil, signal, socket, subprocess, sys, tempfile, threading, time, urllib.request, urllib.error

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEVNET = os.path.join(ROOT, "Network", "devnet")
BUILD = os.environ.get("ASSAY_BUILD", "debug")
SCRATCH = os.environ.get("ASSAY_SCRATCH", os.path.join(ROOT, ".build"))  # SwiftPM's --scratch-path
ASSAY = os.path.join(SCRATCH, BUILD, "assay")
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
    """Runs one check, unless words were given on the command line and none of them is in its name."""
    global passed, failed
    if sys.argv[1:] and not any(word in name for word in sys.argv[1:]):
        return
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
    """A stranger whose links authenticate with validator 3's consensus key (as its node key) is refused: peers allow
    only the node keys in the validators' records (issue 13, keys by role)."""
    stranger_dir = os.path.join(DIR, "stranger")
    assay("keys", "new", "--out", os.path.join(DIR, "stranger-key.json"), "--insecure-plaintext")
    node0 = os.path.join(DIR, "node0")
    config = open(os.path.join(node0, "config.toml")).read()
    p2p = re.search(r"\[p2p\]\n(?:(?!\[)[^\n]*\n)*?listen = ['\"]127\.0\.0\.1:(\d+)", config).group(1)
    assay("node", "init", "--home", stranger_dir, "--genesis", os.path.join(DIR, "genesis", "genesis.json"),
          "--key", os.path.join(DIR, "stranger-key.json"), "--node-key", key_path("validator-3"),
          "--p2p-listen", "127.0.0.1:0", "--rpc-listen", "127.0.0.1:0", "--peer", f"127.0.0.1:{p2p}")
    log = open(os.path.join(stranger_dir, "node.log"), "w")
    process = subprocess.Popen([ASSAY, "node", "start", "--home", stranger_dir], stdout=log, stderr=subprocess.STDOUT)
    refused = f"node key {public_key_of(key_path('validator-3'))} is not in the chain's validator list"
    try:
        wait_for(lambda: refused in open(os.path.join(node0, "node.log")).read(), 30,
                 "node 0 to log the refused consensus key")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


# ---- the compute market (issue 7): CLI and RPC only ----

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from market_files import (argmax_rows, digits_batch, gemm_job, heavy_mlp_job, import_digits_cnn,  # noqa: E402
                          large_gemm_job, large_gemm_model, qnn_cnn_job, read_npy, read_npy_int32, wide_mlp_job,
                          write_npy)

PYTHON_CLIENT = os.path.join(ROOT, "Tools", "clients", "python", "run")
TERMINAL = ("settled", "refunded", "slashed")


def cli(*args, check=True):
    """Runs assay; returns (exit code, stdout, stderr). With check, a non-zero exit is a failure."""
    done = subprocess.run([ASSAY, *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"assay {' '.join(args[:3])} exited {done.returncode}: {done.stderr.strip()}")
    return done.returncode, done.stdout, done.stderr


def cli_json(*args):
    return json.loads(cli(*args, "--json")[1])


def key_path(name):
    return os.path.join(DIR, "genesis", f"{name}.json")


def address_of(name):
    return re.search(r"address: (\S+)", assay("keys", "show", key_path(name))).group(1)


def node_accounts():
    """The addresses of the devnet nodes' own accounts (`[account]`): they sign challenges and evidence."""
    return {address_of(f"validator-account-{i}") for i in range(4)}


def account(url, address):
    result = rpc(url, "account", {"address": address})["result"]
    return int(result["balance"]), int(result["nonce"])


def provider_view(url, address):
    return rpc(url, "provider", {"address": address})["result"]


def idle_provider(url, address):
    counts = provider_view(url, address)["jobs"]
    return counts["open"] == 0 and counts["result_posted"] == 0


def params(url):
    return {k: int(v) for k, v in rpc(url, "params")["result"].items()}


def offer_of(url, address):
    wait_for(lambda: rpc(url, "offers", {"provider": address})["result"]["offers"], 90, f"an offer from {address}")
    return rpc(url, "offers", {"provider": address})["result"]["offers"][0]


def submit_jobs(url, offer_id, clients, per_client, tag, scratch):
    """Each client submits per_client small gemm jobs (one shared model), clients in parallel."""
    x, model, units = gemm_job(scratch, tag, seed=len(tag))
    jobs, errors = [], []

    def run(client, count):
        for _ in range(count):
            try:
                out = cli_json("job", "submit", "--node", url, "--key", key_path(client), "--input", x, "--model", model,
                               "--offer", offer_id, "--deadline-blocks", "60", "--wait")
                assert out["code"] == 0, out
                jobs.append((out["hash"], client))
            except Exception as error:
                errors.append(error)

    run(clients[0], 1)  # registers the model (if the chain lacks it) before the others submit in parallel
    threads = [threading.Thread(target=run, args=(c, per_client - (c == clients[0]))) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]
    return jobs, units


def wait_terminal(url, ids, seconds):
    views = {}

    def done():
        for job_id in ids:
            if job_id not in views:
                view = rpc(url, "job", {"id": job_id})["result"]
                if view["state"] in TERMINAL:
                    views[job_id] = view
        return len(views) == len(ids)

    wait_for(done, seconds, f"{len(ids)} jobs to end")
    return views


def transactions_of_kind(url, first, last, kind):
    """The committed transactions of one kind between two heights, with their events."""
    found = []
    for h in range(first, last + 1):
        for entry in rpc(url, "block", {"height": h})["result"]["transactions"]:
            view = rpc(url, "tx", {"hash": entry["hash"]})["result"]
            if view["kind"] == kind:
                found.append(view)
    return found


BLOB_LENGTH_FIELDS = {"register_model": ["model_bytes"], "job": ["input_bytes"], "result": ["output_bytes", "trace_bytes"]}


def blob_fees(url, first, last, sender, p):
    """What `sender` paid in blob fees (blob_byte_fee per byte of each blob it carried) in blocks first..last."""
    paid = 0
    for kind, fields in BLOB_LENGTH_FIELDS.items():
        for tx in transactions_of_kind(url, first, last, kind):
            if tx["sender"] == sender:
                paid += sum(p["blob_byte_fee"] * int(tx["body"][field]) for field in fields)
    return paid


def attributes(event):
    return {a["key"]: a["value"] for a in event["attributes"]}


def block_intervals(url, first, last):
    times = [rpc(url, "block", {"height": h})["result"]["header"]["time_ms"] for h in range(first, last + 1)]
    return [b - a for a, b in zip(times, times[1:])]


def market_setup():
    url = urls()[0]
    p = params(url)
    return url, p, p["min_fee"]  # the fee every CLI transaction pays by default


def test_market_honest():
    url, p, fee = market_setup()
    honest = address_of("provider-0")
    offer = offer_of(url, honest)
    price = int(offer["price_per_work_unit"])
    wait_for(lambda: idle_provider(url, honest), 60, "the honest provider to finish earlier jobs")
    balance_before, nonce_before = account(url, honest)
    first = height(url)
    with tempfile.TemporaryDirectory() as scratch:
        jobs, units = submit_jobs(url, offer["id"], ["account-2", "account-3", "account-4", "account-5"], 5, "honest", scratch)
    views = wait_terminal(url, [j for j, _ in jobs], 120)
    assert all(v["state"] == "settled" and v["reason"] == "window_passed" for v in views.values()), views
    payment = price * units
    take = payment * p["take_rate_bps"] // 10_000
    earned = 20 * (payment - take)
    # Each job view carries what its end moved, as the job's state record keeps it.
    settlements = {(v["settlement"]["paid"], v["settlement"]["burned"], v["settlement"]["slashed"]) for v in views.values()}
    assert settlements == {(str(payment - take), str(take), "0")}, settlements
    balance, nonce = account(url, honest)
    output_fees = blob_fees(url, first, height(url), honest, p)
    assert balance - balance_before == earned - fee * (nonce - nonce_before) - output_fees, \
        (balance, balance_before, earned, nonce, output_fees)
    print(f"     20 jobs settled; provider paid {earned} base units = 20 x ({units} units x {price} "
          f"less {p['take_rate_bps']} bps), less its own fees and {output_fees} in output blob fees")


def test_market_cheater():
    url, p, fee = market_setup()
    cheater = address_of("provider-1")
    offer = offer_of(url, cheater)
    clients = ["account-1", "account-6", "account-7", "account-8"]
    before = {c: account(url, address_of(c)) for c in clients}
    stake_before = int(provider_view(url, cheater)["bonded"])
    first = height(url)
    with tempfile.TemporaryDirectory() as scratch:
        jobs, _ = submit_jobs(url, offer["id"], clients, 5, "cheat", scratch)
    views = wait_terminal(url, [j for j, _ in jobs], 150)
    assert all(v["state"] == "slashed" and v["reason"] == "wrong_output" for v in views.values()), views
    expected_stake = stake_before
    for _ in range(len(views)):
        expected_stake -= expected_stake * p["fraud_slash_fraction"] // 10_000
    stake_after = int(provider_view(url, cheater)["bonded"])
    assert stake_after == expected_stake, (stake_before, stake_after, expected_stake)
    assert sum(int(v["settlement"]["slashed"]) for v in views.values()) == stake_before - stake_after, views
    for c in clients:
        balance, nonce = account(url, address_of(c))
        spent = fee * (nonce - before[c][1]) + blob_fees(url, first, height(url), address_of(c), p)
        assert before[c][0] - balance == spent, f"client {c} not refunded in full"
    accounts = node_accounts()
    challenges = [v for v in transactions_of_kind(url, first, height(url), "challenge") if v["code"] == 0]
    assert len(challenges) == len(views), f"{len(challenges)} successful challenges for {len(views)} frauds"
    for tx in challenges:
        assert tx["sender"] in accounts, tx["sender"]  # a node's account, never a consensus key's
        slash = next(attributes(e) for e in tx["events"] if e["type"] == "slashed")
        reward = int(slash["amount"]) * p["challenger_reward_fraction"] // 10_000
        assert int(slash["to_challenger"]) == reward > 0, slash
    print(f"     {len(views)} jobs slashed after validators' challenges (each challenger rewarded); "
          f"stake {stake_before} -> {stake_after} ({p['fraud_slash_fraction']} bps per fraud); clients refunded")


def test_market_silent():
    url, p, fee = market_setup()
    silent = address_of("account-9")
    log = open(os.path.join(DIR, "silent-provider.log"), "w")
    worker = subprocess.Popen([ASSAY, "provider", "start", "--key", key_path("account-9"), "--node", url, "--price", "1",
                               "--cheat", "silent"], stdout=log, stderr=subprocess.STDOUT)
    try:
        offer = offer_of(url, silent)
        stake_before = int(provider_view(url, silent)["bonded"])
        client_before = account(url, address_of("account-2"))
        first = height(url)
        with tempfile.TemporaryDirectory() as scratch:
            x, model, _ = gemm_job(scratch, "silent", seed=7)
            out = cli_json("job", "submit", "--node", url, "--key", key_path("account-2"), "--input", x, "--model", model,
                           "--offer", offer["id"], "--deadline-blocks", "6", "--wait")
        view = wait_terminal(url, [out["hash"]], 60)[out["hash"]]
        assert (view["state"], view["reason"]) == ("refunded", "no_result_by_deadline"), view
        stake_after = int(provider_view(url, silent)["bonded"])
        assert stake_after == stake_before - p["nondelivery_penalty"], (stake_before, stake_after)
        balance, nonce = account(url, address_of("account-2"))
        spent = fee * (nonce - client_before[1]) + blob_fees(url, first, height(url), address_of("account-2"), p)
        assert client_before[0] - balance == spent, "silent job's client not refunded"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)
    print(f"     refunded at its deadline; provider stake {stake_before} -> {stake_after} (nondelivery_penalty)")


def metric(url, name):
    """A counter or gauge from the node's Prometheus /metrics."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    return int(re.search(rf"^{name} (\d+)", text, re.M).group(1))


def documented_metrics():
    """The metric names of docs/rpc.md's Metrics table."""
    section = open(os.path.join(ROOT, "docs", "rpc.md")).read().split("\n## Metrics\n")[1].split("\n## ")[0]
    return set(re.findall(r"^\| `(assay_[a-z_]+)` \|", section, re.M))


def test_metrics_documented():
    documented = documented_metrics()
    for url in urls():
        with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
            served = set(re.findall(r"^([a-z_]+)[{ ]", response.read().decode(), re.M))
        assert served == documented, (url, "served, not documented:", served - documented,
                                      "documented, not served:", documented - served)
        assert metric(url, "assay_height") > 0, url


class OTLPCollector:
    """A test-local OpenTelemetry collector: OTLP/HTTP with JSON bodies on 127.0.0.1, keeping every span sent."""

    def __init__(self):
        self.spans, self.lock = [], threading.Lock()
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                collector.receive(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def receive(self, export):
        def text(attributes):
            return {a["key"]: next(iter(a["value"].values()), "") for a in attributes or []}

        def hex_id(value):  # protobuf's JSON mapping writes bytes as base64
            return base64.b64decode(value).hex() if value else ""

        for resource in export.get("resourceSpans", []):
            process = text(resource.get("resource", {}).get("attributes"))
            for scope in resource.get("scopeSpans", []):
                with self.lock:
                    self.spans += [{"name": s["name"], "trace": hex_id(s["traceId"]), "id": hex_id(s["spanId"]),
                                    "parent": hex_id(s.get("parentSpanId")), "start": int(s["startTimeUnixNano"]),
                                    "end": int(s["endTimeUnixNano"]), "attributes": text(s.get("attributes")),
                                    "service": process.get("service.name"), "instance": process.get("service.instance.id")}
                                   for s in scope.get("spans", [])]

    def of_trace(self, trace_id):
        with self.lock:
            return [s for s in self.spans if s["trace"] == trace_id]


COLLECTOR = OTLPCollector()


def job_trace_ids(job_id):
    """docs/rpc.md, Tracing: the trace id and root span id every process derives from a job id."""
    job = bytes.fromhex(job_id)
    return (hashlib.sha256(b"assay/job-trace/1" + job).hexdigest()[:32],
            hashlib.sha256(b"assay/job-trace-root/1" + job).hexdigest()[:16])


def test_one_trace_per_job():
    url, _, _ = market_setup()
    offer = offer_of(url, address_of("provider-0"))
    with tempfile.TemporaryDirectory() as scratch:
        [(job, _)], _ = submit_jobs(url, offer["id"], ["account-6"], 1, "traced", scratch)
    assert wait_terminal(url, [job], 120)[job]["state"] == "settled"
    trace, root = job_trace_ids(job)
    nodes = {f"node{i}" for i in range(4)}
    per_node = ["chain.job_created", "chain.result_posted", "replay.spot_check", "chain.job_ended"]
    expected = {"client.submit", "client.upload_input", "client.broadcast", "provider.job", "provider.fetch",
                "provider.compute", "provider.upload", "provider.post_result"}

    def complete():
        names = {s["name"] for s in COLLECTOR.of_trace(trace)}
        return expected <= names and all({s["instance"] for s in COLLECTOR.of_trace(trace) if s["name"] == n} == nodes
                                         for n in per_node)
    wait_for(complete, 30, "every process's spans of the job")
    spans = COLLECTOR.of_trace(trace)
    one = {s["name"]: s for s in spans}
    assert one["client.submit"]["service"] == "assay-client" and one["provider.job"]["service"] == "assay-provider"
    for name in ["client.submit", "provider.job"] + per_node:
        assert all(s["parent"] == root for s in spans if s["name"] == name), f"{name} is not under the job's root"
    for child, parent in [("client.upload_input", "client.submit"), ("client.broadcast", "client.submit"),
                          ("provider.fetch", "provider.job"), ("provider.compute", "provider.job"),
                          ("provider.upload", "provider.job"), ("provider.post_result", "provider.job")]:
        assert one[child]["parent"] == one[parent]["id"], f"{child} is not under {parent}"
    assert not any(s["id"] == root for s in spans), "no process emits the root"
    # The job's life on one machine's clock: each node commits the job before its provider starts, the result
    # after the provider sent it, checks it after committing it and ends the job after that.
    assert one["client.broadcast"]["start"] <= min(s["end"] for s in spans if s["name"] == "chain.job_created")
    assert min(s["end"] for s in spans if s["name"] == "chain.job_created") <= one["provider.job"]["start"]
    for node in nodes:
        at = {s["name"]: s for s in spans if s["instance"] == node}
        assert one["provider.post_result"]["start"] <= at["chain.result_posted"]["end"], node
        assert at["chain.job_created"]["end"] <= at["chain.result_posted"]["end"] <= at["replay.spot_check"]["start"], node
        assert at["replay.spot_check"]["end"] <= at["chain.job_ended"]["end"], node
    where = {name: (one[name]["end"] - one[name]["start"]) / 1e6 for name in ["client.submit", "provider.job",
                                                                             "provider.compute"]}
    print(f"     job {job[:12]}: {len(spans)} spans in trace {trace} from the client, 4 nodes and the provider; "
          + ", ".join(f"{name} {ms:.0f} ms" for name, ms in where.items()))


def replayed(url):
    """Results this validator's replay worker has re-executed."""
    return metric(url, "assay_replay_results_total")


def test_heavy_replay_keeps_block_pace():
    url, _, _ = market_setup()
    offer = offer_of(url, address_of("provider-0"))
    replayed_before = [replayed(u) for u in urls()]
    idle_first = height(url)
    time.sleep(8)
    idle = block_intervals(url, idle_first, height(url))
    with tempfile.TemporaryDirectory() as scratch:
        x, model, units = heavy_mlp_job(scratch)
        busy_first = height(url)
        heavy = []
        for _ in range(3):
            out = cli_json("job", "submit", "--node", url, "--key", key_path("account-3"), "--kernel", "mlp-q8/1",
                           "--input", x, "--model", model, "--offer", offer["id"], "--deadline-blocks", "60", "--wait")
            heavy.append(out["hash"])
    views = wait_terminal(url, heavy, 240)
    assert all(v["state"] == "settled" for v in views.values()), views
    busy = block_intervals(url, busy_first, height(url))
    wait_for(lambda: all(replayed(u) >= before + 3 for u, before in zip(urls(), replayed_before)), 60,
             "every validator to replay the 3 heavy results")
    idle_ms, busy_ms = sum(idle) / len(idle), sum(busy) / len(busy)
    print(f"     3 jobs of {units} work units replayed by 4 validators; mean block interval idle {idle_ms:.0f} ms "
          f"({len(idle)} blocks), during the jobs and their replay {busy_ms:.0f} ms ({len(busy)} blocks)")
    assert busy_ms <= 1.2 * idle_ms, f"{busy_ms:.0f} ms is more than 120% of the idle {idle_ms:.0f} ms"


# ---- traced jobs (issue 11): spot checks, tile challenges ----

def replay_figures(url):
    """(results checked, tiles checked, work units of the tiles recomputed) from a validator's /metrics."""
    return (metric(url, "assay_replay_results_total"), metric(url, "assay_replay_tiles_checked_total"),
            metric(url, "assay_replay_work_units_total"))


def block_kinds(url, h):
    """The kinds of the transactions in block h, e.g. "job, result"."""
    kinds = [rpc(url, "tx", {"hash": t["hash"]})["result"]["kind"] for t in rpc(url, "block", {"height": h})["result"]["transactions"]]
    return ", ".join(kinds) or "empty"


def mean(values):
    return sum(values) / len(values)


def test_traced_job_spot_checked_by_every_validator():
    """Issue 11 acceptance: a 2 x 10^11-work-unit mlp-q8/1 job computed by a provider, spot-checked by every
    validator at <= 2% of its work each, settled, with block intervals within 20% of idle meanwhile."""
    url, _, _ = market_setup()
    nodes = urls()
    provider = address_of("provider-0")
    offer = offer_of(url, provider)
    wait_for(lambda: idle_provider(url, provider), 60, "the honest provider to finish earlier jobs")
    idle_first = height(url)
    time.sleep(8)
    idle = block_intervals(url, idle_first, height(url))
    with tempfile.TemporaryDirectory() as scratch:
        x, model, units = wide_mlp_job(scratch)
        before = [replay_figures(u) for u in nodes]
        busy_first = height(url)
        out = cli_json("job", "submit", "--node", url, "--key", key_path("account-2"), "--kernel", "mlp-q8/1",
                       "--input", x, "--model", model, "--offer", offer["id"], "--deadline-blocks", "100", "--wait")
    assert out["code"] == 0, out
    wait_for(lambda: rpc(url, "job", {"id": out["hash"]})["result"]["state"] != "open", 400, "the provider's result")
    result_height = height(url)
    view = wait_terminal(url, [out["hash"]], 400)[out["hash"]]
    assert (view["state"], view["reason"]) == ("settled", "window_passed"), view
    assert view["result"]["work_units"] == units, view
    busy = block_intervals(url, busy_first, height(url))
    checking = block_intervals(url, result_height + 1, height(url))
    wait_for(lambda: all(replay_figures(u)[0] > b[0] for u, b in zip(nodes, before)), 120,
             "every validator to spot-check the result")
    for i, (u, b) in enumerate(zip(nodes, before)):
        results, tiles, work = (now - then for now, then in zip(replay_figures(u), b))
        rate = metric(u, "assay_replay_work_units_per_second")
        print(f"     node{i}: checked {tiles} tiles, {work} work units = {100 * work / units:.3f}% of the job's {units}"
              f" (replay at {rate / 1e9:.1f} x 10^9 units/s: {work / max(rate, 1):.2f} s)")
        assert results == 1 and 0 < work <= 0.02 * units, (i, results, tiles, work)
    idle_ms, busy_ms, checking_ms = mean(idle), mean(busy), mean(checking)
    median = lambda values: sorted(values)[len(values) // 2]  # noqa: E731
    print(f"     block interval idle: mean {idle_ms:.0f} ms, median {median(idle)} ms ({len(idle)} blocks); from the job "
          f"to its settlement: mean {busy_ms:.0f} ms, median {median(busy)} ms ({len(busy)} blocks); from the block "
          f"after the result's to settlement (the spot checks): mean {checking_ms:.0f} ms, median {median(checking)} ms "
          f"({len(checking)} blocks)")
    slowest = sorted(range(len(busy)), key=lambda i: -busy[i])[:3]
    print("     longest while busy: " + ", ".join(
        f"{busy[i]} ms before height {busy_first + i + 1} ({block_kinds(url, busy_first + i + 1)})" for i in slowest))
    later = [h for h in range(busy_first + 1, busy_first + len(busy) + 1)
             if rpc(url, "block", {"height": h})["result"]["commit"]["round"] > 0]
    print(f"     heights committed in a later round while busy: {later or 'none'}")
    # The model and input (40 MiB) and the result (112 MiB) move between validators meanwhile; a proposer includes
    # the transactions carrying them only once validators with more than 2/3 of the power hold those blobs
    # (docs/consensus.md, Blob availability rule), so no height waits a round for them.
    # The pace is judged by the median: here the provider computes its 2 x 10^11 units on the same two cores as
    # the four validators, which on a real deployment it does not, and a single block delayed by that contention
    # moves the mean of 40-odd intervals by 20% on its own. The validators' own work, the spot checks, is judged
    # by the mean of the blocks that carry it.
    assert median(busy) <= 1.2 * median(idle), \
        f"from the job to its settlement: median {median(busy)} ms is over 120% of the idle median {median(idle)} ms"
    assert checking_ms <= 1.2 * idle_ms, \
        f"during the spot checks: mean {checking_ms:.0f} ms is over 120% of the idle mean {idle_ms:.0f} ms"


@contextlib.contextmanager
def kernel_provider(key_name, kernel, *extra):
    """A provider worker for one kernel (price 1, any extra flags such as --cheat) attached to node 0; yields its
    offer of that kernel once published."""
    url = urls()[0]
    log = open(os.path.join(DIR, f"{key_name}-provider.log"), "a")
    worker = subprocess.Popen([ASSAY, "provider", "start", "--key", key_path(key_name), "--node", url, "--price", "1",
                               "--kernels", kernel, *extra], stdout=log, stderr=subprocess.STDOUT)
    address = address_of(key_name)

    def kernel_offer():
        offers = rpc(url, "offers", {"provider": address})["result"]["offers"]
        return next((o for o in offers if kernel in o["kernels"]), None)
    try:
        wait_for(kernel_offer, 90, f"a {kernel} offer from {key_name}")
        yield kernel_offer()
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)


def heavy_tile_work_units(p, layer, tile, batch=17200, width=240):
    """Work units of a tile of heavy_mlp_job's trace (docs/kernels.md: blocks of whole rows within the budget)."""
    k, n = [(1, width), (width, width), (width, 1)][layer]
    rows = min(batch, p["max_tile_work_units"] // (k * n))
    return (min(batch, (tile + 1) * rows) - tile * rows) * k * n


def test_tile_cheat_is_challenged_at_that_tile():
    url, p, fee = market_setup()
    cheater = address_of("account-9")
    client = address_of("account-4")
    with kernel_provider("account-9", "mlp-q8/1", "--cheat", "tile:1:3") as offer, tempfile.TemporaryDirectory() as scratch:
        x, model, units = heavy_mlp_job(scratch)
        stake_before = int(provider_view(url, cheater)["bonded"])
        client_before = account(url, client)
        first = height(url)
        out = cli_json("job", "submit", "--node", url, "--key", key_path("account-4"), "--kernel", "mlp-q8/1",
                       "--input", x, "--model", model, "--offer", offer["id"], "--deadline-blocks", "60", "--wait")
        view = wait_terminal(url, [out["hash"]], 120)[out["hash"]]
    assert (view["state"], view["reason"]) == ("slashed", "wrong_output"), view
    won = [tx for tx in transactions_of_kind(url, first, height(url), "challenge") if tx["code"] == 0]
    assert len(won) == 1, won
    assert won[0]["sender"] in node_accounts(), won[0]["sender"]
    outcome = next(attributes(e) for e in won[0]["events"] if e["type"] == "challenge_upheld")
    expected_work = heavy_tile_work_units(p, 1, 3)
    assert (int(outcome["layer"]), int(outcome["tile"]), int(outcome["work_units"])) == (1, 3, expected_work), outcome
    stake_after = int(provider_view(url, cheater)["bonded"])
    assert stake_after == stake_before - stake_before * p["fraud_slash_fraction"] // 10_000, (stake_before, stake_after)
    balance, nonce = account(url, client)
    spent = fee * (nonce - client_before[1]) + blob_fees(url, first, height(url), client, p)
    assert client_before[0] - balance == spent, "the client was not refunded in full"
    print(f"     a validator challenged layer 1 tile 3 ({expected_work} work units, of the job's {units}); "
          f"provider stake {stake_before} -> {stake_after}; client refunded")


def test_qnn_job_spot_checked_and_fetched():
    """Issue 12: a qnn/1 CNN job (its model registered as a blob) computed by the devnet's provider, spot-checked by
    every validator tile by tile, settled; the output fetched through node 3 equals `assay kernel run qnn/1`'s."""
    url, _, _ = market_setup()
    nodes = urls()
    provider = address_of("provider-0")
    offer = offer_of(url, provider)
    assert "qnn/1" in offer["kernels"], offer
    with tempfile.TemporaryDirectory() as scratch:
        x, model = qnn_cnn_job(scratch)
        units, _, tiles = settled_qnn_job(url, nodes, offer, model, x, scratch)
    print(f"     qnn/1 job of {units} work units settled; validators checked {tiles} tiles; output fetched via node 3 "
          f"equals assay kernel run's")


def settled_qnn_job(url, nodes, offer, model, x, scratch):
    """A qnn/1 job on `offer`, waited for: settled with the work units `assay kernel cost` gives, spot-checked by
    every validator, its output fetched through node 3 and equal to `assay kernel run`'s. Returns (work units,
    the fetched output's path, the tiles each validator checked)."""
    units = int(cli("kernel", "cost", "qnn/1", "--model", model, "--input", x)[1])
    local = os.path.join(scratch, "local.npy")
    cli("kernel", "run", "qnn/1", "--model", model, "--input", x, "--out", local)
    before = [replay_figures(u) for u in nodes]
    out = cli_json("job", "submit", "--node", url, "--key", key_path("account-6"), "--kernel", "qnn/1",
                   "--input", x, "--model", model, "--offer", offer["id"], "--deadline-blocks", "60", "--wait")
    assert out["code"] == 0, out
    view = wait_terminal(url, [out["hash"]], 180)[out["hash"]]
    assert (view["state"], view["reason"]) == ("settled", "window_passed"), view
    assert view["result"]["work_units"] == units, view
    wait_for(lambda: all(replay_figures(u)[0] > b[0] for u, b in zip(nodes, before)), 120,
             "every validator to spot-check the result")
    fetched = os.path.join(scratch, "fetched.npy")
    cli("job", "output", out["hash"], "--out", fetched, "--node", nodes[3])
    assert open(fetched, "rb").read() == open(local, "rb").read(), "the fetched output is not the kernel's"
    return units, fetched, [now[1] - then[1] for now, then in zip((replay_figures(u) for u in nodes), before)]


def test_qnn_tile_cheat_on_a_concat_is_challenged():
    """A provider corrupting tile 0 of a qnn/1 job's concat layer (layer 1: it reads the job input and layer 0 of
    the trace) is challenged at that tile by a validator and slashed. Two images: a conv layer has a tile per image,
    so the job has 12 tiles, fewer than a validator's 16 checks, and every validator checks them all."""
    url, _, _ = market_setup()
    with kernel_provider("account-8", "qnn/1", "--cheat", "tile:1:0") as offer, tempfile.TemporaryDirectory() as scratch:
        x, model = qnn_cnn_job(scratch, batch=2, seed=3, tag="qnn-cheat")
        first = height(url)
        out = cli_json("job", "submit", "--node", url, "--key", key_path("account-4"), "--kernel", "qnn/1",
                       "--input", x, "--model", model, "--offer", offer["id"], "--deadline-blocks", "60", "--wait")
        view = wait_terminal(url, [out["hash"]], 120)[out["hash"]]
    assert (view["state"], view["reason"]) == ("slashed", "wrong_output"), view
    won = [tx for tx in transactions_of_kind(url, first, height(url), "challenge") if tx["code"] == 0]
    assert len(won) == 1, won
    outcome = next(attributes(e) for e in won[0]["events"] if e["type"] == "challenge_upheld")
    assert (int(outcome["layer"]), int(outcome["tile"])) == (1, 0), outcome
    print(f"     a validator challenged qnn/1 layer 1 tile 0 ({outcome['work_units']} work units); provider slashed")


DIGITS_TEST_SPLIT = 540
DIGITS_CNN_INT8_ACCURACY = 98.52  # docs/models.md: ONNX Runtime's int8 and Tools/crosscheck-models' qnn/1, 540 digits


def test_qnn_digits_cnn_classifies_the_test_split():
    """Issue 12's acceptance: the digits CNN imported with `assay model import`, the whole test split quantized as a
    client would (Tools/market_files.py, without NumPy) in one job to an honest provider's qnn/1 offer: settled,
    spot-checked by every validator; the fetched logits equal `assay kernel run qnn/1`'s, and their argmax scores
    the accuracy Tools/crosscheck-models measured against ONNX Runtime."""
    url, _, _ = market_setup()
    nodes = urls()
    offer = offer_of(url, address_of("provider-0"))
    with tempfile.TemporaryDirectory() as scratch:
        model, model_input = import_digits_cnn(ASSAY, scratch)
        assert model_input[:2] == ("uint8", [1, 8, 8]), model_input  # NCHW, as `assay model inspect` shows
        x, labels = digits_batch(scratch, model_input, 0, DIGITS_TEST_SPLIT)
        units, fetched, tiles = settled_qnn_job(url, nodes, offer, model, x, scratch)
        dtype, shape, logits = read_npy(fetched)
    assert (dtype, shape) == ("uint8", [DIGITS_TEST_SPLIT, 10]), (dtype, shape)
    predicted = argmax_rows(logits, 10)
    accuracy = 100 * sum(p == label for p, label in zip(predicted, labels)) / len(labels)
    assert round(accuracy, 2) == DIGITS_CNN_INT8_ACCURACY, accuracy
    print(f"     {len(labels)} test digits in one job of {units} work units: settled, validators checked {tiles} "
          f"tiles; accuracy {accuracy:.2f} % (predicted {''.join(map(str, predicted[:20]))}...)")


TILE_NOT_FOUND = 44  # docs/rpc.md, result codes


def test_challenges_of_an_honest_result_and_of_a_missing_tile():
    url, p, fee = market_setup()
    provider = address_of("provider-0")
    offer = offer_of(url, provider)
    with tempfile.TemporaryDirectory() as scratch:
        x, model, _ = heavy_mlp_job(scratch, seed=5)
        out = cli_json("job", "submit", "--node", url, "--key", key_path("account-3"), "--kernel", "mlp-q8/1",
                       "--input", x, "--model", model, "--offer", offer["id"], "--deadline-blocks", "60", "--wait")
    job = out["hash"]
    wait_for(lambda: rpc(url, "job", {"id": job})["result"]["state"] != "open", 60, "the provider's result")
    assert rpc(url, "job", {"id": job})["result"]["state"] == "result_posted"
    challengers = {"honest": ("account-5", ["--layer", "1", "--tile", "3"]),
                   "missing": ("account-6", ["--layer", "1", "--tile", "999"])}
    before = {name: account(url, address_of(key)) for name, (key, _) in challengers.items()}
    provider_before = account(url, provider)[0]
    answers = {}

    def send(name):
        key, tile = challengers[name]
        # A challenge the ledger refuses exits 1 after printing its outcome.
        _, out, _ = cli("tx", "challenge", "--job", job, *tile, "--bond", "1", "--node", url, "--key", key_path(key),
                        "--wait", "--json", check=False)
        answers[name] = json.loads(out)
    threads = [threading.Thread(target=send, args=(name,)) for name in challengers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    honest, missing = answers["honest"], answers["missing"]
    assert honest["code"] == 0 and any(e["type"] == "challenge_failed" for e in honest["events"]), honest
    assert missing["code"] == TILE_NOT_FOUND, missing
    bond = 1_000_000
    balance, nonce = account(url, address_of("account-5"))
    assert before["honest"][0] - balance == bond + fee * (nonce - before["honest"][1]), "the bond was not forfeited"
    balance, nonce = account(url, address_of("account-6"))
    assert before["missing"][0] - balance == fee * (nonce - before["missing"][1]), "a refused challenge cost more than its fee"
    view = wait_terminal(url, [job], 60)[job]
    assert (view["state"], view["reason"]) == ("settled", "window_passed"), view
    print(f"     honest result challenged at layer 1 tile 3: bond {bond} forfeited to the provider; tile 999 refused "
          f"with code {missing['code']} (tile_not_found); the job settled")


# ---- block sync against the live rate (issue 14 goal 4; not in CI: ASSAY_E2E_BLOCKSYNC=1 Tools/e2e) ----

BLOCKSYNC_GAP = int(os.environ.get("ASSAY_BLOCKSYNC_GAP", "2000"))


def test_block_sync_rate():
    """Validator 3 is killed while the other three commit BLOCKSYNC_GAP blocks, which gives the live commit rate;
    restarted, it block-syncs them. Its catch-up rate (blocks gained over the time from its restart, process start
    included, until it is within a height of the tip) must be at least 5 times the live rate."""
    nodes = urls()
    before = height(nodes[3])
    devnet("kill", "3")
    first, started = height(nodes[0]), time.time()
    wait_for(lambda: height(nodes[0]) >= first + BLOCKSYNC_GAP, 3 * BLOCKSYNC_GAP, f"{BLOCKSYNC_GAP} blocks without node 3")
    live = (height(nodes[0]) - first) / (time.time() - started)
    restarted = time.time()
    devnet("start", "3")
    wait_for(lambda: height(nodes[3]) >= height(nodes[0]) - 1, 600, "node 3 to block-sync to the tip")
    seconds = time.time() - restarted
    caught_up = height(nodes[3])
    rate = (caught_up - before) / seconds
    same_chain(nodes, caught_up)
    print(f"     live: {live:.2f} blocks/s over {BLOCKSYNC_GAP} blocks; node 3 (down at {before}) reached {caught_up} "
          f"{seconds:.1f} s after its restart: {rate:.1f} blocks/s = {rate / live:.1f} x the live rate")
    assert rate >= 5 * live, f"block sync at {rate:.1f} blocks/s is under 5 x the live {live:.2f} blocks/s"


# ---- sampling measured against the formula (issue 11; not in CI: ASSAY_E2E_SAMPLING=1 Tools/e2e) ----

SAMPLING_K = int(os.environ.get("ASSAY_SAMPLING_K", "1"))  # [replay] tiles_per_result for this run
SAMPLING_JOBS = int(os.environ.get("ASSAY_SAMPLING_JOBS", "100"))
# 2048 rows through two 512 x 512 layers; at T = 2^26 (the smallest max_tile_work_units) a tile is 256 rows, so a
# trace has 2 x 8 = 16 tiles. A slash takes 0.01% of the stake, so a provider caught often keeps serving. The
# window is long enough for every validator to check every result while 100 jobs load the shared machine (with 8
# blocks, the low-priority replay threads fell behind and about a third of the results went unchecked).
SAMPLING_T, SAMPLING_BATCH, SAMPLING_WIDTH, SAMPLING_LAYERS = 1 << 26, 2048, 512, 2
SAMPLING_PARAMS = [f"max_tile_work_units={SAMPLING_T}", "fraud_slash_fraction=1", "challenge_window_blocks=150",
                   "max_job_deadline_blocks=200"]
SAMPLING_TILES = SAMPLING_LAYERS * -(-SAMPLING_BATCH // (SAMPLING_T // SAMPLING_WIDTH ** 2))


def set_tiles_per_result(k):
    """Restarts every node with [replay] tiles_per_result = k (the chain pauses while they are down)."""
    for i in range(4):
        devnet("kill", str(i))
    for i in range(4):
        path = os.path.join(DIR, f"node{i}", "config.toml")
        text = re.sub(r"tiles_per_result = \d+", f"tiles_per_result = {k}", open(path).read())
        open(path, "w").write(text)
    for i in range(4):
        devnet("start", str(i))
    wait_for(lambda: min(height(u) for u in urls()) > 0, 60, "the restarted nodes")


def cheat_coin(seed, job_hex, leaf):
    """The provider's coin for one tile under --cheat fraction:Q (ProviderWorker.Cheat.coin)."""
    digest = hashlib.sha256(b"assay/cheat-fraction/1" + seed.to_bytes(8, "little") + bytes.fromhex(job_hex)
                            + leaf.to_bytes(8, "little")).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / 2 ** 53


def exact_detection(corrupted, tiles, k, validators):
    """P(some validator's k distinct tiles hit one of `corrupted` of `tiles`), validators drawing independently."""
    from math import comb
    miss = comb(tiles - corrupted, k) / comb(tiles, k) if k <= tiles else float(corrupted == 0)
    return 1 - miss ** validators


def sampling_run(q):
    url, _, _ = market_setup()
    clients = ["account-1", "account-2", "account-3", "account-4"]
    with kernel_provider("account-9", "mlp-q8/1", "--cheat", f"fraction:{q}", "--capacity", "1000", "--stake", "5000") as offer, \
            tempfile.TemporaryDirectory() as scratch:
        x, model, _ = wide_mlp_job(scratch, batch=SAMPLING_BATCH, width=SAMPLING_WIDTH, layers=SAMPLING_LAYERS,
                                   seed=int(q * 1000), tag="sampling")
        jobs, errors = [], []

        def submit(client, count):
            for _ in range(count):
                try:
                    out = cli_json("job", "submit", "--node", url, "--key", key_path(client), "--kernel", "mlp-q8/1",
                                   "--input", x, "--model", model, "--offer", offer["id"], "--deadline-blocks", "200", "--wait")
                    assert out["code"] == 0, out
                    jobs.append(out["hash"])
                except Exception as error:
                    errors.append(error)
        submit(clients[0], 1)  # registers the model
        threads = [threading.Thread(target=submit, args=(c, SAMPLING_JOBS // len(clients) - (c == clients[0]))) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors[0]
        views = wait_terminal(url, jobs, 600)
    caught = sum(v["state"] == "slashed" for v in views.values())
    corrupted = [sum(cheat_coin(1, job, leaf) < q for leaf in range(SAMPLING_TILES)) for job in jobs]
    exact = mean([exact_detection(c, SAMPLING_TILES, SAMPLING_K, 4) for c in corrupted])
    formula = 1 - (1 - q) ** (SAMPLING_K * 4)
    print(f"     q = {q}, k = {SAMPLING_K}, V = 4, {len(jobs)} jobs of {SAMPLING_TILES} tiles "
          f"({sum(corrupted)} tiles corrupted, {sum(c == 0 for c in corrupted)} jobs with none): detected "
          f"{caught}/{len(jobs)} = {caught / len(jobs):.3f}; predicted 1-(1-q)^(kV) = {formula:.3f}, "
          f"for these jobs' corrupted tiles (k distinct per validator) {exact:.3f}", flush=True)
    return caught, len(jobs), exact


def test_sampling_fraction_tenth():
    caught, total, exact = sampling_run(0.1)
    spread = 4 * (total * exact * (1 - exact)) ** 0.5  # 4 standard deviations of a binomial count
    assert abs(caught - exact * total) <= spread, f"{caught} caught, {exact * total:.1f} expected (+-{spread:.1f})"


def test_sampling_fraction_all():
    caught, total, _ = sampling_run(1.0)
    assert caught == total, f"{total - caught} of {total} fully corrupted jobs escaped"


def test_supply_conserved():
    supply = rpc(urls()[0], "supply")["result"]
    assert int(supply["total"]) == int(supply["genesis_supply"]), supply
    print(f"     total {supply['total']} base units = genesis supply (balances {supply['balances']}, bonded "
          f"{supply['bonded']}, unbonding {supply['unbonding']}, escrowed {supply['escrowed']}, burned {supply['burned']})")


def test_python_client():
    url = urls()[0]
    key = json.loads(subprocess.run([PYTHON_CLIENT, "new-key"], check=True, capture_output=True, text=True).stdout)
    cli("tx", "transfer", "--node", url, "--key", key_path("account-4"), "--to", key["address"], "--amount", "50", "--wait")
    offer = offer_of(url, address_of("provider-0"))
    for args in (["transfer", "--to", address_of("account-5"), "--amount", "1000"], ["job", "--offer", offer["id"]]):
        done = subprocess.run([PYTHON_CLIENT, args[0], "--node", url, "--secret", key["secret"], *args[1:]],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        print("     python " + done.stdout.strip().replace("\n", "\n     python "))
    job_id = done.stdout.strip().split()[-1]
    wait_terminal(url, [job_id], 120)
    money = subprocess.run([PYTHON_CLIENT, "job-money", "--node", url, job_id], capture_output=True, text=True)
    assert money.returncode == 0, money.stdout + money.stderr
    flow, view = json.loads(money.stdout), rpc(url, "job", {"id": job_id})["result"]
    assert flow["outcome"] == view["state"] == "settled" and flow["client"] == key["address"], (flow, view)
    assert flow["paid"] + flow["burned"] == int(view["price_per_work_unit"]) * view["result"]["work_units"], (flow, view)
    print(f"     python job-money: escrow {flow['escrow']} -> paid {flow['paid']}, refunded {flow['refund']}, "
          f"burned {flow['burned']} (events at heights {[e['height'] for e in flow['events']]})")


def test_blobs_cli_and_python():
    """The CLI and the Python client (tree written from docs/encoding.md) upload and fetch each other's blobs."""
    url = urls()[0]
    with tempfile.TemporaryDirectory() as scratch:
        path = lambda name: os.path.join(scratch, name)  # noqa: E731
        with open(path("a.bin"), "wb") as file:
            file.write(os.urandom(5 * (1 << 20) + 123))
        with open(path("b.bin"), "wb") as file:
            file.write(os.urandom(3 * (1 << 20)))
        a = cli_json("blob", "put", path("a.bin"), "--node", url)
        b = json.loads(subprocess.run([PYTHON_CLIENT, "blob-put", "--node", url, path("b.bin")], check=True,
                                      capture_output=True, text=True).stdout)
        cli("blob", "get", b["id"], "--out", path("b.cli"), "--node", url)
        subprocess.run([PYTHON_CLIENT, "blob-get", "--node", url, a["id"], "--out", path("a.py")], check=True,
                       capture_output=True)
        python_id = json.loads(subprocess.run([PYTHON_CLIENT, "blob-put", "--node", url, path("a.bin")], check=True,
                                              capture_output=True, text=True).stdout)["id"]
        assert python_id == a["id"], (python_id, a)
        for original, copy in (("a.bin", "a.py"), ("b.bin", "b.cli")):
            assert open(path(original), "rb").read() == open(path(copy), "rb").read(), copy
        status = rpc(url, "blob_status", [a["id"]])["result"]
        assert status["complete"] and status["chunk_count"] == 6, status
        code, _, err = cli("blob", "get", "ab" * 32, "--out", path("none"), "--node", url, check=False)
        assert code == 1 and "does not hold" in err and not os.path.exists(path("none")), err
    print(f"     CLI put {a['id'][:12]}... ({a['length']} bytes), Python got it; Python put {b['id'][:12]}..., CLI got it")


@contextlib.contextmanager
def provider_on_node(index, key_name):
    """A provider worker (honest, price 1) attached to node `index`; yields its offer once published."""
    log = open(os.path.join(DIR, f"node{index}-provider.log"), "a")
    worker = subprocess.Popen([ASSAY, "provider", "start", "--key", key_path(key_name), "--node", urls()[index],
                               "--price", "1"], stdout=log, stderr=subprocess.STDOUT)
    try:
        yield offer_of(urls()[0], address_of(key_name))
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)


def run_job_across_nodes(x, model, work_units, client):
    """Submits a job through node 0 to the provider attached to node 2, waits until it is settled and every
    validator has replayed it, and returns (job id, its output fetched through node 3 as (shape, values))."""
    nodes = urls()
    with provider_on_node(2, "account-0") as offer:
        replayed_before = [replayed(u) for u in nodes]
        out = cli_json("job", "submit", "--node", nodes[0], "--key", key_path(client), "--input", x,
                       "--model", model, "--offer", offer["id"], "--deadline-blocks", "100", "--wait")
        assert out["code"] == 0, out
        view = wait_terminal(nodes[0], [out["hash"]], 300)[out["hash"]]
        assert (view["state"], view["reason"]) == ("settled", "window_passed"), view
        assert view["result"]["work_units"] == work_units, view
        wait_for(lambda: all(replayed(u) > before for u, before in zip(nodes, replayed_before)), 120,
                 "every validator to replay the result")
    y = os.path.join(os.path.dirname(x), "y.npy")
    cli("job", "output", out["hash"], "--out", y, "--node", nodes[3])
    return out["hash"], read_npy_int32(y)


def test_large_blob_job_across_nodes():
    """Issue 10 acceptance: a 64 MiB input uploaded through node 0, computed by a provider attached to node 2,
    replayed by every validator, settled, and its output fetched through node 3 and checked."""
    with tempfile.TemporaryDirectory() as scratch:
        m, k, n = 65536, 1024, 8
        x, model, data, b = large_gemm_job(scratch, m, k, n)
        job, (shape, y) = run_job_across_nodes(x, model, m * k * n, "account-5")
        assert shape == [m, n], shape
        # Rows checked exactly against a sample of 256 (all of them would take minutes in pure Python).
        for row in range(0, m, m // 256):
            a = data[row * k:(row + 1) * k]
            expected = [sum(a[i] * b[i * n + j] for i in range(k)) for j in range(n)]
            assert list(y[row * n:(row + 1) * n]) == expected, f"row {row}"
    print(f"     job {job[:12]}...: {len(data) >> 20} MiB input put through node 0, computed via node 2 "
          f"({m * k * n} work units), replayed by 4 validators, settled; output fetched through node 3 matches")


def test_large_model_job_across_nodes():
    """Issue 10 acceptance: a 16 MiB model (int8 4096 x 4096) registered through node 0 and used by a job computed
    via node 2, replayed by every validator, settled, its output fetched through node 3 and checked."""
    with tempfile.TemporaryDirectory() as scratch:
        m, k, n = 8, 4096, 4096
        model, b_bytes = large_gemm_model(scratch, k, n)
        rng = random.Random(5)
        a = [rng.randrange(-128, 128) for _ in range(m * k)]
        x = os.path.join(scratch, "x.npy")
        write_npy(x, "int8", [m, k], a)
        job, (shape, y) = run_job_across_nodes(x, model, m * k * n, "account-7")
        assert shape == [m, n], shape
        b = memoryview(b_bytes).cast("b")
        # Every row, a sample of 64 columns, exactly (all 4096 would take a minute in pure Python).
        for j in range(0, n, n // 64):
            column = b[j::n]
            for row in range(m):
                expected = sum(a[row * k + i] * column[i] for i in range(k))
                assert y[row * n + j] == expected, f"y[{row}, {j}] = {y[row * n + j]}, expected {expected}"
    print(f"     job {job[:12]}...: a {len(b_bytes) >> 20} MiB model ({k} x {n} int8) registered through node 0, "
          f"job computed via node 2 ({m * k * n} work units), replayed by 4 validators, settled; output via node 3 matches")


# ---- blob faults (issue 10): real processes, real faults ----

SIGNATURE_BYTES = 64


def blob_ref_in(tx_hex, bytes_after):
    """The blob reference (id hex, length) that ends `bytes_after` bytes before a signed transaction's signature:
    a register_model's model blob ends the body (0), a job's input blob is followed by max units and deadline (16)
    (docs/encoding-transactions.md)."""
    tx = bytes.fromhex(tx_hex)
    end = len(tx) - SIGNATURE_BYTES - bytes_after
    return tx[end - 40:end - 8].hex(), int.from_bytes(tx[end - 8:end], "little")


def blob_status(url, blob_id):
    """The blob_status result, or None while nothing of the blob is held (or the node does not answer)."""
    try:
        return rpc(url, "blob_status", [blob_id], timeout=2).get("result")
    except OSError:
        return None


def node_pid(index):
    return int(open(os.path.join(DIR, f"node{index}", "pid")).read())


def downloaded_sha256(url, blob_id, scratch):
    """Downloads a blob with `assay blob get` (which checks it against its id) and returns its bytes' SHA-256."""
    path = os.path.join(scratch, f"{blob_id[:12]}-{url.rsplit(':', 1)[1]}.bin")
    cli("blob", "get", blob_id, "--out", path, "--node", url)
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()


def test_node_killed_while_receiving_a_blob_resumes_it():
    """Node 3 is SIGKILLed while it fetches a 48 MiB model blob that a gossiped register_model references; restarted,
    it fetches only the chunks it lacked, holds the complete verified blob and catches up with the chain."""
    nodes = urls()
    with tempfile.TemporaryDirectory() as scratch:
        model, _ = large_gemm_model(scratch, 6144, 8192, seed=3)
        signed = cli("tx", "register-model", "--model", model, "--node", nodes[0], "--key", key_path("account-8"),
                     "--print-hex")[1].strip().splitlines()[-1]  # uploads the model blob to node 0 only
        blob_id, length = blob_ref_in(signed, 0)
        chunks = -(-length // (1 << 20))
        assert "error" not in rpc(nodes[0], "broadcast_tx_sync", {"tx": signed}), "node 0 refused the register_model"
        held = []
        deadline = time.time() + 60
        while time.time() < deadline:  # as fast as RPC answers: the fetch takes a few seconds at most
            status = blob_status(nodes[3], blob_id)
            held = status["held_chunks"] if status else []
            assert not (status and status["complete"]), "node 3 completed the blob before it could be killed"
            if held:
                os.kill(node_pid(3), signal.SIGKILL)
                break
        assert 0 < len(held) < chunks, f"never saw node 3 part-way through the blob ({len(held)} of {chunks} chunks)"
        lacked = sum(min(1 << 20, length - i * (1 << 20)) for i in range(chunks) if i not in held)
        devnet("kill", "3")  # reaps what the SIGKILL left: the pid file
        wait_for(lambda: all((blob_status(u, blob_id) or {}).get("complete") for u in nodes[:3]), 60,
                 "nodes 0-2 to hold the model")
        devnet("start", "3")
        wait_for(lambda: (blob_status(nodes[3], blob_id) or {}).get("complete"), 120, "node 3 to complete the blob")
        fetched = metric(nodes[3], "assay_blob_fetched_bytes_total")
        assert fetched <= lacked, f"node 3 fetched {fetched} bytes after its restart, more than the {lacked} it lacked"
        target = max(height(u) for u in nodes[:3])
        wait_for(lambda: height(nodes[3]) >= target, 60, f"node 3 to catch up to height {target}")
        same_chain(nodes, target)
        digests = {downloaded_sha256(u, blob_id, scratch) for u in (nodes[0], nodes[3])}
        assert len(digests) == 1, f"node 3's copy differs from node 0's: {digests}"
    print(f"     killed node 3 holding {len(held)} of {chunks} chunks of {blob_id[:12]}... ({length} bytes); after "
          f"the restart it fetched {fetched} bytes, holds the verified blob (sha256 {digests.pop()[:12]}...) and "
          f"caught up to height {target}")


def blobs_directory(home):
    """A node's blob store directory: `<data dir>/blobs` (docs/rpc.md), the data dir being `data` as `node init`
    writes it."""
    return os.path.join(home, "data", "blobs")


def restart_serving_blobs(index, serving):
    """Restarts node `index` with `[p2p] serve_blobs` set (docs/p2p.md, Serving) and waits for it to catch up."""
    path = os.path.join(DIR, f"node{index}", "config.toml")
    config = re.sub(r"(?m)^serve_blobs = .*\n", "", open(path).read())
    with open(path, "w") as file:
        file.write(config.replace("[p2p]\n", f"[p2p]\nserve_blobs = {'true' if serving else 'false'}\n", 1))
    devnet("kill", str(index))
    devnet("start", str(index))
    nodes = urls()
    target = max(height(u) for u in nodes if u != nodes[index])
    wait_for(lambda: height(nodes[index]) >= target, 60, f"node {index} to catch up")


def proposer_of(validator_key):
    """The proposer field of the blocks a genesis validator proposes (its public key, as in headers)."""
    shown = assay("keys", "show", validator_key)
    return re.search(r"public_key: ([0-9a-f]{64})", shown).group(1)


def proposers(url, first, last):
    return {rpc(url, "block", {"height": h})["result"]["header"]["proposer"] for h in range(first, last + 1)}


BLOB_QUORUM_WAIT_BLOCKS = 32  # BlobQuorum.waitBlocksMaxDefault: a job no peer reports holding is proposed after it


def test_unavailable_proposal_goes_to_a_later_round():
    """docs/consensus.md, Blob availability rule: node 0 holds the only copy of a job's input and withholds it
    (`serve_blobs = false`: every chunk request is answered "not held"), so its peers never hold the input and
    prevote nil on each block node 0 proposes with the job. No peer gossips the job back, so node 0 holds it back
    for BLOB_QUORUM_WAIT_BLOCKS, then proposes it: the job never commits, node 0's heights commit in a later round,
    and the chain goes on. Then node 1 gets a copy: the others fetch it from node 1 and the job commits."""
    nodes = urls()
    node0 = proposer_of(os.path.join(DIR, "genesis", "validator-0.json"))
    offer = offer_of(nodes[0], address_of("provider-0"))
    restart_serving_blobs(0, False)
    with tempfile.TemporaryDirectory() as scratch:
        m, k, n = 1 << 19, 8, 4
        x, model, _, _ = large_gemm_job(scratch, m, k, n, seed=4)  # a 4 MiB input, five chunks
        model_hash = re.search(r"model_hash: (\S+)", cli("tx", "register-model", "--model", model, "--node", nodes[1],
                                                          "--key", key_path("account-6"), "--wait")[1]).group(1)

        def sign_job(url):  # uploads the input to that node only
            return cli("tx", "job", "--offer", offer["id"], "--model-hash", model_hash, "--input", x, "--max-units",
                       str(m * k * n), "--deadline-blocks", "100", "--node", url, "--key", key_path("account-6"),
                       "--print-hex")[1].strip().splitlines()[-1]

        signed = sign_job(nodes[0])
        job = hashlib.sha256(bytes.fromhex(signed)).hexdigest()
        input_id, _ = blob_ref_in(signed, 16)
        submitted = height(nodes[0])
        assert "error" not in rpc(nodes[0], "broadcast_tx_sync", {"tx": signed}), "node 0 refused the job"
        first = submitted + BLOB_QUORUM_WAIT_BLOCKS + 2  # node 0 proposes the job from here on
        wait_for(lambda: min(height(u) for u in nodes) >= first + 12, 180, "the wait and 12 more blocks")
        last = min(height(u) for u in nodes)
        blocks = [rpc(nodes[1], "block", {"height": h})["result"] for h in range(first, last + 1)]
        later_rounds = [b["header"]["height"] for b in blocks if b["commit"]["round"] > 0]
        assert all(b["header"]["proposer"] != node0 for b in blocks), "a block node 0 proposed was committed"
        assert len(later_rounds) >= 2, f"no height went to a later round: {[b['commit']['round'] for b in blocks]}"
        assert "error" in rpc(nodes[1], "tx", {"hash": job}), "the job was committed"
        for index in (1, 2, 3):
            assert not (blob_status(nodes[index], input_id) or {}).get("complete"), f"node {index} holds the input"
            # No node holds the input: each refuses the job at admission, with the upload hint.
            refusal = rpc(nodes[index], "broadcast_tx_sync", {"tx": signed}).get("error") or {}
            assert refusal.get("code") == -32013 and refusal["data"]["reason"] == "blob_not_held", refusal
            assert f"blob {input_id} is not held by this node; upload it first" in refusal["message"], refusal

        sign_job(nodes[1])  # a copy appears on node 1, which serves it; node 0 still withholds
        wait_for(lambda: all((blob_status(u, input_id) or {}).get("complete") for u in nodes[2:]), 60,
                 "nodes 2 and 3 to fetch the input from node 1")
        wait_for(lambda: "result" in rpc(nodes[1], "tx", {"hash": job}), 60, "the job to commit")
    committed = rpc(nodes[1], "tx", {"hash": job})["result"]
    assert committed["code"] == 0, committed
    with tempfile.TemporaryDirectory() as scratch:
        digests = {downloaded_sha256(u, input_id, scratch) for u in nodes}
    assert len(digests) == 1, f"the nodes hold different inputs: {digests}"
    # Clean up: node 0 serves again. Provider 0 may run the job meanwhile; it ends settled or refunded like any other.
    restart_serving_blobs(0, True)
    restart = height(nodes[0])
    wait_for(lambda: node0 in proposers(nodes[1], restart + 1, height(nodes[1])), 60,
             "a block proposed by node 0 to commit again")
    print(f"     job {job[:12]}... not committed while only node 0 held its input (withholding it): {len(later_rounds)} "
          f"of heights {first}-{last} committed in a later round ({later_rounds}), none proposed by node 0; nodes 1-3 "
          f"refused the job with -32013: {refusal['message'][:90]}...; once node 1 held a copy, nodes 2-3 fetched it "
          f"and the job committed at height {committed['height']}")

def http(url, method, body=None, headers=None):
    """One HTTP request; returns (status, headers, body bytes) whatever the status."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_blob_bad_input_is_refused_and_changes_nothing():
    """Issue 10's bad input against a real node: each gets its documented status and reason, and the node's blobs
    are as before (the complete one still served whole, the refused ones not held at all)."""
    node1, node0 = urls()[1], urls()[0]
    max_blob = params(node1)["max_blob_bytes"]
    with tempfile.TemporaryDirectory() as scratch:
        held_path, fresh_path = os.path.join(scratch, "held.bin"), os.path.join(scratch, "fresh.bin")
        for path in (held_path, fresh_path):
            with open(path, "wb") as file:
                file.write(os.urandom(2 * (1 << 20) + 5))
        held = cli_json("blob", "put", held_path, "--node", node1)
        fresh = cli_json("blob", "put", fresh_path, "--node", node0)  # its id is real; node 1 never gets its bytes
        fresh_bytes, length = open(fresh_path, "rb").read(), held["length"]
        blobs_before = metric(node1, "assay_blobs_held"), metric(node1, "assay_blob_bytes_held")
        put = lambda blob_id, query, body: http(f"{node1}/blobs/{blob_id}?{query}", "PUT", body)  # noqa: E731
        cases = [
            ("an id that is not hex", put("xyz", "length=1", b"\x01"), 400, "bad_id"),
            ("an upload larger than max_blob_bytes", put(fresh["id"], f"length={max_blob + 1}", b"\x01"), 413, "too_large"),
            ("a length that disagrees with the body", put(fresh["id"], f"length={length + 1}", fresh_bytes), 400,
             "wrong_length"),
            ("chunks that do not hash to the id", put(fresh["id"], f"length={length}", os.urandom(length)), 422,
             "root_mismatch"),
            ("a held blob claimed at another length", put(held["id"], f"length={length - 1}", fresh_bytes[:-1]), 422,
             "length_mismatch"),
            ("a Range past the end", http(f"{node1}/blobs/{held['id']}", "GET", headers={"Range": f"bytes={length}-"}),
             416, "range_not_satisfiable"),
            ("a status for an id that is not hex", http(f"{node1}/blobs/nothex/status", "GET"), 400, "bad_id"),
        ]
        for what, (status, headers, body), expected_status, reason in cases:
            error = json.loads(body)["error"]
            assert (status, error["reason"]) == (expected_status, reason), f"{what}: {status} {error}"
            print(f"     {what}: HTTP {status} {reason}: {error['message']}")
        assert cases[5][1][1]["Content-Range"] == f"bytes */{length}", cases[5][1][1]
        assert rpc(node1, "blob_status", ["nothex"])["error"]["code"] == -32602
        code, _, err = cli("blob", "get", "NOTHEX", "--out", os.path.join(scratch, "none"), "--node", node1, check=False)
        assert code == 1 and "hex" in err and not os.path.exists(os.path.join(scratch, "none")), (code, err)
        # Nothing changed: the refused blob is not held even in part, the held one is served whole and intact.
        assert rpc(node1, "blob_status", [fresh["id"]])["error"]["code"] == -32020
        assert (metric(node1, "assay_blobs_held"), metric(node1, "assay_blob_bytes_held")) == blobs_before
        assert downloaded_sha256(node1, held["id"], scratch) == hashlib.sha256(open(held_path, "rb").read()).hexdigest()
    print(f"     CLI: blob get NOTHEX: exit 1: {err.strip().splitlines()[-1]}")


def blob_id_of(data):
    """The blob id of `data`, from docs/encoding.md (Blobs): an RFC 6962-shaped SHA-256 tree over 1 MiB chunks."""
    chunk = 1 << 20
    leaves = [hashlib.sha256(b"\x00" + data[i:i + chunk]).digest() for i in range(0, max(len(data), 1), chunk)]

    def root(nodes):
        if len(nodes) == 1:
            return nodes[0]
        split = 1 << ((len(nodes) - 1).bit_length() - 1)  # the largest power of two below len(nodes)
        return hashlib.sha256(b"\x01" + root(nodes[:split]) + root(nodes[split:])).digest()

    return root(leaves).hex()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def node_process(home):
    """`assay node start` on `home`, stopped (SIGTERM) on the way out; yields the Popen."""
    log = open(os.path.join(DIR, os.path.basename(home) + ".log"), "a")
    process = subprocess.Popen([ASSAY, "node", "start", "--home", home], stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)


def test_blob_upload_filling_the_disk():
    """A one-validator chain of its own whose blob directory (`<data dir>/blobs`) is an 8 MiB tmpfs: a 12 MiB upload
    gets a clear disk_full error, the chunks that fit stay held and resumable (also across a SIGKILL), nothing is
    complete, and the node keeps committing blocks (its RocksDB is on another disk)."""
    home, genesis = os.path.join(DIR, "full-disk-node"), os.path.join(DIR, "full-disk-genesis")
    assay("genesis", "init", "--validators", "1", "--accounts", "1", "--out", genesis)
    url = f"http://127.0.0.1:{free_port()}"
    assay("node", "init", "--home", home, "--genesis", os.path.join(genesis, "genesis.json"), "--key",
          os.path.join(genesis, "validator-0.json"), "--p2p-listen", "127.0.0.1:0", "--rpc-listen", url[len("http://"):])
    blobs = blobs_directory(home)
    os.makedirs(blobs)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", blobs], capture_output=True).returncode:
        print("     skipped: cannot mount a tmpfs here (the disk-full check needs root)")
        return
    try:
        with tempfile.TemporaryDirectory() as scratch:
            path, data = os.path.join(scratch, "big.bin"), os.urandom(12 << 20)
            with open(path, "wb") as file:
                file.write(data)
            blob_id = blob_id_of(data)
            with node_process(home) as node:
                wait_for(lambda: height(url) >= 1, 60, "the one-validator chain to commit")
                code, _, err = cli("blob", "put", path, "--node", url, "--json", check=False)
                assert code == 1 and "disk is full" in err and "507, disk_full" in err, (code, err)
                held = blob_status(url, blob_id)["held_chunks"]
                assert len(held) <= 8, f"an 8 MiB disk took {len(held)} of the 12 chunks"
                committed = height(url)
                wait_for(lambda: height(url) >= committed + 3, 30, "3 more blocks on the full blob disk")
                node.send_signal(signal.SIGKILL)
                node.wait(timeout=20)
            with node_process(home):
                wait_for(lambda: height(url) > committed, 60, "the restarted node to answer")
                after = blob_status(url, blob_id)
                assert (after["complete"], after["held_chunks"]) == (False, held), after
                assert http(f"{url}/blobs/{blob_id}", "GET")[0] == 404
                assert (metric(url, "assay_blobs_held"), metric(url, "assay_blob_bytes_held")) == (0, 0)
                code, _, again = cli("blob", "put", path, "--node", url, "--json", check=False)
                assert code == 1 and "507, disk_full" in again, (code, again)
    finally:
        subprocess.run(["umount", blobs], capture_output=True)
    print(f"     {len(held)} of 12 chunks fit, kept across a SIGKILL, blob not complete; blob put: exit 1: "
          f"{err.strip().splitlines()[-1]}")


def running(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test_full_disk_stops_the_node_cleanly():
    """Node 3's data directory moved onto a tmpfs with 192 MiB to spare (RocksDB preallocates about 74 MB of WAL on
    opening; the default `min_free_bytes` is 64 MiB), then filled to the last byte while the node runs: the node stops with the `min_free_bytes` error, not a crash;
    with the space freed and the node started again, it catches up with the others on the same chain. The data goes
    back to its own disk afterwards."""
    nodes, home = urls(), os.path.join(DIR, "node3")
    data, saved = os.path.join(home, "data"), os.path.join(home, "data.saved")
    devnet("kill", "3")
    os.rename(data, saved)
    os.mkdir(data)
    used = int(subprocess.run(["du", "-sb", saved], capture_output=True, text=True).stdout.split()[0])
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={used + (192 << 20)}", "tmpfs", data],
                      capture_output=True).returncode:
        os.rmdir(data)
        os.rename(saved, data)
        devnet("start", "3")
        print("     skipped: cannot mount a tmpfs here (the disk-full check needs root)")
        return
    on_tmpfs = False  # whether the tmpfs holds the node's data (then it is copied back), or `saved` still does
    try:
        subprocess.run(["cp", "-a", saved + "/.", data], check=True)
        on_tmpfs = True
        log = os.path.join(home, "node.log")
        log_at = os.path.getsize(log)
        start = height(nodes[0])
        devnet("start", "3")
        wait_for(lambda: height(nodes[3]) >= start + 2, 60, "node 3 to commit 2 blocks on its tmpfs")
        filler = os.path.join(data, "filler")
        with open(filler, "wb") as out:
            with contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * (1 << 20))
                    out.flush()
        pid = node_pid(3)
        wait_for(lambda: not running(pid), 30, "node 3 to stop on the full disk")
        with open(log, errors="replace") as file:
            file.seek(log_at)
            said = file.read()
        assert "below min_free_bytes 67108864: stopping" in said, said[-2000:]
        assert "Program crashed" not in said and "Assertion" not in said, said[-2000:]
        message = next(line for line in said.splitlines() if line.startswith("Error:"))
        os.remove(filler)
        devnet("start", "3")
        target = max(height(url) for url in nodes[:3])
        wait_for(lambda: height(nodes[3]) >= target, 60, f"node 3 to catch up to height {target}")
        same_chain(nodes, target)
    finally:
        devnet("kill", "3", check=False)
        if on_tmpfs:
            shutil.rmtree(saved)
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(data, "filler"))
            subprocess.run(["cp", "-a", data, saved], check=True)
        subprocess.run(["umount", data], check=True)
        os.rmdir(data)
        os.rename(saved, data)
        devnet("start", "3")
    print(f"     node 3 stopped: {message.strip()[:200]}; restarted with space freed, caught up to height {target}")


def test_wallet_errors():
    url = urls()[0]
    missing = os.path.join(DIR, "no-such-key.json")
    cases = [
        ("missing key file", ["tx", "transfer", "--node", url, "--key", missing, "--to", address_of("account-1"), "--amount", "1"], "no-such-key"),
        ("unreachable node", ["query", "job", "00" * 32, "--node", "http://127.0.0.1:9"], "cannot reach"),
        ("unknown job id", ["query", "job", "ab" * 32, "--node", url], "not found"),
        ("unknown job id (tx)", ["tx", "settle", "--job", "ab" * 32, "--node", url, "--key", key_path("account-1")], "not found"),
    ]
    encrypted = os.path.join(DIR, "encrypted-key.json")
    right, wrong = os.path.join(DIR, "right.txt"), os.path.join(DIR, "wrong.txt")
    open(right, "w").write("correct horse\n")
    open(wrong, "w").write("battery staple\n")
    assay("keys", "new", "--out", encrypted, "--passphrase-file", right)
    cases.append(("wrong passphrase", ["tx", "stake", "--node", url, "--key", encrypted, "--passphrase-file", wrong,
                                       "--amount", "1"], "passphrase"))
    cases.append(("insufficient balance", ["tx", "transfer", "--node", url, "--key", encrypted, "--passphrase-file", right,
                                           "--to", address_of("account-1"), "--amount", "5"], "insufficient balance"))
    for what, args, needle in cases:
        code, out, err = cli(*args, check=False)
        assert code != 0, f"{what}: exit code 0"
        assert needle.lower() in err.lower(), f"{what}: stderr {err!r} lacks {needle!r}"
        print(f"     {what}: exit {code}: {err.strip().splitlines()[-1]}")


def public_key_of(path):
    return re.search(r"public_key: (\S+)", assay("keys", "show", path)).group(1)


def governance(url, voter, *action):
    """Submits a governance transaction signed by `voter` (a genesis key name or a key path) and waits for it."""
    key = voter if os.path.isabs(voter) else key_path(voter)
    return cli_json("tx", *action, "--key", key, "--node", url, "--wait")


def pass_proposal(url, proposer, voters, *action):
    """Proposes `action` as `proposer`, approves it by `voters` in turn; returns the height it passed at."""
    proposal = governance(url, proposer, "propose", *action)["hash"]
    for voter in voters:
        vote = governance(url, voter, "vote", "--proposal", proposal, "--approve")
        if any(event["type"] == "proposal_passed" for event in vote["events"]):
            return vote["height"]
    raise AssertionError(f"proposal {proposal} did not pass with the votes of {voters}")


def set_keys(url, h):
    return {member["public_key"] for member in rpc(url, "validators", {"height": h})["result"]["validators"]}


def commit_signers(url, h):
    """Who signed the commit certificate of block h (carried by block h + 1)."""
    commit = rpc(url, "block", {"height": h + 1})["result"]["last_commit"]
    return {signature["validator"] for signature in commit["signatures"]}


def init_state_sync_joiner(home, key, node_key, *options):
    """Writes the home of a node that joins by state sync, trusting the snapshot before the newest (Network/devnet
    takes one every 10 blocks; every validator holds it) and dialling the 4 validators, with more `node init`
    options; returns the trusted height and its RPC URL."""
    url = urls()[0]
    trust = (height(url) // 10) * 10 - 10
    trust_hash = rpc(url, "block", {"height": trust})["result"]["hash"]
    peers = [re.search(r"\[p2p\]\n(?:(?!\[)[^\n]*\n)*?listen = ['\"](127\.0\.0\.1:\d+)",
                       open(os.path.join(DIR, f"node{i}", "config.toml")).read()).group(1) for i in range(4)]
    rpc_address = f"127.0.0.1:{free_port()}"
    assay("node", "init", "--home", home, "--genesis", os.path.join(DIR, "genesis", "genesis.json"), "--key", key,
          "--node-key", node_key, "--p2p-listen", "127.0.0.1:0", "--rpc-listen", rpc_address, "--trust-height", str(trust),
          "--trust-hash", trust_hash, *[arg for peer in peers for arg in ("--peer", peer)], *options)
    return trust, f"http://{rpc_address}"


def wait_at_tip(joiner, url, what):
    """Waits until `joiner` is within a height of `url` and not catching up, sampling its status meanwhile; returns
    the samples (its height, url's, its catching_up) taken while it was more than a height behind."""
    samples = []

    def at_tip():
        try:
            status = rpc(joiner, "status", timeout=2)["result"]
        except OSError:  # its RPC opens once the snapshot is restored
            return False
        tip = height(url)
        samples.append((status["latest_height"], tip, status["catching_up"]))
        return not status["catching_up"] and tip - status["latest_height"] <= 1
    wait_for(at_tip, 180, what)
    return [sample for sample in samples if sample[1] - sample[0] > 1]


def test_validator_added_then_removed():
    """A 5th validator added by governance: a 5th node process with the new key joins by state sync from the
    validators' snapshot (time to tip printed), and signs commits from exactly H + 2 on; then validator 3 is removed and
    signs nothing from its H + 2 on, while the chain goes on. Runs last: node 3 is no longer a validator afterwards."""
    nodes = urls()
    url = nodes[0]
    key, home = os.path.join(DIR, "validator-4.json"), os.path.join(DIR, "node4")
    node_key = os.path.join(DIR, "node-key-4.json")
    for path in (key, node_key):
        assay("keys", "new", "--out", path, "--insecure-plaintext")
    joiner = public_key_of(key)
    # Its vote on the removal below pays a fee like any transaction. Without this transfer it could pay only from
    # fees it happened to earn as a proposer by then, which made the check depend on timing.
    joiner_address = re.search(r"address: (\S+)", assay("keys", "show", key)).group(1)
    cli("tx", "transfer", "--node", url, "--key", key_path("account-4"), "--to", joiner_address, "--amount", "1", "--wait")
    added = pass_proposal(url, "validator-0", ["validator-1", "validator-2"], "--add-validator",
                          joiner, "--power", "10", "--node-key", public_key_of(node_key))
    assert joiner not in set_keys(url, added + 1) and joiner in set_keys(url, added + 2), "the set changes at H + 2"
    # From the commit of `added` the validators let its node key connect.
    trust, joiner_url = init_state_sync_joiner(home, key, node_key)
    started = time.time()
    with node_process(home):
        behind = wait_at_tip(joiner_url, url, "node 4 to join by state sync and reach the tip")
        to_tip = time.time() - started
        restored, restore_seconds, chunk_bytes, p2p_bytes = state_sync_log_figures(os.path.join(DIR, "node4.log"))
        assert restored >= trust, f"node 4 restored height {restored}, below the trusted {trust}"
        assert all(s[2] for s in behind), f"node 4 said it was not catching up while behind: {behind}"
        wait_for(lambda: joiner in commit_signers(url, height(url) - 2), 120, "node 4 to sign a commit")
        target = height(url) + 2
        wait_for(lambda: height(url) >= target, 60, f"height {target}")
        signed = [h for h in range(max(1, added - 4), target - 1) if joiner in commit_signers(url, h)]
        assert signed and min(signed) >= added + 2, f"node 4 signed commits at {signed}, added at {added}"
        assert len(signed) >= 2, f"node 4 signed only the commits of {signed}"
        leaver = public_key_of(key_path("validator-3"))
        removed = pass_proposal(url, "validator-0", ["validator-1", "validator-2", key],
                                "--remove-validator", leaver)
        assert leaver in set_keys(url, removed + 1) and leaver not in set_keys(url, removed + 2)
        wait_for(lambda: height(url) >= removed + 6, 60, "4 blocks after the removal takes effect")
        last = max(h for h in range(1, removed + 5) if leaver in commit_signers(url, h))
        assert last <= removed + 1, f"validator 3 still signed the commit of {last}, removed at {removed}"
        for h in range(restored, removed + 6):
            assert block_ids(joiner_url, h) == block_ids(url, h), f"node 4's block {h} differs"
    print(f"     node 4 joined by state sync: restored height {restored} (trusted {trust}) in {restore_seconds:.1f} s, "
          f"{chunk_bytes} chunk bytes, {p2p_bytes} p2p bytes; at the tip {to_tip:.1f} s after start; catching_up "
          f"true in all {len(behind)} samples taken behind")
    print(f"     added at {added}: node 4 signed commits {signed[:4]}...; validator 3 removed at {removed}, "
          f"its last signed commit {last}")


def equivocator():
    """The test-only double-signing validator (Sources/AssayEquivocator), built on first use."""
    subprocess.run(["swift", "build", "-c", BUILD, "--product", "assay-equivocator", "--scratch-path", SCRATCH], cwd=ROOT,
                   check=True, capture_output=True)
    return os.path.join(SCRATCH, BUILD, "assay-equivocator")


def p2p_listen(index):
    config = open(os.path.join(DIR, f"node{index}", "config.toml")).read()
    return re.search(r"\[p2p\]\n(?:(?!\[)[^\n]*\n)*?listen = ['\"](127\.0\.0\.1:\d+)", config).group(1)


def test_double_sign_is_reported_slashed_and_removed():
    """Issue 13: a validator whose node is down double-signs prevotes from another process (assay-equivocator, with
    its key, bypassing SafetyRules). The live nodes find the equivocation and one of them submits the evidence by
    itself; once committed the validator's stake is slashed by double_sign_slash_fraction, it is tombstoned and out
    of the set at H + 2, and the chain goes on; the explorer's validators page lists it. Runs after the validators
    check: the offender is the 5th validator it added (whose node it stopped), or, run alone, validator 3 (stopped
    here)."""
    nodes = urls()
    url = nodes[0]
    fifth = os.path.join(DIR, "validator-4.json")
    live = [0, 1, 2]
    if os.path.exists(fifth) and public_key_of(fifth) in set_keys(url, height(url)):
        key, node_key = fifth, os.path.join(DIR, "node4", "node_key.json")
    else:
        key, node_key = key_path("validator-3"), key_path("node-key-3")
        devnet("kill", "3")
    offender = public_key_of(key)
    offender_address = re.search(r"address: (\S+)", assay("keys", "show", key)).group(1)
    # Give it stake to lose (the added validator has none of its own).
    cli("tx", "transfer", "--node", url, "--key", key_path("account-5"), "--to", offender_address, "--amount", "101",
        "--wait")
    cli("tx", "stake", "--node", url, "--key", key, "--amount", "100", "--wait")
    stake = int(provider_view(url, offender_address)["bonded"]) + sum(
        int(entry["amount"]) for entry in provider_view(url, offender_address)["unbonding"])
    start = height(url)
    # It links with the validator's node key, as its node would, to the live nodes (allowing their node keys), and
    # signs with the consensus key.
    signed = subprocess.run(
        [equivocator(), "--key", key, "--node-key", node_key, "--chain-id", rpc(url, "status")["result"]["chain_id"],
         "--heights", "3", *[arg for i in live for arg in ("--peer", p2p_listen(i))],
         *[arg for i in live for arg in ("--allow", public_key_of(key_path(f"node-key-{i}")))]],
        check=True, capture_output=True, text=True, timeout=60).stdout
    signed_heights = [int(h) for h in re.findall(r"signed two prevotes at height (\d+)", signed)]
    assert len(signed_heights) == 3, signed
    wait_for(lambda: offender not in set_keys(url, height(url)), 60, "the offender to leave the set")
    top = height(url)
    evidence = transactions_of_kind(url, start, top, "evidence")
    accepted = [tx for tx in evidence if tx["code"] == 0]
    assert len(accepted) == 1, [(tx["sender"], tx["code_name"]) for tx in evidence]
    tx = accepted[0]
    assert tx["sender"] in node_accounts(), tx["sender"]  # a live node's account, never a consensus key's
    events = {event["type"]: attributes(event) for event in tx["events"]}
    expected = stake * params(url)["double_sign_slash_fraction"] // 10_000
    assert events["slashed"]["account"] == offender_address and int(events["slashed"]["amount"]) == expected, \
        (events, stake)
    assert events["tombstoned"]["validator"] == offender, events
    effective = int(events["validator_updated"]["effective_height"])
    assert effective == tx["height"] + 2 and events["validator_updated"]["power"] in (0, "0"), events
    assert offender in set_keys(url, effective - 1) and offender not in set_keys(url, effective)
    wait_for(lambda: height(url) >= effective + 4, 60, f"4 blocks after height {effective}")
    same_chain([nodes[i] for i in live], effective + 3)
    from explorer_browser import Explorer  # Selenium: the validators page lists the punished double sign
    browser = Explorer(url)
    try:
        browser.open("#/validators", "validators")
        listed = [titles for _, titles in browser.rows("evidence")]
        assert [offender, tx["hash"]] in listed, listed
        assert not browser.console_errors(), browser.console_errors()
    finally:
        browser.close()
    assert tx["height"] <= signed_heights[0] + 10, f"double-signed at {signed_heights}, evidence only at {tx['height']}"
    print(f"     double-signed at heights {signed_heights}: evidence committed at {tx['height']} (sent by {tx['sender']}; "
          f"{len(evidence)} evidence transaction(s) in all), {expected} of {stake} slashed, out of the set from "
          f"{effective}; the chain went on to {height(url)}")


def credits(amount):
    """A base-unit amount as the explorer shows it: credits with all six decimals."""
    value = int(amount)
    return f"{value // 1_000_000}.{value % 1_000_000:06d}"


def explorer_market_jobs(url):
    """A job for the honest provider and two for the cheater, slashed after the validators' replay, so that the
    pages have settled-or-pending and slashed jobs to show. Returns (honest job, slashed jobs, the cheater)."""
    honest, cheater = address_of("provider-0"), address_of("provider-1")
    ids = {}
    with tempfile.TemporaryDirectory() as scratch:
        for tag, provider, clients in (("honest", honest, ["account-2"]), ("cheat", cheater, ["account-6", "account-7"])):
            jobs, _ = submit_jobs(url, offer_of(url, provider)["id"], clients, 1, f"explorer-{tag}", scratch)
            ids[tag] = [job for job, _ in jobs]
    wait_terminal(url, ids["cheat"], 90)
    return ids["honest"][0], ids["cheat"], cheater


def check_explorer_http(url):
    """The explorer's files with their types and a policy that allows no remote source; no other file reachable."""
    status, headers, body = http(url + "/", "GET")
    assert status == 200 and headers["content-type"].startswith("text/html") and b"/explorer/app.js" in body, status
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "http" not in policy, policy
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        status, headers, _ = http(f"{url}/explorer/{name}", "GET")
        assert status == 200 and headers["content-type"].startswith(kind), (name, status, headers["content-type"])
    for path in ("/explorer/..%2F..%2FPackage.swift", "/explorer/%2e%2e/README.md", "/explorer/index.htm", "/Package.swift"):
        status, _, body = http(url + path, "GET")
        assert status == 404 and b"swift-tools-version" not in body, (path, status)


def explorer_overview_follows_blocks(browser, url):
    """The overview equals the RPC's figures, and moves on by itself when a block is committed."""
    browser.open("#/", "overview")
    shown = int(browser.field("height"))
    assert rpc(url, "block", {"height": shown})["result"]["hash"], shown
    market = rpc(url, "market")["result"]
    browser.wait(lambda: browser.field("jobs-slashed") == str(rpc(url, "market")["result"]["jobs"]["slashed"]), 10,
                 f"slashed jobs to read {market['jobs']['slashed']}")
    validators = rpc(url, "validators")["result"]["validators"]
    assert len(browser.rows("validators")) == len(validators), browser.rows("validators")
    browser.wait(lambda: int(browser.field("height")) > shown, 20, f"the overview to pass height {shown} by itself")
    return int(browser.field("height"))


def explorer_block_and_tx(browser, url, job_id):
    """The block holding a job's transaction: its hash, its transactions; the transaction's kind, result and fee."""
    tx = rpc(url, "tx", {"hash": job_id})["result"]
    block = rpc(url, "block", {"height": tx["height"]})["result"]
    browser.open("#/blocks", "blocks")
    newest = browser.rows("blocks")[0]
    assert newest[1][0] == rpc(url, "block", {"height": int(newest[0][0])})["result"]["hash"], newest
    browser.open(f"#/block/{tx['height']}", "block")
    assert browser.field("hash") == block["hash"], (browser.field("hash"), block["hash"])
    assert any(job_id in titles for _, titles in browser.rows("transactions")), browser.rows("transactions")
    browser.open(f"#/tx/{job_id}", "tx")
    assert (browser.field("kind"), browser.field("result")) == ("job", f"{tx['code']} {tx['code_name']}")
    assert browser.field("fee") == credits(tx["fee"]) and browser.field("height") == str(tx["height"])
    return tx["height"]


def explorer_job_account_provider(browser, url, job_id, cheater):
    """A slashed job's state and amounts, its client's balance and nonce, the cheater's stake and slashes."""
    job = rpc(url, "job", {"id": job_id})["result"]
    browser.open(f"#/job/{job_id}", "job")
    shown = {name: browser.field(name) for name in ("state", "escrow", "price", "max-work-units", "refund", "slashed")}
    expected = {"state": job["state"], "escrow": credits(job["escrow"]), "price": credits(job["price_per_work_unit"]),
                "max-work-units": str(job["max_work_units"]), "refund": credits(job["settlement"]["refund"]),
                "slashed": credits(job["settlement"]["slashed"])}
    assert shown == expected, (shown, expected)
    browser.open(f"#/account/{job['client']}", "account")
    account = rpc(url, "account", {"address": job["client"]})["result"]
    assert (browser.field("balance"), browser.field("nonce")) == (credits(account["balance"]), str(account["nonce"]))
    assert any(job_id in titles for _, titles in browser.rows("jobs")), "the client's job is not on its account page"
    browser.open(f"#/provider/{cheater}", "provider")
    provider = rpc(url, "provider", {"address": cheater})["result"]
    assert browser.field("slashes") == str(provider["jobs"]["slashed"]) != "0", (browser.field("slashes"), provider)
    assert browser.field("bonded") == credits(provider["bonded"]), (browser.field("bonded"), provider["bonded"])
    lost = settlement_sum(url, cheater, ("refunded", "slashed"), "slashed")
    assert browser.field("slashed-value") == credits(lost) and lost > 0, (browser.field("slashed-value"), lost)


def settlement_sum(url, provider, states, field):
    """The sum of one settlement amount over a provider's jobs in the given states, as the RPC reports them."""
    return sum(int(job["settlement"][field]) for state in states
               for job in rpc(url, "jobs", {"provider": provider, "state": state, "limit": 1000})["result"]["jobs"])


def explorer_provider_earnings(browser, url, job_id):
    """Once the honest job settled, its provider's earnings are the exact sum of what its settled jobs were paid."""
    wait_terminal(url, [job_id], 90)
    job = rpc(url, "job", {"id": job_id})["result"]
    assert job["state"] == "settled", job
    paid, burned, refund = (int(job["settlement"][key]) for key in ("paid", "burned", "refund"))
    assert paid + burned + refund == int(rpc(url, "tx", {"hash": job_id})["result"]["body"]["max_work_units"]) \
        * int(job["price_per_work_unit"]), job
    browser.open(f"#/provider/{job['provider']}", "provider")
    earned = settlement_sum(url, job["provider"], ("settled",), "paid")
    assert browser.field("earnings-value") == credits(earned) and earned >= paid > 0, (browser.field("earnings-value"), earned)


def explorer_lists_and_search(browser, url, job_id):
    """Validators, offers, jobs filtered by state, and the search box for a height, an address and a job id."""
    browser.open("#/validators", "validators")
    assert browser.field("total-power") == rpc(url, "validators")["result"]["total_power"]
    browser.open("#/offers", "offers")
    shown = {titles[0] for _, titles in browser.rows("offers")}
    assert shown == {offer["id"] for offer in rpc(url, "offers")["result"]["offers"]}, shown
    browser.open("#/jobs?state=slashed", "jobs")
    slashed = rpc(url, "jobs", {"state": "slashed", "limit": 50})["result"]["jobs"]
    assert [titles[0] for _, titles in browser.rows("jobs")] == [job["id"] for job in slashed]
    browser.search(job_id)
    browser.wait(lambda: browser.page() == "job" and browser.field("id") == job_id, 10, "search by job id")
    browser.search("2")
    browser.wait(lambda: browser.page() == "block" and browser.field("hash") == rpc(url, "block", {"height": 2})["result"]["hash"],
                 10, "search by height")
    client = rpc(url, "job", {"id": job_id})["result"]["client"]
    browser.search(client)
    browser.wait(lambda: browser.page() == "account" and browser.field("address") == client, 10, "search by address")


def test_explorer():
    from explorer_browser import Explorer  # Selenium: only this check needs it
    url = urls()[0]
    check_explorer_http(url)
    honest_job, slashed_jobs, cheater = explorer_market_jobs(url)
    shots = tempfile.mkdtemp(prefix="assay-explorer-shots-")
    browser, paths = Explorer(url), []
    try:
        reached = explorer_overview_follows_blocks(browser, url)
        paths += browser.screenshots(shots, "overview")
        job_height = explorer_block_and_tx(browser, url, honest_job)
        paths += browser.screenshots(shots, "tx")
        browser.open(f"#/block/{job_height}", "block")
        paths += browser.screenshots(shots, "block")
        explorer_job_account_provider(browser, url, slashed_jobs[0], cheater)
        paths += browser.screenshots(shots, "provider")
        explorer_provider_earnings(browser, url, honest_job)
        browser.open(f"#/job/{slashed_jobs[0]}", "job")
        paths += browser.screenshots(shots, "job")
        explorer_lists_and_search(browser, url, slashed_jobs[0])
        errors = browser.console_errors()
        assert not errors, errors
    finally:
        browser.close()
    print(f"     every page matched the RPC; the overview followed new blocks to height {reached}; console clean")
    for path in paths:
        print(f"     screenshot {path}")


def allow_node(index, key):
    """Lets node `key` connect to validator `index`: [p2p] allowed_node_keys, then a restart (SIGKILL: crash-safe)."""
    path = os.path.join(DIR, f"node{index}", "config.toml")
    config = open(path).read()
    config = config.replace("[p2p]\n", f'[p2p]\nallowed_node_keys = ["{key}"]\n', 1)
    open(path, "w").write(config)
    before = height(urls()[0])
    devnet("kill", str(index))
    devnet("start", str(index))
    wait_for(lambda: height(urls()[index]) > before, 60, f"node {index} to commit again after its restart")


def state_sync_log_figures(log_path):
    """(height, seconds, chunk bytes, p2p bytes) from the joiner's 'state sync: restored' line."""
    found = re.search(r"state sync: restored height (\d+) in ([\d.]+) s, (\d+) chunk bytes, (\d+) p2p bytes",
                      open(log_path).read())
    assert found, "the joiner logged no restored snapshot"
    return int(found.group(1)), float(found.group(2)), int(found.group(3)), int(found.group(4))


def test_state_sync_joins_and_catches_up():
    """A fresh node (not a validator, allowed by the validators' [p2p] allowed_node_keys) joins by state sync from a
    trusted block at a snapshot height, verified by the light client: restored, then block-synced, it says
    catching_up whenever it is more than a height behind, and then holds the same blocks and state roots as the
    validators. It prunes ([storage] retain_blocks = 5): its earliest height follows the tip, blocks below it are
    gone, and after a restart it goes on from its tip with the same base."""
    url = urls()[0]
    key, home = os.path.join(DIR, "statesync-key.json"), os.path.join(DIR, "statesync-node")
    node_key = os.path.join(DIR, "statesync-node-key.json")
    for path in (key, node_key):
        assay("keys", "new", "--out", path, "--insecure-plaintext")
    for index in range(4):
        allow_node(index, public_key_of(node_key))
    wait_for(lambda: height(url) >= 25, 120, "height 25")
    trust, joiner = init_state_sync_joiner(home, key, node_key, "--retain-blocks", "5")
    started = time.time()
    with node_process(home):
        behind = wait_at_tip(joiner, url, "the state-synced node to reach the tip")
        seconds = time.time() - started
        restored, restore_seconds, chunk_bytes, p2p_bytes = state_sync_log_figures(os.path.join(DIR, "statesync-node.log"))
        assert restored >= trust, f"restored height {restored} below the trusted {trust}"
        # RPC opens once the snapshot is restored; the blocks after it may be fetched before the first sample.
        assert all(s[2] for s in behind), f"said it was not catching up while behind: {behind}"
        earliest, top = wait_pruned(joiner, restored + 1)
        for h in range(earliest, top + 1):
            assert block_ids(joiner, h) == block_ids(url, h), f"the joiner's block {h} differs"
        for h in (restored, earliest - 1):
            assert "error" in rpc(joiner, "block", {"height": h}), f"pruned block {h} is answered"
    print(f"     restored height {restored} (trusted {trust}) in {restore_seconds:.1f} s, {chunk_bytes} chunk bytes, "
          f"{p2p_bytes} p2p bytes; at the tip ({top}) {seconds:.1f} s after start; {len(behind)} status "
          f"samples taken behind, all catching_up; pruned below {earliest}")
    with node_process(home):
        wait_at_tip(joiner, url, "the pruning node to reach the tip again after a restart")
        again, top = wait_pruned(joiner, earliest)
        assert block_ids(joiner, top) == block_ids(url, top)
    print(f"     restarted: at the tip ({top}) again, pruned below {again}")


def wait_pruned(url, at_least):
    """Waits until the node at `url` (retain_blocks = 5) holds no block below its tip - 5 and its earliest height is at
    least `at_least`; returns its earliest and latest heights."""
    def pruned():
        status = rpc(url, "status")["result"]
        return status["earliest_height"] >= max(at_least, status["latest_height"] - 5)
    wait_for(pruned, 60, "pruning to follow the tip")
    status = rpc(url, "status")["result"]
    return status["earliest_height"], status["latest_height"]


def test_light_client():
    """`assay light init` trusts an early header; proofs and job submit then verify their header through the light
    client across every block (and set change, after the validators and evidence checks) since; a wrong trust hash is
    refused."""
    url = urls()[0]
    trust = os.path.join(DIR, "light-trust.json")
    wait_for(lambda: height(url) >= 3, 30, "height 3")
    trusted = 2
    good = rpc(url, "block", {"height": trusted})["result"]["hash"]
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    init = ["light", "init", "--node", url, "--trust-height", str(trusted), "--trust-file", trust, "--trust-hash"]
    code, _, err = cli(*init, wrong, check=False)
    assert code == 1 and f"not the trusted hash {wrong}" in err, (code, err)
    assert not os.path.exists(trust), "a refused trust hash wrote a trust file"
    print(f"     wrong trust hash: exit {code}: {err.strip().splitlines()[-1]}")
    assert f"height: {trusted}" in cli(*init, good)[1]
    wait_for(lambda: height(url) >= trusted + 20, 60, f"height {trusted + 20}")
    env = dict(os.environ, ASSAY_LIGHT_TRUST=trust)
    proof = ["query", "proof", "--account", address_of("account-0"), "--node", url]
    expected_from = trusted
    for _ in range(2):
        done = subprocess.run([ASSAY, *proof], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        answered = int(re.search(r"^height: (\d+)", done.stdout, re.M).group(1))
        verified_from = int(re.search(r"verified by the light client from trusted height (\d+)", done.stdout).group(1))
        assert verified_from == expected_from, done.stdout
        now_trusted = json.load(open(trust))
        assert now_trusted["height"] == answered, (now_trusted["height"], answered)
        assert now_trusted["hash"] == rpc(url, "block", {"height": answered})["result"]["hash"]
        print(f"     proof at height {answered}: header verified from trusted height {verified_from}")
        expected_from = answered
    # job submit reads the offer and the model through the same verified path, and renews the trust file.
    offer = offer_of(url, address_of("provider-0"))["id"]
    wait_for(lambda: height(url) > answered, 30, f"a height above {answered}")
    with tempfile.TemporaryDirectory() as scratch:
        x, model, _ = gemm_job(scratch, "light", seed=11)
        done = subprocess.run([ASSAY, "job", "submit", "--node", url, "--key", key_path("account-5"), "--input", x,
                               "--model", model, "--offer", offer, "--deadline-blocks", "60", "--wait", "--json"],
                              capture_output=True, text=True, env=env)
    assert done.returncode == 0 and "no light client trust file" not in done.stderr, done.stderr
    renewed = json.load(open(trust))["height"]
    assert renewed > answered, (renewed, answered)
    print(f"     job submit: offer and model headers verified; trust file renewed to height {renewed}")
    code, _, err = cli("light", "status", "--trust-file", os.path.join(DIR, "no-such-trust.json"), check=False)
    assert code == 1 and "no light client trust file" in err, (code, err)


DIR = tempfile.mkdtemp(prefix="assay-e2e-")
SAMPLING = os.environ.get("ASSAY_E2E_SAMPLING") == "1"
BLOCKSYNC = os.environ.get("ASSAY_E2E_BLOCKSYNC") == "1"
# Every job is traced to COLLECTOR: the nodes by devnet's --tracing, the providers and `assay job submit` by these.
os.environ.update(OTEL_EXPORTER_OTLP_ENDPOINT=COLLECTOR.url, OTEL_EXPORTER_OTLP_PROTOCOL="http/json")
try:
    extra = [f"max_input_bytes={65 << 20}"] + (SAMPLING_PARAMS if SAMPLING else [])
    up = subprocess.run([DEVNET, "up", "-n", "4", "--providers", "2", "--cheater", "1", "--dir", DIR,
                         "--tracing", COLLECTOR.url,
                         # a 64 MiB tensor's canonical bytes are its 64 MiB of data plus a short header
                         *[arg for param in extra for arg in ("--param", param)]], cwd=ROOT,
                        text=True, capture_output=True)
    print(up.stdout[-2000:], up.stderr[-3000:] if up.returncode else "", flush=True)
    if up.returncode != 0:
        raise SystemExit("devnet did not come up")
    if SAMPLING:
        set_tiles_per_result(SAMPLING_K)
        check("sampling: a provider corrupting each tile with probability 0.1, caught as 1-(1-q)^(kV) predicts",
              test_sampling_fraction_tenth)
        check("sampling: a provider corrupting every tile is caught in every job", test_sampling_fraction_all)
    elif BLOCKSYNC:
        check(f"blocksync: a validator down for {BLOCKSYNC_GAP} blocks catches up at >= 5 x the live commit rate",
              test_block_sync_rate)
    else:
        check("200 transfers across 4 nodes commit with equal blocks and state roots", test_transfers_commit_everywhere)
        check("bad RPC input gets JSON-RPC errors and changes nothing", test_bad_rpc_input_is_refused_and_changes_nothing)
        check("one validator killed: 3 keep committing; restarted it block-syncs and rejoins", test_one_killed_three_continue_then_rejoin)
        check("two of four killed: commits stop; restarted: commits resume, no conflict", test_two_killed_halts_then_resumes)
        check("peers: a link authenticated by a validator's consensus key, not a node key, is refused and logged",
              test_unknown_peer_is_refused)
        check("market: 20 jobs to an honest provider settle and pay price x units less the take rate", test_market_honest)
        check("market: 20 wrong results are challenged by validators' replay and slashed; clients refunded", test_market_cheater)
        check("metrics: every node serves exactly the metrics docs/rpc.md lists", test_metrics_documented)
        check("tracing: one job's spans from the client, every node, every validator's check and the provider form "
              "one trace under its derived root, in the order of the job's life", test_one_trace_per_job)
        check("market: a silent provider's job is refunded at its deadline and the provider penalised", test_market_silent)
        check("market: block intervals during replay of 10^9-unit jobs stay within 20% of idle", test_heavy_replay_keeps_block_pace)
        check("traced: a 2 x 10^11-unit job is spot-checked by every validator at <= 2% of its work; block pace within 20% of idle",
              test_traced_job_spot_checked_by_every_validator)
        check("traced: --cheat tile:1:3 is challenged at that tile, the provider slashed, the client refunded",
              test_tile_cheat_is_challenged_at_that_tile)
        check("traced: a challenge of an honest result loses its bond; one of a missing tile is refused with its code",
              test_challenges_of_an_honest_result_and_of_a_missing_tile)
        check("qnn: a qnn/1 CNN job is settled, spot-checked by every validator, its output fetched and exact",
              test_qnn_job_spot_checked_and_fetched)
        check("qnn: --cheat tile:1:0 on a concat reading the job input and the trace is challenged at that tile",
              test_qnn_tile_cheat_on_a_concat_is_challenged)
        check("qnn: the imported digits CNN classifies the 540 test digits on the devnet: settled, accuracy printed",
              test_qnn_digits_cnn_classifies_the_test_split)
        check("the outside Python client's transfer and job are committed", test_python_client)
        check("blobs: the CLI and the Python client upload and download each other's blobs", test_blobs_cli_and_python)
        check("blobs: a 64 MiB-input job put through node 0, computed via node 2, replayed, output fetched via node 3",
              test_large_blob_job_across_nodes)
        check("blobs: a 16 MiB model registered through node 0, its job computed via node 2, replayed, output via node 3",
              test_large_model_job_across_nodes)
        check("blobs: a node SIGKILLed while receiving a blob resumes it after restart, holds it verified, catches up",
              test_node_killed_while_receiving_a_blob_resumes_it)
        check("blobs: bad input (id, length, proof, Range, size) gets its documented error and changes nothing",
              test_blob_bad_input_is_refused_and_changes_nothing)
        check("blobs: an upload that fills the disk (a tmpfs) fails clearly; what fit stays, resumable, across a SIGKILL",
              test_blob_upload_filling_the_disk)
        check("blobs: a proposal whose blob nobody else can fetch is not committed; the chain goes on in a later round",
              test_unavailable_proposal_goes_to_a_later_round)
        check("explorer: every page in headless Chromium equals the RPC, follows new blocks, logs no console error",
              test_explorer)
        check("wallet commands fail clearly with a non-zero exit", test_wallet_errors)
        check("credits are conserved: supply total equals the genesis supply", test_supply_conserved)
        check("statesync: a fresh node joins from a trusted snapshot block (light client), says catching_up, follows the tip, prunes",
              test_state_sync_joins_and_catches_up)
        check("validators: a 5th validator added by governance joins by state sync, signs commits from H + 2; one removed stops at H + 2",
              test_validator_added_then_removed)
        check("evidence: a validator's double sign is reported by the nodes, committed, slashed, out of the set at H + 2",
              test_double_sign_is_reported_slashed_and_removed)
        check("light: a header trusted by hash verifies the headers of proofs and job submit since; a wrong hash is refused",
              test_light_client)
finally:
    subprocess.run([DEVNET, "down", "--dir", DIR], cwd=ROOT, capture_output=True)
    shutil.rmtree(DIR, ignore_errors=True)
print(f"e2e: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
