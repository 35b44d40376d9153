"""Regenerate tests/fixtures/resnet_torch.safetensors and resnet_torch_io.safetensors: the
residual CNN of the reference recipe (shared/refs/torch_resnet_mnist.py, copied verbatim below
as `Residual`, `block` and `model`) as a plain PyTorch checkpoint, and what one training step
and evaluation give on a fixed batch.

    bash tools/setup_venv.sh && ~/.venvs/nn-tools/bin/python tools/make_resnet_fixture.py

CPU, one thread, deterministic algorithms, fixed seeds.

resnet_torch.safetensors
    torch.manual_seed(0); model() -- saved exactly as
    safetensors.torch.save_file(model.state_dict(), path) (keys 0.weight, 1.running_mean,
    1.num_batches_tracked (I64), 3.body.0.weight, ...), no metadata.

resnet_torch_io.safetensors
    input [8,1,28,28]        torch.randn after torch.manual_seed(seed), seed the first from 1
                             whose training pass puts every ReLU input at least 3e-6 from 0
                             (a value within rounding of the kink would switch its gradient
                             on or off between two correct implementations)
    labels [8] i64           torch.randint(0, 10, (8,)) after input
    eval.logits [8,10]       model.eval(); model(input)
    train.logits [8,10]      model.train(); model(input) (batch statistics)
    train.loss []            nn.CrossEntropyLoss()(train.logits, labels)
    grad.<param>             every parameter's .grad after train.loss.backward()
    after.<state key>        the whole state_dict after
                             SGD(lr=0.01, momentum=0.9).step(): weights after one step,
                             running statistics after one training forward
"""
import copy
import os

import torch
import torch.nn as nn
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures")


# --- copied from shared/refs/torch_resnet_mnist.py -------------------------------------------
class Residual(nn.Module):
    def __init__(self, *layers):
        super().__init__(); self.body = nn.Sequential(*layers)
    def forward(self, x):
        return x + self.body(x)

def block(c):
    return Residual(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(),
                    nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c))

def model():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), block(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), block(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
# ---------------------------------------------------------------------------------------------


def contiguous(tensors):
    return {k: v.detach().clone().contiguous() for k, v in tensors.items()}


def closest_to_relu_kink(net, x):
    """The smallest |input| of any ReLU in a training pass of `net` on `x`."""
    closest = [float("inf")]
    def hook(module, inputs):
        closest[0] = min(closest[0], inputs[0].abs().min().item())
    for module in net.modules():
        if isinstance(module, nn.ReLU):
            module.register_forward_pre_hook(hook)
    net.train()
    with torch.no_grad():
        net(x)
    return closest[0]


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)
    net = model()
    # A freshly built batch norm has running_mean 0 and running_var 1; one training pass on
    # other data first gives the eval-mode comparison statistics that are not the identity.
    torch.manual_seed(2)
    with torch.no_grad():
        net.train(); net(torch.randn(16, 1, 28, 28) * 0.5 + 0.2)
    save_file(contiguous(net.state_dict()), os.path.join(OUT, "resnet_torch.safetensors"))

    seed = 1
    while True:
        torch.manual_seed(seed)
        x = torch.randn(8, 1, 28, 28)
        labels = torch.randint(0, 10, (8,))
        if closest_to_relu_kink(copy.deepcopy(net), x) > 3e-6:
            break
        seed += 1
    print(f"input seed {seed}")
    out = {"input": x, "labels": labels}
    net.eval()
    with torch.no_grad():
        out["eval.logits"] = net(x)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    opt.zero_grad()
    logits = net(x)
    loss = nn.CrossEntropyLoss()(logits, labels)
    loss.backward()
    out["train.logits"] = logits
    out["train.loss"] = loss
    for name, p in net.named_parameters():
        out["grad." + name] = p.grad
    opt.step()
    for key, value in net.state_dict().items():
        out["after." + key] = value
    save_file(contiguous(out), os.path.join(OUT, "resnet_torch_io.safetensors"),
              metadata={"generator": "tools/make_resnet_fixture.py", "torch": torch.__version__})


if __name__ == "__main__":
    main()
