"""PyTorch's side of nn-bench/benches/attention.rs: nn.MultiheadAttention(64, 4, batch_first=True)
with the causal mask of shared/refs/torch_words_gpt.py on a batch [64, 16, 64], microseconds per
forward, per backward (input gradient included) and per both, on 1 and 2 threads, measured the
same way (the fastest of 200 rounds of 5 calls, after a warm-up round).

    ~/.venvs/nn-tools/bin/python tools/bench_attention.py
"""
import time

import torch
import torch.nn as nn

B, T, D, H = 64, 16, 64, 4


def best_us(f):
    rounds = []
    for _ in range(201):
        start = time.perf_counter()
        for _ in range(5):
            f()
        rounds.append((time.perf_counter() - start) * 1e6 / 5)
    return min(rounds[1:])


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
        fwd = best_us(forward)
        # The graph is kept so that backward alone can be timed.
        bwd = best_us(lambda: out.backward(upstream, retain_graph=True))

        def both():
            attn.zero_grad(set_to_none=True)
            x.grad = None
            forward().backward(upstream)

        total = best_us(both)
        print(f"threads {threads}: torch MHA forward {fwd:.1f} us, backward {bwd:.1f} us, forward+backward {total:.1f} us")


if __name__ == "__main__":
    main()
