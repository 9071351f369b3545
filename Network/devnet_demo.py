"""`Network/devnet demo [--model gemm|digits]`: a client (genesis account-0) submits jobs to every provider's offer
through the `assay` CLI, then prints how each job ended (settled, slashed after a validator's challenge, refunded).
With `--model gemm` (the default) the jobs are small random gemm-i8/1 products; with `--model digits` they are
batches of the digits test split for Tools/models' int8 CNN, imported with `assay model import` and run as qnn/1,
and each job's line also shows the labels its fetched logits predict and their accuracy."""
import argparse, json, os, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tools"))
from market_files import argmax_rows, digits_batch, gemm_job, import_digits_cnn, read_npy  # noqa: E402

DIGITS_TEST_SPLIT = 540
parser = argparse.ArgumentParser(prog="Network/devnet demo")
parser.add_argument("--assay", required=True)
parser.add_argument("--dir", required=True)
parser.add_argument("--model", choices=["gemm", "digits"], default="gemm")
parser.add_argument("--jobs-per-offer", type=int, default=3)
parser.add_argument("--batch", type=int, default=90, help="digits per job with --model digits (1..540)")
args = parser.parse_args()
if not 1 <= args.batch <= DIGITS_TEST_SPLIT:
    parser.error(f"--batch must be 1..{DIGITS_TEST_SPLIT}")
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


def gemm_jobs(scratch, o):
    """(kernel, input, model, labels (None), what) of each gemm job for one offer."""
    for j in range(args.jobs_per_offer):
        x, model, units = gemm_job(scratch, f"o{o}j{j}", seed=100 * o + j)
        yield "gemm-i8/1", x, model, None, f"{units} work units"


def digits_jobs(scratch, o, imported):
    """(kernel, input, model, labels, what) of each digits batch for one offer: job k of the demo takes digits
    k x batch onwards, wrapping so that every batch lies within the test split."""
    model, model_input = imported
    for j in range(args.jobs_per_offer):
        first = ((o * args.jobs_per_offer + j) * args.batch) % (DIGITS_TEST_SPLIT - args.batch + 1)
        x, labels = digits_batch(scratch, model_input, first, args.batch, tag=f"o{o}j{j}")
        yield "qnn/1", x, model, labels, f"test digits {first}..{first + args.batch - 1}"


def predictions(scratch, job_id, labels):
    """The labels the job's fetched logits predict (a prefix) and their accuracy, or why there are none."""
    logits = os.path.join(scratch, f"{job_id}.npy")
    done = subprocess.run([args.assay, "job", "output", job_id, "--out", logits, "--node", node],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return f"no logits ({done.stderr.strip()})"
    _, shape, values = read_npy(logits)
    predicted = argmax_rows(values, shape[1])
    correct = sum(p == label for p, label in zip(predicted, labels))
    return f"predicted {''.join(map(str, predicted[:16]))}..., accuracy {100 * correct / len(labels):.2f} %"


def submit_all(scratch):
    """Submits every job to every offer; returns [(job id, provider, labels)]."""
    imported = import_digits_cnn(args.assay, scratch) if args.model == "digits" else None
    jobs = []
    for o, offer in enumerate(offers):
        if args.model == "digits" and "qnn/1" not in offer["kernels"]:
            print(f"offer {offer['id'][:16]}... of {offer['provider']} does not include qnn/1; skipped", flush=True)
            continue
        batches = digits_jobs(scratch, o, imported) if imported else gemm_jobs(scratch, o)
        for kernel, x, model, labels, what in batches:
            out = json.loads(assay("job", "submit", "--node", node, "--key", client_key, "--kernel", kernel,
                                   "--input", x, "--model", model, "--offer", offer["id"], "--deadline-blocks", "40",
                                   "--wait", "--json"))
            jobs.append((out["hash"], offer["provider"], labels))
            print(f"submitted job {out['hash'][:16]}... to {offer['provider']} ({what})", flush=True)
    return jobs


def wait_until_ended(jobs, seconds=180):
    """{job id: its view} of the jobs that ended within `seconds`."""
    ended = {}
    deadline = time.time() + seconds
    while len(ended) < len(jobs) and time.time() < deadline:
        for job_id, _, _ in jobs:
            if job_id not in ended:
                view = json.loads(assay("query", "job", job_id, "--node", node, "--json"))
                if view["state"] in ("settled", "refunded", "slashed"):
                    ended[job_id] = view
        time.sleep(1)
    return ended


with tempfile.TemporaryDirectory() as scratch:
    jobs = submit_all(scratch)
    if not jobs:
        sys.exit("devnet demo: no offer includes qnn/1")
    print("waiting for every job to end (challenge window, deadline) ...", flush=True)
    ended = wait_until_ended(jobs)
    for job_id, provider, labels in jobs:
        view = ended.get(job_id)
        how = f"{view['state']} ({view['reason']})" if view else "still open after 180 s"
        shown = f": {predictions(scratch, job_id, labels)}" if labels and view and view.get("result") else ""
        print(f"job {job_id[:16]}... provider {provider}: {how}{shown}")
print(assay("query", "supply", "--node", node), end="")
sys.exit(0 if len(ended) == len(jobs) else 1)
