"""Regenerate the PyTorch fixtures of the sequence layers and of the words transformer.

Regenerate with (from the repository root):

    bash tools/setup_venv.sh && ~/.venvs/nn-tools/bin/python tools/make_words_fixture.py

Everything runs on the CPU, single-threaded, with fixed seeds and
torch.use_deterministic_algorithms(True) (setup_determinism of make_fixtures.py, whose
save_fixture/check_file this script shares), so re-running it with the same torch version
gives byte-identical files. Float tensors are float32, integer tensors int64.

The model is exactly the reference `Gpt` of ../shared/refs/torch_words_gpt.py; its
definitions (constants, `encode`, `Block`, `Gpt`) are copied below verbatim, because the
repository (and CI) has no ../shared to import them from.

Files written
-------------

tests/fixtures/words_gpt.safetensors
    torch.manual_seed(0); model = Gpt()
    Saved exactly as safetensors.torch.save_file(model.state_dict(), path): PyTorch's keys
    (tok.weight [27,64], pos.weight [16,64], blocks.<i>.ln1.weight, blocks.<i>.attn.in_proj_weight
    [192,64], blocks.<i>.attn.in_proj_bias, blocks.<i>.attn.out_proj.weight, ...
    blocks.<i>.mlp.0.weight [256,64], blocks.<i>.mlp.2.weight [64,256], ln.weight, head.weight
    [27,64], head.bias). 104,603 parameters. NO metadata: a plain PyTorch checkpoint. The
    attention mask is a non-persistent buffer, so it is not in the file.

tests/fixtures/words_gpt_io.safetensors
    The batch: the 8 words WORD_INDICES of data/words/words.txt (lengths 1 to 15; listed in
    the metadata key "words"), encoded by the reference `encode`:
      input  [8,16] i64    '.' (0) then the letters (a = 1, ..., z = 26), then 0s
      target [8,16] i64    the letters then '.' (0), then -1 (ignored)
    embedded [8,16,64]     model.tok(input) + model.pos(torch.arange(16)) (the first stage)
    logits [8,16,27]       model.eval(); with torch.no_grad(): model(input)
    loss []                F.cross_entropy(model(input).reshape(-1, 27), target.reshape(-1),
                           ignore_index=-1), in train mode (the model has no dropout)
    grad.<KEY>             parameter .grad after loss.backward()
    after.<KEY>            parameters after one
                           torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01,
                           foreach=False).step() with those gradients
    Metadata: {"generator": "tools/make_words_fixture.py", "torch": <version>, "words": "a,..."}

tests/fixtures/embedding.safetensors
    Per-layer parity of Embedding, the position embedding and the two sequence losses
    (make_layers below; each PyTorch call is written next to the code that records it).
    Metadata: {"generator": "tools/make_words_fixture.py", "torch": <version>}
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# tools/ is this script's folder, first on sys.path when it is run as a file.
from make_fixtures import FIXTURES, REPO_ROOT, check_file, save_fixture, setup_determinism, summarize, t

METADATA = {"generator": "tools/make_words_fixture.py", "torch": torch.__version__}

# ---- copied verbatim from ../shared/refs/torch_words_gpt.py ----------------------------------
T, V, D, H, L = 16, 27, 64, 4, 2

def encode(ws):
    x = torch.zeros(len(ws), T, dtype=torch.long); y = torch.full((len(ws), T), -1, dtype=torch.long)
    for i, w in enumerate(ws):
        ids = [ord(c) - 96 for c in w]
        x[i, 1:len(ids) + 1] = torch.tensor(ids); y[i, :len(ids)] = torch.tensor(ids); y[i, len(ids)] = 0
    return x, y

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(D); self.attn = nn.MultiheadAttention(D, H, batch_first=True)
        self.ln2 = nn.LayerNorm(D); self.mlp = nn.Sequential(nn.Linear(D, 4 * D), nn.GELU(), nn.Linear(4 * D, D))
        self.register_buffer("mask", torch.triu(torch.ones(T, T, dtype=torch.bool), 1), persistent=False)
    def forward(self, x):
        h = self.ln1(x); x = x + self.attn(h, h, h, attn_mask=self.mask, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))

class Gpt(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(V, D); self.pos = nn.Embedding(T, D)
        self.blocks = nn.Sequential(*[Block() for _ in range(L)]); self.ln = nn.LayerNorm(D); self.head = nn.Linear(D, V)
    def forward(self, x):
        h = self.tok(x) + self.pos(torch.arange(T, device=x.device))
        return self.head(self.ln(self.blocks(h)))
# ---- end of the copy ---------------------------------------------------------------------------

# Line indices (from 0) into data/words/words.txt: words spread over the alphabet, plus the
# first 1-letter and the first 15-letter word (found below), so that the batch has ignored
# positions of every count from 0 (a 15-letter word fills the context) to 14.
WORD_INDICES = (3, 9000, 21000, 33000, 45000, 57000)


def words_batch() -> list[str]:
    words = (REPO_ROOT / "data" / "words" / "words.txt").read_text().split()
    chosen = [words[i] for i in WORD_INDICES]
    chosen.insert(0, next(w for w in words if len(w) == 1))
    chosen.append(next(w for w in words if len(w) == T - 1))
    return chosen


def make_words() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], str]:
    torch.manual_seed(0)
    model = Gpt()
    state = {k: t(v) for k, v in model.state_dict().items()}
    assert sum(p.numel() for p in model.parameters()) == 104_603

    words = words_batch()
    x, y = encode(words)
    io: dict[str, torch.Tensor] = {"input": t(x), "target": t(y)}
    with torch.no_grad():
        # embedded = model.tok(input) + model.pos(torch.arange(16))
        io["embedded"] = t(model.tok(x) + model.pos(torch.arange(T)))
        model.eval()
        # logits = model(input), eval mode, no grad
        io["logits"] = t(model(x))
        model.train()

    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01, foreach=False)
    # loss = F.cross_entropy(model(input).reshape(-1, 27), target.reshape(-1), ignore_index=-1)
    loss = F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1), ignore_index=-1)
    opt.zero_grad()
    loss.backward()
    io["loss"] = t(loss)
    for k, p in model.named_parameters():
        io[f"grad.{k}"] = t(p.grad)
    opt.step()
    for k, p in model.named_parameters():
        io[f"after.{k}"] = t(p)
    return state, io, ",".join(words)


def make_layers() -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}

    # Embedding: torch.manual_seed(40); emb = nn.Embedding(7, 5); input = torch.randint(0, 7, (3, 6))
    # (ids repeat, so the backward must add), upstream = torch.randn(3, 6, 5)
    torch.manual_seed(40)
    emb = nn.Embedding(7, 5)
    ids = torch.randint(0, 7, (3, 6))
    upstream = torch.randn(3, 6, 5)
    y = emb(ids)
    # embedding.grad.weight = emb.weight.grad of (emb(input) * upstream).sum()
    (y * upstream).sum().backward()
    out.update({
        "embedding.weight": t(emb.weight), "embedding.input": t(ids), "embedding.output": t(y),
        "embedding.upstream": t(upstream), "embedding.grad.weight": t(emb.weight.grad),
    })

    # Position embedding of 8 positions on sequences of 6: torch.manual_seed(41);
    # pos = nn.Embedding(8, 5); input = torch.randn(3, 6, 5); upstream = torch.randn(3, 6, 5)
    torch.manual_seed(41)
    pos = nn.Embedding(8, 5)
    x = torch.randn(3, 6, 5).requires_grad_(True)
    upstream = torch.randn(3, 6, 5)
    # position.output = input + pos(torch.arange(6))
    y = x + pos(torch.arange(6))
    # position.grad.weight = pos.weight.grad, position.grad.input = input.grad of (output * upstream).sum()
    (y * upstream).sum().backward()
    out.update({
        "position.weight": t(pos.weight), "position.input": t(x), "position.output": t(y),
        "position.upstream": t(upstream), "position.grad.weight": t(pos.weight.grad),
        "position.grad.input": t(x.grad),
    })

    # Sequence cross-entropy: torch.manual_seed(42); logits = torch.randn(4, 6, 5) * 2, with
    # one position of extreme logits (stability); labels = torch.randint(0, 5, (4, 6))
    torch.manual_seed(42)
    logits = torch.randn(4, 6, 5) * 2
    logits[1, 2] = torch.tensor([1000.0, -1000.0, 0.0, 5.0, 2.0])
    labels = torch.randint(0, 5, (4, 6))
    out["sequence.logits"], out["sequence.labels"] = t(logits), t(labels)
    z = logits.clone().requires_grad_(True)
    # sequence.loss = F.cross_entropy(logits.reshape(-1, 5), labels.reshape(-1)); sequence.grad = logits.grad
    loss = F.cross_entropy(z.reshape(-1, 5), labels.reshape(-1))
    loss.backward()
    out["sequence.loss"], out["sequence.grad"] = t(loss), t(z.grad)

    # The same logits with padding: labels -1 after each sample's length (2, 6, 0, 4: sample 2
    # is all padding) and at position 1 of sample 1.
    padded = labels.clone()
    for b, length in enumerate((2, 6, 0, 4)):
        padded[b, length:] = -1
    padded[1, 1] = -1
    out["ignore.labels"] = t(padded)
    z = logits.clone().requires_grad_(True)
    # ignore.loss = F.cross_entropy(logits.reshape(-1, 5), labels.reshape(-1), ignore_index=-1); ignore.grad = logits.grad
    loss = F.cross_entropy(z.reshape(-1, 5), padded.reshape(-1), ignore_index=-1)
    loss.backward()
    out["ignore.loss"], out["ignore.grad"] = t(loss), t(z.grad)

    # Every position ignored: PyTorch gives NaN (0 / 0) where nn gives 0, as IgnoreIndexCrossEntropy
    # documents; checked here rather than stored (a NaN does not compare equal to itself).
    all_ignored = F.cross_entropy(logits[:1].reshape(-1, 5), torch.full((6,), -1), ignore_index=-1)
    assert torch.isnan(all_ignored), all_ignored
    return out


def main() -> int:
    setup_determinism()
    state, io, words = make_words()

    state_path = FIXTURES / "words_gpt.safetensors"
    # Exactly what a PyTorch user writes; no metadata, state_dict keys only.
    save_fixture(state, state_path, None)
    check_file(state_path, state, None)

    io_path = FIXTURES / "words_gpt_io.safetensors"
    io_metadata = {**METADATA, "words": words}
    save_fixture(io, io_path, io_metadata)
    check_file(io_path, io, io_metadata)

    layers = make_layers()
    layers_path = FIXTURES / "embedding.safetensors"
    save_fixture(layers, layers_path, METADATA)
    check_file(layers_path, layers, METADATA)

    total = 0
    for path in (state_path, io_path, layers_path):
        summarize(path)
        total += path.stat().st_size
    assert total < 1_500_000, f"the fixtures take {total} bytes"
    print(f"torch {torch.__version__}; {total} bytes in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
