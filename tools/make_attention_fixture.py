"""Regenerate tests/fixtures/attention_torch.safetensors and attention_io.safetensors: one
`nn.MultiheadAttention(64, 4, batch_first=True)` (the attention of the reference model,
shared/refs/torch_words_gpt.py) as a plain PyTorch checkpoint, and its forward and backward
pass with the reference model's causal mask on a fixed batch, for tests/attention_parity.rs.

    bash tools/setup_venv.sh && ~/.venvs/nn-tools/bin/python tools/make_attention_fixture.py

CPU, one thread, deterministic algorithms, fixed seeds.

attention_torch.safetensors
    torch.manual_seed(0); attn = nn.MultiheadAttention(64, 4, batch_first=True), then both
    biases (zero after PyTorch's init, which would leave their paths untested) redrawn with
    nn.init.uniform_(bias, -0.1, 0.1), in_proj_bias first. Saved exactly as
    safetensors.torch.save_file(attn.state_dict(), path): keys in_proj_weight [192,64],
    in_proj_bias [192], out_proj.weight [64,64], out_proj.bias [64]. No metadata.

attention_io.safetensors
    input [3,16,64]        torch.randn, after the weights
    output [3,16,64]       attn(input, input, input, attn_mask=mask, need_weights=False)[0],
                           mask = torch.triu(torch.ones(16, 16, dtype=torch.bool), 1)
    upstream [3,16,64]     torch.randn_like(output)
    grad.input             input.grad after (output * upstream).sum().backward()
    grad.<state key>       each parameter's .grad after the same backward
    Metadata: {"generator": "tools/make_attention_fixture.py, torch <version>"}
"""
import os

import torch
import torch.nn as nn
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures")
D, H, T, BATCH = 64, 4, 16, 3


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)
    attn = nn.MultiheadAttention(D, H, batch_first=True)
    with torch.no_grad():
        nn.init.uniform_(attn.in_proj_bias, -0.1, 0.1)
        nn.init.uniform_(attn.out_proj.bias, -0.1, 0.1)
    state = {k: v.detach().clone().contiguous() for k, v in attn.state_dict().items()}
    assert list(state) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"], list(state)
    save_file(state, os.path.join(OUT, "attention_torch.safetensors"))

    x = torch.randn(BATCH, T, D, requires_grad=True)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    attn.train()
    output = attn(x, x, x, attn_mask=mask, need_weights=False)[0]
    upstream = torch.randn_like(output)
    (output * upstream).sum().backward()
    tensors = {
        "input": x.detach(),
        "output": output.detach(),
        "upstream": upstream,
        "grad.input": x.grad,
    }
    for name, parameter in attn.named_parameters():
        tensors[f"grad.{name}"] = parameter.grad
    tensors = {k: v.detach().clone().contiguous() for k, v in tensors.items()}
    save_file(
        tensors,
        os.path.join(OUT, "attention_io.safetensors"),
        # One key: safetensors writes two or more in random order, and the file would change.
        metadata={"generator": f"tools/make_attention_fixture.py, torch {torch.__version__}"},
    )
    for name in ["attention_torch", "attention_io"]:
        path = os.path.join(OUT, f"{name}.safetensors")
        print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
