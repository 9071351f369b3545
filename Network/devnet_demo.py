"""`Network/devnet demo`: a client (genesis account-0) submits small gemm-i8/1 jobs to every provider's offer
through the `assay` CLI, then prints how each job ended (settled, slashed after a validator's challenge, refunded)."""
import argparse, json, os, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tools"))
from market_files import gemm_job  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--assay", required=True)
parser.add_argument("--dir", required=True)
parser.add_argument("--jobs-per-offer", type=int, default=3)
args = parser.parse_args()
node = open(os.path.join(args.dir, "node0", "rpc_url")).read().strip()
client_key = os.path.join(args.dir, "genesis", "account-0.json")


def assay(*words):
    done = subprocess.run([args.assay, *words], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"assay {' '.join(words[:2])} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def live_offers(expected, seconds=120):
    """The live offers once every provider of the devnet has one (`up` already waits for them; this covers a
    provider restarted since), waiting at most `seconds` with progress."""
    deadline = time.time() + seconds
    while True:
        offers = json.loads(assay("query", "offers", "--node", node, "--json"))["offers"]
        offering = len({offer["provider"] for offer in offers})
        if offering >= expected or time.time() >= deadline:
            return offers
        print(f"devnet demo: {offering} of {expected} providers have a live offer; waiting ...", flush=True)
        time.sleep(2)


providers = len([name for name in os.listdir(args.dir) if name.startswith("provider")])
if providers == 0:
    sys.exit("devnet demo: this devnet has no providers: start it with 'Network/devnet up --providers N'")
offers = live_offers(providers)
if not offers:
    sys.exit(f"devnet demo: no provider made an offer within 120 s: see {args.dir}/provider*/provider.log")
jobs = []
with tempfile.TemporaryDirectory() as scratch:
    for o, offer in enumerate(offers):
        for j in range(args.jobs_per_offer):
            x, model, units = gemm_job(scratch, f"o{o}j{j}", seed=100 * o + j)
            out = json.loads(assay("job", "submit", "--node", node, "--key", client_key, "--kernel", "gemm-i8/1",
                                   "--input", x, "--model", model, "--offer", offer["id"], "--deadline-blocks", "40",
                                   "--wait", "--json"))
            jobs.append((out["hash"], offer["provider"]))
            print(f"submitted job {out['hash'][:16]}... to {offer['provider']} ({units} work units)", flush=True)

print("waiting for every job to end (challenge window, deadline) ...", flush=True)
ended = {}
deadline = time.time() + 180
while len(ended) < len(jobs) and time.time() < deadline:
    for job_id, provider in jobs:
        if job_id not in ended:
            view = json.loads(assay("query", "job", job_id, "--node", node, "--json"))
            if view["state"] in ("settled", "refunded", "slashed"):
                ended[job_id] = view
    time.sleep(1)
for job_id, provider in jobs:
    view = ended.get(job_id)
    how = f"{view['state']} ({view['reason']})" if view else "still open after 180 s"
    print(f"job {job_id[:16]}... provider {provider}: {how}")
print(assay("query", "supply", "--node", node), end="")
sys.exit(0 if len(ended) == len(jobs) else 1)
