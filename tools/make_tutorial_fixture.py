"""Write tests/fixtures/tutorial_mlp_torch*.safetensors: a model laid out as PyTorch's MNIST
tutorial ("Build the Neural Network", pytorch.org/tutorials) lays out its model, saved the way a
user saves it.

    ~/.venvs/nn-tools/bin/python tools/make_tutorial_fixture.py

The tutorial's model is

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(28*28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))

so its keys are linear_relu_stack.0.*, .2.*, .4.*. This one has the same layout with 16 hidden
units instead of 512 (53 KB instead of 2.7 MB); the keys, and so the loading, are the same.

Files written (float32, contiguous):

tests/fixtures/tutorial_mlp_torch.safetensors
    torch.manual_seed(0); model = NeuralNetwork() (hidden 16), trained 20 SGD steps
    (lr 0.1) on random batches so the weights are not PyTorch's initialisation alone, then
    safetensors.torch.save_file(model.state_dict(), path), no metadata: keys
    linear_relu_stack.0.weight [16,784], .0.bias [16], .2.weight [16,16], .2.bias [16],
    .4.weight [10,16], .4.bias [10].

tests/fixtures/tutorial_mlp_torch_io.safetensors
    input [3,28,28]  torch.rand after torch.manual_seed(1)
    logits [3,10]    model(input)
"""

import pathlib

import torch
from safetensors.torch import save_file
from torch import nn

HIDDEN = 16
FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, 10),
        )

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)
    model = NeuralNetwork()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(20):
        images, labels = torch.rand(32, 28, 28), torch.randint(0, 10, (32,))
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()
    state = {key: value.contiguous() for key, value in model.state_dict().items()}
    save_file(state, FIXTURES / "tutorial_mlp_torch.safetensors")

    torch.manual_seed(1)
    images = torch.rand(3, 28, 28)
    with torch.no_grad():
        logits = model(images)
    save_file(
        {"input": images.contiguous(), "logits": logits.contiguous()},
        FIXTURES / "tutorial_mlp_torch_io.safetensors",
        metadata={"generator": "tools/make_tutorial_fixture.py", "torch": torch.__version__},
    )
    print(sorted(state))


if __name__ == "__main__":
    main()
