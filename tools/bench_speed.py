"""Runs the speed workload for nn (`nn-bench/benches/speed.rs`) and PyTorch
(`tools/bench_speed_torch.py`) alternately, with 1 and 2 threads, and prints a Markdown table of
medians and ratios, then every JSON line. Use `tools/bench_speed.sh`, which sets up the
virtualenv and builds the bench first.

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
# LeNet-5 per training sample, counting multiply-adds (MACs) of the convolutions and Linears only
# (pooling, ReLU, biases and the loss not counted), 2 FLOP per MAC:
#   forward: conv1 6*25*784 = 117,600 (6 maps of 28x28, 1*5*5 weights each)
#            conv2 16*150*100 = 240,000 (16 maps of 10x10, 6*5*5 weights each)
#            linears 400*120 + 120*84 + 84*10 = 48,000 + 10,080 + 840 = 58,920
#            total 416,520
#   backward: weight gradients of every layer, 416,520, plus input gradients of every layer but
#            conv1 (whose input is the data), 416,520 - 117,600 = 298,920
#   2 * (416,520 + 416,520 + 298,920) = 2 * 1,131,960 = 2,263,920
# (The MLP figures above count the same way: 2 * (3 * 109,184 - 784*128) = 454,400.)
FLOP_LENET_TRAIN = 2 * (2 * (6 * 25 * 784 + 16 * 150 * 100 + 400 * 120 + 120 * 84 + 84 * 10)
                        + 16 * 150 * 100 + 400 * 120 + 120 * 84 + 84 * 10)
assert FLOP_LENET_TRAIN == 2_263_920
# The residual CNN of examples/resnet.rs, counted the same way: forward multiply-adds
#   convolutions 16*9*784 + 2 * 16*144*784 + 32*144*196 + 2 * 32*288*196 = 8,241,408 (the four
#   3x3 16->16 and 32->32 convolutions of the blocks dominate), linear 1568*10 = 15,680;
#   total 8,257,088 (issue 14: "8.26M multiply-adds")
# backward: weight gradients of all, input gradients of all but the first convolution.
RESNET_FORWARD_MACS = 16 * 9 * 784 + 2 * 16 * 144 * 784 + 32 * 144 * 196 + 2 * 32 * 288 * 196 + 1568 * 10
assert RESNET_FORWARD_MACS == 8_257_088
FLOP_RESNET_TRAIN = 2 * (2 * RESNET_FORWARD_MACS + RESNET_FORWARD_MACS - 16 * 9 * 784)
FIGURES = [
    # (figure, label, FLOP per sample or None, higher is better)
    ("train_b64", "training, batch 64 (samples/s)", FLOP_TRAIN, True),
    ("train_b256", "training, batch 256 (samples/s)", FLOP_TRAIN, True),
    ("latency_us", "single-sample forward, median (us)", None, False),
    ("infer_b1024", "inference, batch 1024 (samples/s)", FLOP_INFER, True),
    ("lenet_train_b64", "train LeNet, batch 64 (samples/s)", FLOP_LENET_TRAIN, True),
    ("resnet_train_b64", "train the residual CNN, batch 64 (samples/s)", FLOP_RESNET_TRAIN, True),
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
    if value < 10_000:  # one decimal below 10k (LeNet), not "0k" or "2k"
        return f"{value / 1000:,.1f}k"
    return f"{value / 1000:,.0f}k"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nn-bin", required=True, help="the built `speed` bench executable")
    parser.add_argument("--python", default=sys.executable, help="python with torch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--lenet-samples", type=int, default=10_000, help="the LeNet figure's epoch")
    parser.add_argument("--resnet-samples", type=int, default=3_000, help="the residual CNN figure's epoch")
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]

    lines = []
    for round_ in range(args.rounds):
        for n in threads:
            # Alternate the order too, so neither tool always runs on a warmer machine.
            tools = ["nn", "torch"] if round_ % 2 == 0 else ["torch", "nn"]
            sizes = ["--samples", str(args.samples), "--lenet-samples", str(args.lenet_samples),
                     "--resnet-samples", str(args.resnet_samples)]
            for tool in tools:
                if tool == "nn":
                    cmd = [args.nn_bin, "--threads", str(n), *sizes]
                else:
                    cmd = [args.python, "tools/bench_speed_torch.py", "--threads", str(n), *sizes]
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
          f"medians of {args.rounds} alternating runs; {args.samples} samples per epoch "
          f"({args.lenet_samples} for LeNet)\n")
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
