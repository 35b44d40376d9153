"""The speed issue's workload for PyTorch (CPU), and the machine's ceiling.

Same workload as `nn-bench/benches/speed.rs`: the seed MLP (784-128-64-10, ReLU, f32),
CrossEntropyLoss, SGD(lr=0.01, momentum=0.9), 60,000 synthetic samples (pixels uniform in [0, 1),
labels uniform in 0..10, fixed seed); a warm-up epoch, then a timed one. `lenet_train_b64` trains LeNet-5
(`tools/make_fixtures.py`'s `lenet()`, as `examples/lenet.rs`) the same way, at batch 64, on
10,000 such samples shaped [1, 28, 28] (`--lenet-samples`). `words_train_b64` trains the reference
character-level transformer (`tools/make_words_fixture.py`'s copy of `shared/refs/torch_words_gpt.py`,
as `examples/words.rs`) with AdamW on the first 10,000 training words of `data/words/words.txt`
(`--words-samples`), in words/s. Prints one JSON line per figure:

    ~/.venvs/nn-tools/bin/python tools/bench_speed_torch.py --threads 2

`ceiling_gflops` is the fastest of several `torch.mm` of two 1024x1024 f32 matrices with the
same thread count (the issue's definition of the machine's ceiling).
"""

import argparse
import json
import time

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# The networks, as the fixtures build them (this script's folder is on the import path).
from make_fixtures import lenet, mnist_mlp
from make_resnet_fixture import model as resnet
from make_words_fixture import Gpt, encode, V

FIGURES = ["train_b64", "train_b256", "latency_us", "infer_b1024", "lenet_train_b64", "resnet_train_b64",
           "words_train_b64", "ceiling_gflops"]


def synthetic(samples):
    g = torch.Generator().manual_seed(20261123)
    images = torch.rand(samples, 28, 28, generator=g)
    labels = torch.randint(0, 10, (samples,), generator=g)
    return images, labels


def train(images, labels, batch_size, build=mnist_mlp):
    """Samples/s of the second of two epochs of shuffled mini-batches (the first warms up)."""
    torch.manual_seed(0)
    net = build()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(1)
    n = images.shape[0]
    seconds = 0.0
    for _epoch in range(2):
        start = time.perf_counter()
        order = torch.randperm(n, generator=g)
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            x, y = images[idx], labels[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - start
    return n / seconds


def words_data(samples):
    """The first `samples` training words (every 10th word is validation), encoded as the reference does."""
    path = Path(__file__).resolve().parent.parent / "data" / "words" / "words.txt"
    words = [w for i, w in enumerate(path.read_text().split()) if i % 10 != 9][:samples]
    return encode(words)


def train_words(samples, batch_size=64):
    """Words/s of the second of two epochs of the reference recipe (the first warms up)."""
    x, y = words_data(samples)
    torch.manual_seed(0)
    net = Gpt()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
    g = torch.Generator().manual_seed(0)
    n = x.shape[0]
    seconds = 0.0
    for _epoch in range(2):
        start = time.perf_counter()
        perm = torch.randperm(n, generator=g)
        for i in range(0, n, batch_size):
            b = perm[i : i + batch_size]
            logits = net(x[b])
            loss = F.cross_entropy(logits.reshape(-1, V), y[b].reshape(-1), ignore_index=-1)
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - start
    return n / seconds


def latency(images, calls):
    """Median microseconds of `calls` single-sample forward calls."""
    torch.manual_seed(0)
    net = mnist_mlp().eval()
    n = images.shape[0]
    samples = [images[i : i + 1] for i in range(min(n, calls))]
    times = []
    with torch.inference_mode():
        for x in samples[:1000]:
            net(x)
        for i in range(calls):
            x = samples[i % len(samples)]
            start = time.perf_counter_ns()
            net(x)
            times.append((time.perf_counter_ns() - start) / 1e3)
    times.sort()
    return times[len(times) // 2]


def infer(images, batch_size):
    """Samples/s of batched inference over the data (the second of two passes)."""
    torch.manual_seed(0)
    net = mnist_mlp().eval()
    n = images.shape[0]
    seconds = 0.0
    with torch.inference_mode():
        for _pass in range(2):
            start = time.perf_counter()
            for i in range(0, n, batch_size):
                net(images[i : i + batch_size])
            seconds = time.perf_counter() - start
    return n / seconds


def ceiling(reps=30):
    """GFLOP/s of the fastest torch.mm of two 1024x1024 f32 matrices."""
    g = torch.Generator().manual_seed(3)
    a = torch.rand(1024, 1024, generator=g)
    b = torch.rand(1024, 1024, generator=g)
    out = torch.empty(1024, 1024)
    for _ in range(5):
        torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * 1024**3 / best / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--figures", default=",".join(FIGURES))
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--lenet-samples", type=int, default=10_000)
    parser.add_argument("--resnet-samples", type=int, default=3_000)
    parser.add_argument("--words-samples", type=int, default=10_000)
    parser.add_argument("--latency-calls", type=int, default=10_000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, labels = synthetic(args.samples)
    units = {"latency_us": "us", "ceiling_gflops": "GFLOP/s"}
    for figure in args.figures.split(","):
        if figure == "train_b64":
            value = train(images, labels, 64)
        elif figure == "train_b256":
            value = train(images, labels, 256)
        elif figure == "latency_us":
            value = latency(images, args.latency_calls)
        elif figure == "infer_b1024":
            value = infer(images, 1024)
        elif figure == "lenet_train_b64":
            lenet_images, lenet_labels = synthetic(args.lenet_samples)
            value = train(lenet_images.unsqueeze(1), lenet_labels, 64, build=lenet)
        elif figure == "resnet_train_b64":
            resnet_images, resnet_labels = synthetic(args.resnet_samples)
            value = train(resnet_images.unsqueeze(1), resnet_labels, 64, build=resnet)
        elif figure == "words_train_b64":
            value = train_words(args.words_samples)
        elif figure == "ceiling_gflops":
            value = ceiling()
        else:
            raise SystemExit(f"unknown figure {figure!r}; known: {FIGURES}")
        line = {
            "tool": "torch",
            "figure": figure,
            "threads": torch.get_num_threads(),
            "value": round(value, 3),
            "unit": "words/s" if figure == "words_train_b64" else units.get(figure, "samples/s"),
            "torch": torch.__version__,
        }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
