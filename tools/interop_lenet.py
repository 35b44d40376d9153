"""PyTorch -> nn for LeNet-5: a convolutional network trained in PyTorch, for tests/conv_parity.rs.

Run from anywhere (the script finds the repository root from its own path):

    bash tools/setup_venv.sh && ~/.venvs/nn-tools/bin/python tools/interop_lenet.py

Trains LeNet-5 as the issue states it,

    nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                  nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                  nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                  nn.Linear(84, 10))

(the nn side: `network! { struct LeNet: [1, 28, 28] => Conv2d<1, 6, 5>(padding = 2) -> ReLU ->
MaxPool2d<2> -> Conv2d<6, 16, 5> -> ReLU -> MaxPool2d<2> -> Flatten -> Linear<400, 120> -> ReLU
-> Linear<120, 84> -> ReLU -> Linear<84, 10> }`) in PyTorch for EPOCHS = 1 epoch on the 10,000
bundled training digits of nn-mnist-data/, with the recipe and the standardisation of
tools/interop.py (read with gzip + numpy; inputs (pixels / 255 - 0.1307) / 0.3081 in f32;
torch.manual_seed(SEED) before building the model; nn.CrossEntropyLoss();
torch.optim.SGD(lr=0.01, momentum=0.9); batch 64, shuffled with torch.randperm), and writes:

   tests/fixtures/torch_trained_lenet.safetensors
       safetensors.torch.save_file(model.state_dict(), path); keys 0.weight [6,1,5,5], 0.bias [6],
       3.weight [16,6,5,5], 3.bias [16], 7.weight [120,400], 7.bias [120], 9.weight [84,120],
       9.bias [84], 11.weight [10,84], 11.bias [10]; NO metadata: a plain PyTorch checkpoint.

   tests/fixtures/torch_trained_lenet_io.safetensors
       labels [100] i64         the labels of the first 100 official test digits
       logits [100,10] f32      model(input.unsqueeze(1)), model.eval(), under torch.no_grad()
       predictions [100] i64    logits.argmax(dim=1)
       accuracy [] f32          (predictions == labels).float().mean()
       test_accuracy [] f32     the same over all 10,000 test digits
       Metadata: {"generator": "tools/interop_lenet.py", "torch": <version>}

   The 100 input digits are not stored again: they are the `input` [100,28,28] of
   tests/fixtures/torch_trained_mnist_mlp_io.safetensors (written by tools/interop.py), which this
   script checks bit for bit against its own standardised test digits before using them.

Everything runs on the CPU with one thread, fixed seeds and
torch.use_deterministic_algorithms(True): with the same torch version on the same machine,
re-running writes byte-identical fixtures (the script prints their sha256). Any failed check
raises; on success the last line is "OK".
"""

from __future__ import annotations

import sys

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from interop import BATCH_SIZE, FIXTURES, IO_PATH as MLP_IO_PATH, LR, MOMENTUM, SEED, TEST_DIGITS, load_split
from make_fixtures import LENET_KEYS, check_file, lenet, save_fixture, setup_determinism, summarize

MODEL_PATH = FIXTURES / "torch_trained_lenet.safetensors"
IO_PATH = FIXTURES / "torch_trained_lenet_io.safetensors"
METADATA = {"generator": "tools/interop_lenet.py", "torch": torch.__version__}

EPOCHS = 1
MIN_TEST_ACCURACY = 0.90


def train(x: torch.Tensor, y: torch.Tensor) -> nn.Sequential:
    # torch.manual_seed(SEED); model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(),
    #     nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    #     nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    torch.manual_seed(SEED)
    model = lenet()
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


def main() -> int:
    setup_determinism()
    print(f"torch {torch.__version__}")
    train_x, train_y = load_split("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
    test_x, test_y = load_split("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    assert train_x.shape == (10_000, 28, 28) and test_x.shape == (10_000, 28, 28)
    # Images [N, 28, 28] -> [N, 1, 28, 28]: one input channel.
    train_x, test_x = train_x.unsqueeze(1), test_x.unsqueeze(1)

    model = train(train_x, train_y)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in state.items()} == LENET_KEYS, state.keys()

    # The digits the Rust test feeds the network: those of tools/interop.py's fixture.
    mlp_io = load_file(str(MLP_IO_PATH))
    x = test_x[:TEST_DIGITS].clone()
    assert torch.equal(mlp_io["input"], x.squeeze(1)), f"{MLP_IO_PATH.name}: other test digits"
    labels = test_y[:TEST_DIGITS].clone()
    assert torch.equal(mlp_io["labels"], labels), f"{MLP_IO_PATH.name}: other labels"

    with torch.no_grad():
        # test_accuracy = (model(test_x).argmax(dim=1) == test_y).float().mean()
        test_accuracy = (model(test_x).argmax(dim=1) == test_y).float().mean()
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
        "labels": labels.contiguous(),
        "logits": logits.contiguous(),
        "predictions": predictions.contiguous(),
        "accuracy": accuracy.reshape(()),
        "test_accuracy": test_accuracy.reshape(()),
    }
    save_fixture(io, IO_PATH, METADATA)
    check_file(IO_PATH, io, METADATA)

    # The saved checkpoint reproduces the logits when loaded into a fresh model.
    fresh = lenet()
    fresh.load_state_dict(load_file(str(MODEL_PATH)), strict=True)
    with torch.no_grad():
        assert torch.equal(fresh.eval()(x), logits)

    for path in (MODEL_PATH, IO_PATH):
        summarize(path)
        assert path.stat().st_size < 300 * 1024, path
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
