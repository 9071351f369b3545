#!/usr/bin/env python3
"""Plots a `Tools/loadgen --sweep` table (CSV: rate, submitted_rate, committed_rate, p50_ms, p99_ms, max_ms) as a
PNG: committed against offered rate on the left axis, p50 and p99 commit latency on the right."""
import csv
import sys

import matplotlib
matplotlib.use("Agg")  # no display
import matplotlib.pyplot as plt  # noqa: E402


def main(table, png):
    with open(table) as f:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    rates = [r["rate"] for r in rows]
    figure, throughput = plt.subplots(figsize=(8, 5))
    throughput.plot(rates, [r["committed_rate"] for r in rows], "o-", color="tab:blue", label="committed tx/s")
    throughput.plot(rates, rates, ":", color="gray", label="offered = committed")
    throughput.set_xlabel("offered rate (tx/s)")
    throughput.set_ylabel("committed tx/s")
    latency = throughput.twinx()
    latency.plot(rates, [r["p50_ms"] for r in rows], "s-", color="tab:green", label="p50 latency")
    latency.plot(rates, [r["p99_ms"] for r in rows], "^-", color="tab:red", label="p99 latency")
    latency.set_ylabel("submit-to-commit latency (ms)")
    latency.set_yscale("log")
    lines = throughput.get_legend_handles_labels()
    more = latency.get_legend_handles_labels()
    throughput.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left")
    throughput.set_title("Assay devnet: open-loop load sweep")
    figure.tight_layout()
    figure.savefig(png, dpi=100)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
