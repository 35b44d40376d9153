"""Runs the speed workload for nn (`benches/speed.rs`) and PyTorch (`tools/bench_speed_torch.py`)
alternately, with 1 and 2 threads, and prints a Markdown table of medians and ratios, then every
JSON line. Use `tools/bench_speed.sh`, which sets up the virtualenv and builds the bench first.

    python tools/bench_speed.py --nn-bin target/release/deps/speed-... [--rounds 3]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOP_TRAIN = 454_400  # per training sample (issue 5)
FLOP_INFER = 218_368  # per inference sample
FIGURES = [
    # (figure, label, FLOP per sample or None, higher is better)
    ("train_b64", "training, batch 64 (samples/s)", FLOP_TRAIN, True),
    ("train_b256", "training, batch 256 (samples/s)", FLOP_TRAIN, True),
    ("latency_us", "single-sample forward, median (us)", None, False),
    ("infer_b1024", "inference, batch 1024 (samples/s)", FLOP_INFER, True),
]


def run(cmd, env_threads):
    env = dict(os.environ)
    env["RAYON_NUM_THREADS"] = str(env_threads)
    env["OMP_NUM_THREADS"] = str(env_threads)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, env=env).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def isa():
    try:
        flags = next(
            line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")
        ).split()
    except (OSError, StopIteration):
        return "?"
    if "avx512f" in flags:
        return "AVX-512"
    if "avx2" in flags and "fma" in flags:
        return "AVX2+FMA"
    return "baseline"


def fmt(value, figure):
    if figure == "latency_us":
        return f"{value:.1f} us"
    if figure == "ceiling_gflops":
        return f"{value:.0f} GFLOP/s"
    return f"{value / 1000:,.0f}k"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nn-bin", required=True, help="the built `speed` bench executable")
    parser.add_argument("--python", default=sys.executable, help="python with torch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--samples", type=int, default=60_000)
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]

    lines = []
    for round_ in range(args.rounds):
        for n in threads:
            # Alternate the order too, so neither tool always runs on a warmer machine.
            tools = ["nn", "torch"] if round_ % 2 == 0 else ["torch", "nn"]
            for tool in tools:
                if tool == "nn":
                    cmd = [args.nn_bin, "--threads", str(n), "--samples", str(args.samples)]
                else:
                    cmd = [args.python, "tools/bench_speed_torch.py", "--threads", str(n), "--samples", str(args.samples)]
                got = run(cmd, n)
                for line in got:
                    line["round"] = round_ + 1
                lines.extend(got)
                print(f"round {round_ + 1}, {n} thread(s), {tool}: done", file=sys.stderr, flush=True)

    def median(tool, figure, n):
        values = [l["value"] for l in lines if l["tool"] == tool and l["figure"] == figure and l["threads"] == n]
        return statistics.median(values) if values else None

    def best(tool, figure, n):
        values = [l["value"] for l in lines if l["tool"] == tool and l["figure"] == figure and l["threads"] == n]
        return max(values) if values else None

    print(f"CPU: {cpu_name()} ({os.cpu_count()} logical CPUs, {isa()}); "
          f"medians of {args.rounds} alternating runs; {args.samples} samples per epoch\n")
    header = "| figure | threads | nn | PyTorch | nn / PyTorch | nn share of ceiling | PyTorch share |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for figure, label, flop, higher in FIGURES:
        for n in threads:
            ours, theirs = median("nn", figure, n), median("torch", figure, n)
            ceiling = best("torch", "ceiling_gflops", n)
            if ours is None or theirs is None:
                continue
            ratio = ours / theirs if higher else theirs / ours
            if flop and ceiling:
                share = lambda v: f"{v * flop / 1e9 / ceiling:.0%}"
                shares = (share(ours), share(theirs))
            else:
                shares = ("", "")
            print(f"| {label} | {n} | {fmt(ours, figure)} | {fmt(theirs, figure)} | {ratio:.2f}x | {shares[0]} | {shares[1]} |")
    for n in threads:
        ceiling = best("torch", "ceiling_gflops", n)
        if ceiling:
            print(f"| ceiling: torch.mm 1024x1024 f32, best | {n} | | {ceiling:.0f} GFLOP/s | | | |")
    print("\n(`nn / PyTorch` is a speed-up: for latency, PyTorch's time over ours.)\n")
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
