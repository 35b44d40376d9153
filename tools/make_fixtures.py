"""Regenerate the PyTorch reference fixtures in tests/fixtures/.

Regenerate with (from the repository root):

    bash tools/setup_venv.sh && ~/.venvs/nn-tools/bin/python tools/make_fixtures.py

Everything runs on the CPU, single-threaded, with fixed seeds and
torch.use_deterministic_algorithms(True), so re-running it with the same
torch version produces byte-identical files (after save_file the metadata keys
in the safetensors header are sorted: safetensors writes them in HashMap,
i.e. random, order). All float tensors are float32,
all integer tensors int64, every tensor contiguous.

Files written
-------------

tests/fixtures/small_mlp.safetensors
    Model: nn.Sequential(nn.Flatten(), nn.Linear(20, 16), nn.ReLU(),
                         nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3))
    built right after torch.manual_seed(0) (PyTorch default init).
    PARAM_KEYS = 1.weight [16,20], 1.bias [16], 3.weight [8,16], 3.bias [8],
                 5.weight [3,8], 5.bias [3]
    Keys:
      <PARAM_KEY>            initial state_dict (before any optimizer step)
      input [6,4,5] f32      labels [6] i64 (each class 0,1,2 appears twice)
      input2 [6,4,5] f32     labels2 [6] i64      (second SGD batch)
      logits [6,3]           model(input)
      loss []                nn.CrossEntropyLoss()(logits, labels)  (mean)
      grad.<PARAM_KEY>       parameter .grad after loss.backward()
      step1.<PARAM_KEY>      parameters after SGD(lr=0.1, momentum=0.9) step 1
                             on (input, labels)
      step2.<PARAM_KEY>      parameters after step 2 on (input2, labels2)
      mse.target [6,3]       torch.randn
      mse.loss []            nn.MSELoss()(model(input), mse.target) (mean),
                             model = fresh copy of the initial weights
      mse.grad.<PARAM_KEY>   parameter gradients of mse.loss
      activations.{sigmoid,tanh,relu}.input  [5]  [-20, -1.5, 0, 0.5, 20]
      activations.{sigmoid,tanh,relu}.output [5]  torch.sigmoid/tanh/relu
    Metadata: {"generator": "tools/make_fixtures.py", "torch": <version>}

tests/fixtures/mnist_mlp_torch.safetensors
    torch.manual_seed(1); model = nn.Sequential(nn.Flatten(),
        nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10))
    Saved exactly as safetensors.torch.save_file(model.state_dict(), path):
    keys 1.weight [128,784], 1.bias [128], 3.weight [64,128], 3.bias [64],
    5.weight [10,64], 5.bias [10]. Deliberately NO metadata: this file is a
    plain PyTorch checkpoint, byte for byte what a user would produce.

tests/fixtures/mnist_mlp_torch_io.safetensors
    input [3,28,28]  torch.rand after torch.manual_seed(2)
    logits [3,10]    model(input) for the model above
    Metadata: {"generator": "tools/make_fixtures.py", "torch": <version>}
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"

METADATA = {"generator": "tools/make_fixtures.py", "torch": torch.__version__}


def setup_determinism() -> None:
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)


def t(x: torch.Tensor) -> torch.Tensor:
    """Detached, contiguous, CPU copy (safe to store; never aliases a parameter)."""
    return x.detach().cpu().clone().contiguous()


def params(model: nn.Module, prefix: str = "") -> dict[str, torch.Tensor]:
    return {prefix + k: t(v) for k, v in model.state_dict().items()}


def grads(model: nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + k: t(p.grad) for k, p in model.named_parameters()}


def small_mlp() -> nn.Sequential:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(20, 16),
        nn.ReLU(),
        nn.Linear(16, 8),
        nn.Tanh(),
        nn.Linear(8, 3),
    )


def mnist_mlp() -> nn.Sequential:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 128),
        nn.ReLU(),
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def make_small_mlp() -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}

    # torch.manual_seed(0); model = nn.Sequential(nn.Flatten(), nn.Linear(20, 16),
    #     nn.ReLU(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3))  (default init)
    torch.manual_seed(0)
    model = small_mlp()
    # <key> = model.state_dict()[<key>].clone()   (1.weight, 1.bias, ..., 5.bias)
    initial = params(model)
    out.update(initial)

    # Data drawn from its own seed so the model init and the data are independent.
    torch.manual_seed(100)
    # input = torch.randn(6, 4, 5)
    x = torch.randn(6, 4, 5)
    # labels = torch.randperm(6) % 3          (int64; each class 0,1,2 exactly twice)
    y = torch.randperm(6) % 3
    # input2 = torch.randn(6, 4, 5)
    x2 = torch.randn(6, 4, 5)
    # labels2 = torch.randperm(6) % 3         (int64; each class 0,1,2 exactly twice)
    y2 = torch.randperm(6) % 3
    # mse.target = torch.randn(6, 3)
    mse_target = torch.randn(6, 3)
    assert y.dtype == torch.int64 and y2.dtype == torch.int64
    out["input"], out["labels"], out["input2"], out["labels2"] = t(x), t(y), t(x2), t(y2)
    out["mse.target"] = t(mse_target)

    ce = nn.CrossEntropyLoss()  # reduction="mean"

    # --- forward / cross-entropy / backward on the initial weights ---------------
    model.zero_grad(set_to_none=True)
    # logits = model(input)
    logits = model(x)
    # loss = nn.CrossEntropyLoss()(logits, labels)
    loss = ce(logits, y)
    loss.backward()
    out["logits"] = t(logits)
    out["loss"] = t(loss)  # shape []
    # grad.<key> = model.get_parameter(<key>).grad   after loss.backward()
    out.update(grads(model, "grad."))

    # --- two SGD steps with momentum ----------------------------------------------
    # opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    # opt.zero_grad(); nn.CrossEntropyLoss()(model(input), labels).backward(); opt.step()
    opt.zero_grad()
    ce(model(x), y).backward()
    opt.step()
    # step1.<key> = model.state_dict()[<key>]  after step 1
    out.update(params(model, "step1."))
    # opt.zero_grad(); nn.CrossEntropyLoss()(model(input2), labels2).backward(); opt.step()
    opt.zero_grad()
    ce(model(x2), y2).backward()
    opt.step()
    # step2.<key> = model.state_dict()[<key>]  after step 2
    out.update(params(model, "step2."))

    # --- MSE on a fresh copy of the initial weights --------------------------------
    # model.load_state_dict(<initial state_dict>)  (fresh model, no optimizer state)
    mse_model = small_mlp()
    mse_model.load_state_dict(initial)
    mse_model.zero_grad(set_to_none=True)
    # mse.loss = nn.MSELoss()(model(input), mse.target)
    mse_loss = nn.MSELoss()(mse_model(x), mse_target)
    mse_loss.backward()
    out["mse.loss"] = t(mse_loss)  # shape []
    # mse.grad.<key> = model.get_parameter(<key>).grad   after mse.loss.backward()
    out.update(grads(mse_model, "mse.grad."))

    # --- elementwise activations ----------------------------------------------------
    # activations.<name>.input = torch.tensor([-20.0, -1.5, 0.0, 0.5, 20.0])
    act_in = torch.tensor([-20.0, -1.5, 0.0, 0.5, 20.0], dtype=torch.float32)
    for name, fn in (
        ("sigmoid", torch.sigmoid),  # activations.sigmoid.output = torch.sigmoid(input)
        ("tanh", torch.tanh),  # activations.tanh.output = torch.tanh(input)
        ("relu", torch.relu),  # activations.relu.output = torch.relu(input)
    ):
        out[f"activations.{name}.input"] = t(act_in)
        out[f"activations.{name}.output"] = t(fn(act_in))

    return out


def make_mnist_mlp() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    # torch.manual_seed(1); model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128),
    #     nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    torch.manual_seed(1)
    model = mnist_mlp()
    state = model.state_dict()

    # torch.manual_seed(2); input = torch.rand(3, 28, 28)
    torch.manual_seed(2)
    x = torch.rand(3, 28, 28)
    with torch.no_grad():
        # logits = model(input)
        logits = model(x)
    io = {"input": t(x), "logits": t(logits)}
    return state, io


def save_fixture(
    tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None
) -> None:
    """safetensors.torch.save_file, then make the header byte-for-byte reproducible.

    safetensors (Rust side) serializes the ``__metadata__`` map from a HashMap,
    so with two or more metadata keys their order in the JSON header changes
    from run to run even though the tensors are identical. We rewrite the
    header with the metadata keys sorted; everything else (tensor order,
    compact JSON, space padding, data) is left exactly as save_file wrote it,
    and the header length does not change.
    """
    save_file(tensors, str(path), metadata=metadata)
    path.chmod(0o644)  # save_file creates the file 0600
    if not metadata or len(metadata) < 2:
        return
    data = bytearray(path.read_bytes())
    (n,) = struct.unpack("<Q", data[:8])
    raw = bytes(data[8 : 8 + n])
    text = raw.rstrip(b" ").decode("utf-8")
    header = json.loads(text)

    def dump(h: dict) -> str:
        return json.dumps(h, separators=(",", ":"), ensure_ascii=False)

    # Only rewrite if our re-serialization reproduces save_file's own format.
    assert dump(header) == text, "unexpected safetensors header format"
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    new = dump(header).encode("utf-8")
    assert len(new) == len(text.encode("utf-8"))
    data[8 : 8 + len(new)] = new
    path.write_bytes(bytes(data))


def check_file(
    path: Path, expected: dict[str, torch.Tensor], metadata: dict[str, str] | None
) -> None:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        assert f.metadata() == metadata, (path, f.metadata(), metadata)
    loaded = load_file(str(path))
    assert set(loaded) == set(expected), (path, set(loaded) ^ set(expected))
    for k, v in expected.items():
        got = loaded[k]
        assert got.dtype == v.dtype, (path, k, got.dtype, v.dtype)
        assert got.shape == v.shape, (path, k, got.shape, v.shape)
        assert got.dtype in (torch.float32, torch.int64), (path, k, got.dtype)
        assert torch.equal(got, v.detach().cpu()), (path, k)


def summarize(path: Path) -> None:
    from safetensors import safe_open

    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    rel = path.relative_to(REPO_ROOT)
    print(f"{rel}  {len(data)} bytes  sha256={digest}")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        print(f"  metadata: {meta}")
        for k in sorted(f.keys()):
            v = f.get_tensor(k)
            dtype = str(v.dtype).replace("torch.", "")
            print(f"  {k:32s} {dtype:8s} {list(v.shape)}")


def main() -> int:
    setup_determinism()
    FIXTURES.mkdir(parents=True, exist_ok=True)

    small = make_small_mlp()
    small_path = FIXTURES / "small_mlp.safetensors"
    save_fixture(small, small_path, METADATA)
    check_file(small_path, small, METADATA)

    state, io = make_mnist_mlp()
    mnist_path = FIXTURES / "mnist_mlp_torch.safetensors"
    # Exactly what a PyTorch user writes; no metadata, state_dict keys only.
    save_file(state, str(mnist_path))
    mnist_path.chmod(0o644)  # save_file creates the file 0600
    check_file(mnist_path, state, None)

    io_path = FIXTURES / "mnist_mlp_torch_io.safetensors"
    save_fixture(io, io_path, METADATA)
    check_file(io_path, io, METADATA)

    print(f"torch {torch.__version__}")
    for p in (small_path, mnist_path, io_path):
        summarize(p)
        assert p.stat().st_size < 600 * 1024, p
    print(f"loss     = {small['loss'].item()!r}")
    print(f"mse.loss = {small['mse.loss'].item()!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
