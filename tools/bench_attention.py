"""PyTorch's side of nn-bench/benches/attention.rs: nn.MultiheadAttention(64, 4, batch_first=True)
with the causal mask of shared/refs/torch_words_gpt.py on a batch [64, 16, 64], microseconds per
forward, per backward (input gradient included) and per both, on 1 and 2 threads, measured the
same way (median over 15 rounds of 50 calls, after a warm-up round).

    ~/.venvs/nn-tools/bin/python tools/bench_attention.py
"""
import time

import torch
import torch.nn as nn

B, T, D, H = 64, 16, 64, 4


def median_us(f):
    rounds = []
    for _ in range(16):
        start = time.perf_counter()
        for _ in range(50):
            f()
        rounds.append((time.perf_counter() - start) * 1e6 / 50)
    rounds = sorted(rounds[1:])
    return rounds[len(rounds) // 2]


def main():
    torch.manual_seed(0)
    attn = nn.MultiheadAttention(D, H, batch_first=True)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    x = torch.randn(B, T, D, requires_grad=True)
    upstream = torch.randn(B, T, D)
    for threads in [1, 2]:
        torch.set_num_threads(threads)

        def forward():
            return attn(x, x, x, attn_mask=mask, need_weights=False)[0]

        out = forward()
        fwd = median_us(forward)
        # The graph is kept so that backward alone can be timed.
        bwd = median_us(lambda: out.backward(upstream, retain_graph=True))

        def both():
            attn.zero_grad(set_to_none=True)
            x.grad = None
            forward().backward(upstream)

        total = median_us(both)
        print(f"threads {threads}: torch MHA forward {fwd:.1f} us, backward {bwd:.1f} us, forward+backward {total:.1f} us")


if __name__ == "__main__":
    main()
