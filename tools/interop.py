"""Weights both ways between PyTorch and nn, for the seed network.

Run from anywhere (the script finds the repository root from its own path):

    bash tools/setup_venv.sh && ~/.venvs/nn-tools/bin/python tools/interop.py

1. PyTorch -> nn. Trains the seed network in PyTorch on the 10,000 bundled training digits of
   nn-mnist-data/ (read with gzip + numpy, no torchvision) and writes two fixtures that
   tests/interop.rs loads:

   tests/fixtures/torch_trained_mnist_mlp.safetensors
       safetensors.torch.save_file(model.state_dict(), path) of
       nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64),
                     nn.ReLU(), nn.Linear(64, 10))
       keys 1.weight [128,784], 1.bias [128], 3.weight [64,128], 3.bias [64],
       5.weight [10,64], 5.bias [10]; NO metadata: byte for byte a plain PyTorch checkpoint.
       Recipe: torch.manual_seed(SEED) before building the model; inputs
       (pixels / 255 - 0.1307) / 0.3081; nn.CrossEntropyLoss();
       torch.optim.SGD(lr=0.01, momentum=0.9); batch 64 (last batch 16), reshuffled each epoch
       with torch.randperm (what DataLoader(shuffle=True) does); EPOCHS epochs.

   tests/fixtures/torch_trained_mnist_mlp_io.safetensors
       input [100,28,28] f32    the first 100 official test digits, standardised as above
       labels [100] i64         their labels
       logits [100,10] f32      model(input), model.eval(), under torch.no_grad()
       predictions [100] i64    logits.argmax(dim=1)
       accuracy [] f32          (predictions == labels).float().mean()
       test_accuracy [] f32     the same over all 10,000 test digits
       Metadata: {"generator": "tools/interop.py", "torch": <version>}

   Standardisation is computed in numpy float32, operation by operation as nn does it
   (f32(byte) / 255, then (x - 0.1307) / 0.3081, each rounded to f32), so `input` is
   bit-identical to nn::data::Mnist::bundled() after normalize(Mnist::MEAN, Mnist::STD).

2. nn -> PyTorch. Runs `cargo run --release --example save_seed_network -- <tmp file>`
   (the seed network trained in Rust with the same recipe, seed 42), then loads the file into a fresh
   nn.Sequential(...) with model.load_state_dict(safetensors.torch.load_file(path),
   strict=True), runs the 10,000 test digits through it and checks the number classified
   correctly equals the count the example printed (up to MAX_PREDICTION_FLIPS near-ties)
   and is above MIN_TEST_ACCURACY.
   Nothing of this direction is committed.

Everything runs on the CPU with one thread, fixed seeds and
torch.use_deterministic_algorithms(True): with the same torch version, re-running writes
byte-identical fixtures (the script prints their sha256). Any failed check raises, and the
script exits non-zero; on success the last line is "OK".

Options: --skip-rust (only part 1), --skip-torch (only part 2).
"""

from __future__ import annotations

import argparse
import gzip
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from make_fixtures import check_file, mnist_mlp, save_fixture, setup_determinism, summarize

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"
MNIST = REPO_ROOT / "nn-mnist-data"

MODEL_PATH = FIXTURES / "torch_trained_mnist_mlp.safetensors"
IO_PATH = FIXTURES / "torch_trained_mnist_mlp_io.safetensors"
METADATA = {"generator": "tools/interop.py", "torch": torch.__version__}

SEED = 0
EPOCHS = 2
BATCH_SIZE = 64
LR = 0.01
MOMENTUM = 0.9
MEAN = np.float32(0.1307)  # nn::data::Mnist::MEAN
STD = np.float32(0.3081)  # nn::data::Mnist::STD
TEST_DIGITS = 100
MIN_TEST_ACCURACY = 0.90
# Logits agree to ~1e-6 relative, so only a near-tie can change a prediction.
MAX_PREDICTION_FLIPS = 2

STATE_KEYS = {
    "1.weight": (128, 784),
    "1.bias": (128,),
    "3.weight": (64, 128),
    "3.bias": (64,),
    "5.weight": (10, 64),
    "5.bias": (10,),
}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (gzip), as a uint8 array of its dimensions."""
    data = gzip.decompress(path.read_bytes())
    if data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {body.size} bytes of data for dimensions {dims}")
    return body.reshape(dims)


def load_split(images: str, labels: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardised f32 images [N,28,28] and int64 labels [N], exactly as nn computes them."""
    pixels = read_idx(MNIST / images)
    x = pixels.astype(np.float32) / np.float32(255.0)  # nn: f32::from(byte) / 255.0
    x = (x - MEAN) / STD  # nn: (x - mean) / std, in f32
    assert x.dtype == np.float32
    y = read_idx(MNIST / labels).astype(np.int64)
    assert len(x) == len(y)
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)


def train(x: torch.Tensor, y: torch.Tensor) -> nn.Sequential:
    # torch.manual_seed(SEED); model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(),
    #     nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    torch.manual_seed(SEED)
    model = mnist_mlp()
    # opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for epoch in range(EPOCHS):
        # The batches of DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True).
        order = torch.randperm(len(x))
        total = 0.0
        for start in range(0, len(x), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            opt.zero_grad()
            loss = loss_fn(model(x[batch]), y[batch])
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        print(f"epoch {epoch + 1}: train loss {total / len(x):.4f}")
    model.eval()
    return model


def torch_to_nn() -> None:
    train_x, train_y = load_split("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
    test_x, test_y = load_split("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    assert train_x.shape == (10_000, 28, 28) and test_x.shape == (10_000, 28, 28)

    model = train(train_x, train_y)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in state.items()} == STATE_KEYS, state.keys()

    with torch.no_grad():
        # test_accuracy = (model(test_x).argmax(dim=1) == test_y).float().mean()
        test_accuracy = (model(test_x).argmax(dim=1) == test_y).float().mean()
        x = test_x[:TEST_DIGITS].clone()
        labels = test_y[:TEST_DIGITS].clone()
        # logits = model(input)
        logits = model(x)
    # predictions = logits.argmax(dim=1)
    predictions = logits.argmax(dim=1)
    # accuracy = (predictions == labels).float().mean()
    accuracy = (predictions == labels).float().mean()
    print(f"PyTorch: test accuracy {test_accuracy.item():.4f} (10,000 digits), "
          f"{accuracy.item():.2f} on the first {TEST_DIGITS}")
    if test_accuracy.item() <= MIN_TEST_ACCURACY:
        raise SystemExit(f"test accuracy {test_accuracy.item():.4f} <= {MIN_TEST_ACCURACY}")

    # Exactly what a PyTorch user writes; no metadata, state_dict keys only.
    save_file(state, str(MODEL_PATH))
    MODEL_PATH.chmod(0o644)  # save_file creates the file 0600
    check_file(MODEL_PATH, state, None)

    io = {
        "input": x.contiguous(),
        "labels": labels.contiguous(),
        "logits": logits.contiguous(),
        "predictions": predictions.contiguous(),
        "accuracy": accuracy.reshape(()),
        "test_accuracy": test_accuracy.reshape(()),
    }
    save_fixture(io, IO_PATH, METADATA)
    check_file(IO_PATH, io, METADATA)

    # The saved checkpoint reproduces the logits when loaded into a fresh model.
    fresh = mnist_mlp()
    fresh.load_state_dict(load_file(str(MODEL_PATH)), strict=True)
    with torch.no_grad():
        assert torch.equal(fresh.eval()(x), logits)

    for path in (MODEL_PATH, IO_PATH):
        summarize(path)
        assert path.stat().st_size < 600 * 1024, path


def nn_to_torch() -> None:
    with tempfile.TemporaryDirectory(prefix="nn-interop-") as tmp:
        path = Path(tmp) / "seed_network.safetensors"
        command = ["cargo", "run", "--release", "--quiet", "--example", "save_seed_network", "--", str(path)]
        print("running:", " ".join(command), flush=True)
        run = subprocess.run(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        print(run.stdout, end="")
        if run.returncode != 0:
            raise SystemExit(f"`{' '.join(command)}` failed with exit code {run.returncode}")
        match = re.search(r"^test correct: (\d+)/(\d+)$", run.stdout, re.MULTILINE)
        if match is None:
            raise SystemExit("the example did not print `test correct: <n>/<total>`")
        rust_correct, total = int(match[1]), int(match[2])

        with safe_open(str(path), framework="pt") as f:
            keys = set(f.keys())
        state = load_file(str(path))

    # Keys, shapes and dtypes exactly those of the PyTorch state_dict.
    if keys != set(STATE_KEYS):
        raise SystemExit(f"keys {sorted(keys)} != state_dict keys {sorted(STATE_KEYS)}")
    for key, shape in STATE_KEYS.items():
        assert state[key].dtype == torch.float32, (key, state[key].dtype)
        assert tuple(state[key].shape) == shape, (key, tuple(state[key].shape), shape)
        assert torch.isfinite(state[key]).all(), key

    # model = nn.Sequential(...); model.load_state_dict(load_file(path), strict=True)
    model = mnist_mlp()
    result = model.load_state_dict(state, strict=True)  # raises on any missing/unexpected/mis-shaped key
    assert not result.missing_keys and not result.unexpected_keys, result
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key

    test_x, test_y = load_split("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    assert total == len(test_x), (total, len(test_x))
    with torch.no_grad():
        logits = model.eval()(test_x)
    assert logits.shape == (len(test_x), 10) and torch.isfinite(logits).all()
    torch_correct = int((logits.argmax(dim=1) == test_y).sum())
    print(f"nn -> PyTorch: load_state_dict(strict=True) OK; test digits correct: "
          f"nn {rust_correct}/{total}, PyTorch {torch_correct}/{total}")
    if abs(torch_correct - rust_correct) > MAX_PREDICTION_FLIPS:
        raise SystemExit(f"PyTorch classifies {torch_correct} test digits correctly, nn {rust_correct}")
    if torch_correct <= MIN_TEST_ACCURACY * total:
        raise SystemExit(f"the network trained in nn scores only {torch_correct}/{total} in PyTorch")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-rust", action="store_true", help="only PyTorch -> nn (no cargo)")
    parser.add_argument("--skip-torch", action="store_true", help="only nn -> PyTorch (no fixtures)")
    args = parser.parse_args()
    setup_determinism()
    print(f"torch {torch.__version__}")
    if not args.skip_torch:
        torch_to_nn()
    if not args.skip_rust:
        nn_to_torch()
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
