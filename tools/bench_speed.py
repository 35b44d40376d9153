"""Runs the speed workload for nn (`nn-bench/benches/speed.rs`) and PyTorch
(`tools/bench_speed_torch.py`) alternately, with 1 and 2 threads, and prints a Markdown table of
medians and ratios, then every JSON line. Use `tools/bench_speed.sh`, which sets up the
virtualenv and builds the bench first.

    python tools/bench_speed.py --nn-bin target/release/deps/speed-... [--rounds 3]

With `--busy-core` it measures each round twice, with every core free and with the last core
kept busy by a shell loop (`taskset -c LAST sh -c 'while :; do :; done'`, started and killed
here, also on Ctrl-C or an error), for nn with 1 and 2 threads and PyTorch with 2, and prints
one table with both loads side by side: median and worst of the rounds, and the ratios.

Each run also records `other_cpu`: the share of one core that processes other than the
benchmark and the busy loop took while it ran (other people's compilers on a shared machine);
the table's heading gives the largest.
"""

import argparse
import atexit
import ctypes
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import time
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
# The words transformer of examples/words.rs, per word (16 positions), counted the same way:
#   forward multiply-adds per position: per block the in-projection 64*192, the attention's
#   scores and weighted sums 2 * 16*64 (all 16 keys, as PyTorch's masked attention computes
#   them), the out-projection 64*64 and the MLP 2 * 64*256; the head 64*27
#   backward: weight and input gradients of every product (the embeddings' need none)
WORDS_POSITION_MACS = 2 * (64 * 192 + 2 * 16 * 64 + 64 * 64 + 2 * 64 * 256) + 64 * 27
FLOP_WORDS_TRAIN = 16 * 2 * 3 * WORDS_POSITION_MACS
FIGURES = [
    # (figure, label, FLOP per sample or None, higher is better)
    ("train_b64", "training, batch 64 (samples/s)", FLOP_TRAIN, True),
    ("train_b256", "training, batch 256 (samples/s)", FLOP_TRAIN, True),
    ("latency_us", "single-sample forward, median (us)", None, False),
    ("infer_b1024", "inference, batch 1024 (samples/s)", FLOP_INFER, True),
    ("lenet_train_b64", "train LeNet, batch 64 (samples/s)", FLOP_LENET_TRAIN, True),
    ("resnet_train_b64", "train the residual CNN, batch 64 (samples/s)", FLOP_RESNET_TRAIN, True),
    ("words_train_b64", "train the words transformer, batch 64 (words/s)", FLOP_WORDS_TRAIN, True),
]


def busy_ticks():
    """Clock ticks all CPUs spent busy (not idle nor waiting for I/O), and in all, so far."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    return sum(values) - values[3] - values[4], sum(values)


def process_ticks(pid):
    """Clock ticks process `pid` has run (user and system), 0 if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])


WAIT_QUIET = 0.0  # seconds to wait for other processes to go quiet before a run (--wait-quiet)


def wait_quiet():
    """Waits (up to WAIT_QUIET seconds) until all CPUs together are busy under 5% for 2 s."""
    deadline = time.monotonic() + WAIT_QUIET
    while time.monotonic() < deadline:
        a = busy_ticks()
        time.sleep(2)
        b = busy_ticks()
        if not (a and b) or (b[0] - a[0]) < 0.05 * max(b[1] - a[1], 1):
            return
    if WAIT_QUIET:
        print("(other processes kept the machine busy; measuring anyway)", file=sys.stderr, flush=True)


CROSS_CORE_BIN = None


def cross_core():
    """How fast the two cores pass data right now (`nn-bench`'s `cross_core`): on a VM the host
    sometimes places the vCPUs far apart, and every multi-threaded figure changes with it."""
    if not CROSS_CORE_BIN:
        return None
    out = subprocess.run([CROSS_CORE_BIN], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["alternating_gb_s"]


def run(cmd, env_threads, busy=None):
    """The JSON lines `cmd` prints, each with `other_cpu` added (see the module's doc) and, when
    the probe is given, `cross_core_gb_s` measured just before the run."""
    probe = cross_core() if env_threads > 1 else None
    env = dict(os.environ)
    env["RAYON_NUM_THREADS"] = str(env_threads)
    env["OMP_NUM_THREADS"] = str(env_threads)
    before = (busy_ticks(), resource.getrusage(resource.RUSAGE_CHILDREN), busy and process_ticks(busy.pid))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, env=env).stdout
    after = (busy_ticks(), resource.getrusage(resource.RUSAGE_CHILDREN), busy and process_ticks(busy.pid))
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if before[0] and after[0]:
        hz = os.sysconf("SC_CLK_TCK")
        ours = sum(getattr(after[1], f) - getattr(before[1], f) for f in ("ru_utime", "ru_stime")) * hz
        loop = (after[2] or 0) - (before[2] or 0)
        elapsed = (after[0][1] - before[0][1]) / (os.cpu_count() or 1)
        other = max(0.0, after[0][0] - before[0][0] - ours - loop) / max(elapsed, 1)
        for line in lines:
            line["other_cpu"] = round(other, 3)
    if probe is not None:
        for line in lines:
            line["cross_core_gb_s"] = probe
    return lines


class BusyCore:
    """A shell loop pinned to one core, from `start()` until `stop()` (or this process's end)."""

    def __init__(self, core):
        self.core = core
        self.process = None
        atexit.register(self.stop)

    def start(self):
        def die_with_parent():
            # Linux: the loop is killed when this script dies, even by SIGKILL.
            try:
                ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            except (OSError, AttributeError):
                pass

        self.process = subprocess.Popen(
            ["taskset", "-c", str(self.core), "sh", "-c", "while :; do :; done"],
            preexec_fn=die_with_parent,
            start_new_session=True,
        )
        time.sleep(0.2)
        if self.process.poll() is not None:
            raise SystemExit(f"the busy loop on core {self.core} did not start (is `taskset` installed?)")
        return self.process

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


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
    parser.add_argument("--cross-core-bin", help="the built `cross_core` bench executable")
    parser.add_argument("--python", default=sys.executable, help="python with torch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--lenet-samples", type=int, default=10_000, help="the LeNet figure's epoch")
    parser.add_argument("--resnet-samples", type=int, default=3_000, help="the residual CNN figure's epoch")
    parser.add_argument("--words-samples", type=int, default=10_000, help="the words figure's epoch")
    parser.add_argument("--busy-core", action="store_true",
                        help="also measure with the last core kept busy; one table, both loads")
    parser.add_argument("--figures", default=",".join(f for f, *_ in FIGURES),
                        help="comma-separated figures")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="before each run, wait up to SECONDS for other processes to go quiet (with --busy-core)")
    args = parser.parse_args()
    global WAIT_QUIET, CROSS_CORE_BIN
    WAIT_QUIET = args.wait_quiet
    CROSS_CORE_BIN = args.cross_core_bin
    if args.busy_core:
        return busy_core(args)
    threads = [int(t) for t in args.threads.split(",")]

    lines = []
    for round_ in range(args.rounds):
        for n in threads:
            # Alternate the order too, so neither tool always runs on a warmer machine.
            tools = ["nn", "torch"] if round_ % 2 == 0 else ["torch", "nn"]
            sizes = ["--samples", str(args.samples), "--lenet-samples", str(args.lenet_samples),
                     "--resnet-samples", str(args.resnet_samples), "--words-samples", str(args.words_samples)]
            for tool in tools:
                chosen = ["--figures", args.figures]
                if tool == "nn":
                    cmd = [args.nn_bin, "--threads", str(n), *chosen, *sizes]
                else:
                    cmd = [args.python, "tools/bench_speed_torch.py", "--threads", str(n), *chosen, *sizes]
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
    # The medians can pair runs from different rounds; a round's own pair saw the same machine.
    for figure, label, _, higher in FIGURES:
        for n in threads:
            pairs = []
            for round_ in range(1, args.rounds + 1):
                runs = [l for l in lines if l["figure"] == figure and l["threads"] == n and l["round"] == round_]
                got = {l["tool"]: l["value"] for l in runs}
                if "nn" in got and "torch" in got:
                    ratio = got["nn"] / got["torch"] if higher else got["torch"] / got["nn"]
                    probes = [l["cross_core_gb_s"] for l in runs if "cross_core_gb_s" in l]
                    state = f" ({'/'.join(f'{p:.0f}' for p in probes)} GB/s)" if probes else ""
                    pairs.append((ratio, state))
            if pairs:
                print(f"{label}, {n} thread(s), nn / PyTorch per round (cross-core GB/s before nn/PyTorch): "
                      + ", ".join(f"{r:.2f}x{state}" for r, state in pairs)
                      + f"; median {statistics.median(r for r, _ in pairs):.2f}x")
    print()
    for line in lines:
        print(json.dumps(line))


def busy_core(args):
    """`--busy-core`: each round measures both loads, in alternating order."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    if len(cores) < 2:
        raise SystemExit("--busy-core needs at least 2 cores")
    busy = BusyCore(cores[-1])
    # Ctrl-C raises KeyboardInterrupt; make `kill` do the same, so that `finally` stops the loop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    figures = args.figures.split(",")
    sizes = ["--samples", str(args.samples), "--lenet-samples", str(args.lenet_samples),
             "--resnet-samples", str(args.resnet_samples), "--words-samples", str(args.words_samples)]
    runs = [("nn", 1), ("nn", 2), ("torch", 2)]
    lines = []
    try:
        for round_ in range(args.rounds):
            loads = ["free", "busy"] if round_ % 2 == 0 else ["busy", "free"]
            for load in loads:
                wait_quiet()
                process = busy.start() if load == "busy" else None
                try:
                    # Rotate the order of the runs too, so none always follows the same one.
                    for tool, n in runs[round_ % 3:] + runs[:round_ % 3]:
                        if tool == "nn":
                            cmd = [args.nn_bin, "--threads", str(n), "--figures", ",".join(figures), *sizes]
                        else:
                            cmd = [args.python, "tools/bench_speed_torch.py", "--threads", str(n),
                                   "--figures", ",".join(figures), *sizes]
                        got = run(cmd, n, process)
                        for line in got:
                            line["round"], line["load"] = round_ + 1, load
                        lines.extend(got)
                        print(f"round {round_ + 1}, {load}, {tool} with {n} thread(s): done", file=sys.stderr, flush=True)
                finally:
                    busy.stop()
    finally:
        busy.stop()

    def values(tool, figure, n, load):
        return [l["value"] for l in lines
                if (l["tool"], l["figure"], l["threads"], l["load"]) == (tool, figure, n, load)]

    other = max((l.get("other_cpu", 0) for l in lines), default=0)
    print(f"CPU: {cpu_name()} ({os.cpu_count()} logical CPUs, {isa()}); {args.rounds} rounds, each with "
          f"every core free and with core {cores[-1]} busy (a shell loop pinned there); "
          f"{args.samples} samples per epoch; other processes took up to {other:.0%} of a core during a run\n")
    print("Each cell: median / worst of the rounds. Ratios are speed-ups (for latency, time over time):")
    print("`2 / 1` is nn with 2 threads against nn with 1, `nn / PyTorch` both with 2 threads; "
          "each from the medians / from the worst figures.\n")
    header = "| figure | load | nn, 1 thread | nn, 2 threads | nn 2 / 1 | PyTorch, 2 threads | nn / PyTorch |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for figure, label, _flop, higher in FIGURES:
        if figure not in figures:
            continue
        for load in ("free", "busy"):
            one, two, torch = (values("nn", figure, 1, load), values("nn", figure, 2, load),
                               values("torch", figure, 2, load))
            if not (one and two and torch):
                continue
            worst = min if higher else max

            def cell(v):
                return f"{fmt(statistics.median(v), figure)} / {fmt(worst(v), figure)}"

            def ratio(a, b):
                speedup = (lambda x, y: x / y) if higher else (lambda x, y: y / x)
                return (f"{speedup(statistics.median(a), statistics.median(b)):.2f}x / "
                        f"{speedup(worst(a), worst(b)):.2f}x")

            print(f"| {label} | {load} | {cell(one)} | {cell(two)} | {ratio(two, one)} | {cell(torch)} | "
                  f"{ratio(two, torch)} |")
    print()
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
