"""LeNet-5 over seeds: nn against PyTorch on the recipe of examples/lenet.rs.

Run from the repository root (one training at a time; about 10 s per nn run and 20-40 s per
PyTorch run on the 2-core development machine):

    ~/.venvs/nn-tools/bin/python tools/lenet_seeds.py                 # seeds 0-9 and 42, all sides
    ~/.venvs/nn-tools/bin/python tools/lenet_seeds.py --seeds 0-4 --sides nn,torch

Three sides, each the final test accuracy (10,000 bundled test digits) after the recipe's 10 epochs:

    nn        `cargo run --release --example lenet -- --seed S` (nn's initial weights and shuffling)
    torch     PyTorch: torch.manual_seed(S); the LeNet of make_fixtures.lenet(); SGD(lr=0.01,
              momentum=0.9); CrossEntropyLoss (mean over the batch); per epoch torch.randperm and
              batches order[start:start+64] for start in range(0, 10000, 64) (the last, partial
              batch of 16 kept); torch.set_num_threads(1) (--torch-threads)
    nn-init   the nn example started from PyTorch's initial weights of seed S (`--init`, written
              by the torch side before training) with nn's shuffling of seed S: same weights as
              `torch`, nn's training; separates the initialisation from the training dynamics

Results go to OUT/results.json as they come (default target/lenet_seeds/; a rerun skips what is
there, so an interrupted run resumes; --fresh starts over), keyed by side, seed and, for nn runs,
the instruction set of the Linear kernels (`--label`, default: the CPU's, "avx512" or "avx2").
The table and the statistics (mean, median, min, max, sample standard deviation per side;
Welch's t-test and an exact permutation test of the difference of means for each pair of sides)
are printed as Markdown and written to OUT/table.md.

--bin runs another build of the example (for instance one whose kernels were forced to AVX2);
give it a --label so its results are kept apart.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

EPOCHS = 10
BATCH_SIZE = 64
LR = 0.01
MOMENTUM = 0.9
SIDES = ("nn", "torch", "nn-init")


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        if "-" in part:
            low, high = part.split("-")
            seeds.extend(range(int(low), int(high) + 1))
        else:
            seeds.append(int(part))
    return seeds


def cpu_label() -> str:
    flags = Path("/proc/cpuinfo").read_text()
    return "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags else "portable"


# --- the two trainings -----------------------------------------------------------------------

def run_nn(binary: Path, seed: int, init: Path | None) -> float:
    command = [str(binary), "--seed", str(seed)]
    if init is not None:
        command += ["--init", str(init)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO_ROOT).stdout
    match = re.search(r"^test accuracy: ([0-9.]+)%$", out, re.MULTILINE)
    if match is None:
        raise SystemExit(f"no test accuracy in the output of {' '.join(command)}:\n{out}")
    return float(match.group(1))


def run_torch(seed: int, init_path: Path, threads: int) -> float:
    import torch
    from safetensors.torch import save_file
    from torch import nn

    from interop import load_split
    from make_fixtures import lenet

    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    if not hasattr(run_torch, "data"):
        train_x, train_y = load_split("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
        test_x, test_y = load_split("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
        run_torch.data = (train_x.unsqueeze(1), train_y, test_x.unsqueeze(1), test_y)
    train_x, train_y, test_x, test_y = run_torch.data

    torch.manual_seed(seed)
    model = lenet()
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(init_path))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(EPOCHS):
        order = torch.randperm(len(train_x))
        for start in range(0, len(train_x), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            opt.zero_grad()
            loss_fn(model(train_x[batch]), train_y[batch]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        correct = sum(
            (model(test_x[i : i + 1000]).argmax(dim=1) == test_y[i : i + 1000]).sum().item()
            for i in range(0, len(test_x), 1000)
        )
    return round(100.0 * correct / len(test_x), 2)


# --- statistics ------------------------------------------------------------------------------

def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b) (continued fraction, Lentz)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - betainc(b, a, 1.0 - x)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)) / a
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return front * f


def welch(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Welch's t statistic of mean(a) - mean(b), its degrees of freedom and two-sided p-value."""
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    t = (statistics.mean(a) - statistics.mean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return t, df, betainc(df / 2.0, 0.5, df / (df + t * t))


def permutation_p(a: list[float], b: list[float]) -> float:
    """Two-sided exact permutation p-value of |mean(a) - mean(b)| (every split of the pool)."""
    pool, n = a + b, len(a)
    total = sum(pool)
    observed = abs(sum(a) / n - (total - sum(a)) / len(b))
    hits = count = 0
    for chosen in itertools.combinations(range(len(pool)), n):
        s = sum(pool[i] for i in chosen)
        hits += abs(s / n - (total - s) / len(b)) >= observed - 1e-9
        count += 1
    return hits / count


def describe(values: list[float]) -> str:
    return (f"{len(values)} | {statistics.mean(values):.2f} | {statistics.median(values):.2f} | "
            f"{min(values):.2f} | {max(values):.2f} | {statistics.stdev(values):.2f}")


def table(results: dict[str, float], seeds: list[int], columns: list[str]) -> str:
    lines = ["| seed | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for seed in seeds:
        cells = [f"{results[f'{c}/{seed}']:.2f}" if f"{c}/{seed}" in results else "" for c in columns]
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    lines += ["", "| side | n | mean | median | min | max | sd |", "|---|---|---|---|---|---|---|"]
    values = {c: [results[f"{c}/{s}"] for s in seeds if f"{c}/{s}" in results] for c in columns}
    for column in columns:
        if len(values[column]) >= 2:
            lines.append(f"| {column} | {describe(values[column])} |")
    lines += ["", "| difference of means | a - b | Welch t | df | p (Welch) | p (permutation) |",
              "|---|---|---|---|---|---|"]
    for first, second in itertools.combinations(columns, 2):
        a, b = values[first], values[second]
        if len(a) >= 2 and len(b) >= 2:
            t, df, p = welch(a, b)
            diff = statistics.mean(a) - statistics.mean(b)
            lines.append(f"| {first} vs {second} | {diff:+.3f} | {t:+.2f} | {df:.1f} | {p:.3f} | "
                         f"{permutation_p(a, b):.3f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0-9,42", help="e.g. 0-9,42 (default)")
    parser.add_argument("--sides", default=",".join(SIDES), help="of nn, torch, nn-init (default: all)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "target" / "lenet_seeds")
    parser.add_argument("--bin", type=Path, help="the lenet example to run (default: build it with cargo)")
    parser.add_argument("--label", default=cpu_label(), help="instruction set of the nn runs' kernels")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch.set_num_threads (default 1: on the busy 2-core machine 2 threads took 441 s a run, 1 thread 26 s)")
    parser.add_argument("--fresh", action="store_true", help="forget the results of earlier runs")
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)
    sides = args.sides.split(",")
    assert set(sides) <= set(SIDES), sides
    args.out.mkdir(parents=True, exist_ok=True)
    store = args.out / "results.json"
    results: dict[str, float] = {} if args.fresh or not store.exists() else json.loads(store.read_text())

    binary = args.bin
    if binary is None and {"nn", "nn-init"} & set(sides):
        subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "lenet"], check=True, cwd=REPO_ROOT)
        binary = REPO_ROOT / "target" / "release" / "examples" / "lenet"

    column = {"nn": f"nn {args.label}", "nn-init": f"nn-init {args.label}", "torch": "torch"}
    order = [s for s in SIDES if s in sides]  # torch before nn-init: it writes the initial weights
    order.sort(key=lambda s: s == "nn-init")
    for side in order:
        for seed in seeds:
            key = f"{column[side]}/{seed}"
            init = args.out / f"torch_init_seed{seed}.safetensors"
            if key in results:
                continue
            start = time.monotonic()
            if side == "nn":
                results[key] = run_nn(binary, seed, None)
            elif side == "torch":
                results[key] = run_torch(seed, init, args.torch_threads)
            else:
                if not init.exists():  # the torch side of this seed was run earlier: rewrite its weights
                    import torch
                    from safetensors.torch import save_file

                    from make_fixtures import lenet

                    torch.manual_seed(seed)
                    save_file({k: v.detach().clone().contiguous() for k, v in lenet().state_dict().items()}, str(init))
                results[key] = run_nn(binary, seed, init)
            store.write_text(json.dumps(results, indent=1, sort_keys=True))
            print(f"{key}: {results[key]:.2f}% ({time.monotonic() - start:.0f} s)", flush=True)

    columns = sorted({key.rsplit("/", 1)[0] for key in results},
                     key=lambda c: (not c.startswith("nn "), c != "torch", c))
    all_seeds = sorted({int(key.rsplit("/", 1)[1]) for key in results} | set(seeds))
    text = table(results, all_seeds, columns)
    (args.out / "table.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
