"""Regenerate the PyTorch reference fixtures in tests/fixtures/.

Regenerate with (from the repository root):

    bash tools/setup_venv.sh && ~/.venvs/nn-tools/bin/python tools/make_fixtures.py

or only some files, named without `.safetensors`:

    ~/.venvs/nn-tools/bin/python tools/make_fixtures.py norm_act batch_norm_torch

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
tests/fixtures/optim.safetensors
    Optimizer trajectories and learning-rate schedules (make_optim below; every
    constructor call is written next to the code that records it).
    Model: torch.manual_seed(10); nn.Sequential(nn.Linear(6, 5), nn.Tanh(),
           nn.Linear(5, 3)), PARAM_KEYS = 0.weight [5,6], 0.bias [5],
           2.weight [3,5], 2.bias [3]. STEPS = 12.
    Data:  torch.manual_seed(11); data.input = torch.randn(STEPS, 8, 6),
           data.target = torch.randn(STEPS, 8, 3); batch k of step k.
    For each optimizer case <case> (optimizers built with foreach=False, the
    single-tensor CPU path):
      <case>.params.<PARAM_KEY>  [STEPS+1, ...]  parameters before step 1 (row 0)
                                               and after each step k (row k)
      <case>.grads.<PARAM_KEY>   [STEPS, ...]    .grad used by step k+1: of
                                               nn.MSELoss()(model(input[k]), target[k])
      <case>.lr                  [STEPS]         param_groups[0]["lr"] used by each step
    For each schedule <name>:
      schedule.<name>.lr         [N]   param_groups[0]["lr"] after i scheduler.step()
                                       calls (i = 0..N-1); SGD([p], lr=base_lr)
      schedule.<name>.momentum   [N]   param_groups[0]["momentum"] (OneCycleLR only)
    Metadata: {"generator": "tools/make_fixtures.py", "torch": <version>}

tests/fixtures/losses.safetensors
    Losses and their gradients with respect to the logits (make_losses below).
      bce.logits [5,4], bce.target [5,4]        torch.randn * 3, torch.rand
      bce.loss [], bce.grad [5,4]               nn.BCEWithLogitsLoss()(logits, target),
                                                logits.grad after .backward()
      bce_extreme.{logits,target,loss,grad}     logits up to +-100 (stability)
      cross_entropy.logits [7,5], .labels [7]   torch.randn * 2, torch.randint(0, 5)
      cross_entropy.smoothing_<eps>.{loss,grad} nn.CrossEntropyLoss(label_smoothing=eps),
                                                eps in 0.0, 0.1, 0.25, 1.0
      cross_entropy_extreme.{logits,labels}     logits up to +-1000
      cross_entropy_extreme.smoothing_0.1.{loss,grad}
    Metadata: {"generator": "tools/make_fixtures.py", "torch": <version>}

tests/fixtures/conv.safetensors
    Conv2d, MaxPool2d and AvgPool2d, one small configuration per <case> (make_conv below;
    every constructor call is written next to the code that records it). CPU float32; each case
    built right after torch.manual_seed(<its seed>), then its input and upstream drawn.
      <case>.weight [OUT,IN,K,K], <case>.bias [OUT]   layer.state_dict()  (Conv2d only; default init)
      <case>.input [3,C,H,W]       torch.randn (the ties cases: torch.randint(0, 3).float())
      <case>.output [3,C',H',W']   layer(input)
      <case>.upstream [3,C',H',W'] torch.randn_like(output)
      <case>.grad.input            input.grad  after (output * upstream).sum().backward()
      <case>.grad.weight, <case>.grad.bias   layer.weight.grad, layer.bias.grad  (Conv2d only)
    Cases (CONV_CASES): conv_k3 Conv2d(2, 3, 3) on [2,7,6]; conv_k3_s2_p1 Conv2d(3, 4, 3,
    stride=2, padding=1) on [3,9,8]; conv_k5_p2 Conv2d(1, 2, 5, padding=2) on [1,8,7];
    conv_k2_s2 Conv2d(2, 3, 2, stride=2) on [2,7,6] (floor drops the last row);
    conv_lenet2 Conv2d(6, 16, 5) on [6,14,14] (LeNet's second convolution);
    maxpool2 MaxPool2d(2) on [3,6,7] (odd width: floor drops the last column);
    maxpool3_s2 MaxPool2d(3, stride=2) on [3,9,8] (overlapping windows);
    maxpool2_ties, maxpool3_s2_ties: the same layers on inputs of small integers with exact
    ties (and one all-equal window): PyTorch gives each window's gradient to the FIRST maximum
    in row-major order, which the script checks independently (argmax of the unfolded windows);
    avgpool2 AvgPool2d(2) on [3,6,7]; avgpool3_s2 AvgPool2d(3, stride=2) on [3,9,8].
    Metadata: {"generator": "tools/make_fixtures.py", "torch": <version>}

tests/fixtures/lenet.safetensors
    LeNet-5 (lenet() below), built right after torch.manual_seed(0) (PyTorch default init):
      nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                    nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                    nn.Linear(84, 10))
    LENET_KEYS = 0.weight [6,1,5,5], 0.bias [6], 3.weight [16,6,5,5], 3.bias [16],
                 7.weight [120,400], 7.bias [120], 9.weight [84,120], 9.bias [84],
                 11.weight [10,84], 11.bias [10]
    Keys:
      <LENET_KEY>          initial state_dict
      input [8,1,28,28]    torch.randn after torch.manual_seed(101)
      labels [8] i64       torch.randint(0, 10, (8,))
      logits [8,10]        model(input)
      loss []              nn.CrossEntropyLoss()(logits, labels)  (mean)
      grad.<LENET_KEY>     parameter .grad after loss.backward()
      step1.<LENET_KEY>    parameters after one torch.optim.SGD(lr=0.01, momentum=0.9) step
    Metadata: {"generator": "tools/make_fixtures.py", "torch": <version>}
tests/fixtures/norm_act.safetensors
    Normalization layers and activations (make_norm_act below; every constructor and call is
    written next to the code that records it). CPU float32. For each <case>:
      <case>.input               torch.randn(shape) * 3 (activations; shapes in ACTIVATION_CASES, NORM_CASES)
      <case>.output              layer(input)
      <case>.upstream            torch.randn_like(output)
      <case>.grad.input          input.grad after (output * upstream).sum().backward()
      <case>.grad.weight, <case>.grad.bias   (LayerNorm, BatchNorm) layer.weight.grad, .bias.grad
      <case>.weight, <case>.bias (LayerNorm, BatchNorm) the parameters used: torch.randn(N) and
                                 torch.randn(N) * 0.5 (not the init 1/0, so the affine part counts)
    Activation cases: gelu nn.GELU(), gelu_tanh nn.GELU(approximate='tanh'), silu nn.SiLU(),
      leaky_relu nn.LeakyReLU(), leaky_relu_0.2 nn.LeakyReLU(0.2), identity nn.Identity(),
      all on [4, 7] (torch.randn * 3, plus exact 0 and +-8 entries); softmax / log_softmax
      nn.Softmax(dim=-1) / nn.LogSoftmax(dim=-1) on [4, 7] and on [3, 4, 7] (softmax_seq,
      log_softmax_seq; one row shifted by +50 for stability).
    layer_norm nn.LayerNorm(6) on [4, 6]; layer_norm_seq nn.LayerNorm(6) on [3, 5, 6]
      (inputs torch.randn * 2 + 1).
    batch_norm1d nn.BatchNorm1d(5) on [8, 5]; batch_norm2d nn.BatchNorm2d(3) on [4, 3, 5, 6]
      (inputs torch.randn * 2 + 1). Their state before training is <case>.weight, .bias,
      .running_mean (0), .running_var (1), .num_batches_tracked (0, int64 []). In train():
      <case>.output etc. as above (first training forward, on <case>.input), then
      <case>.step1.{running_mean,running_var,num_batches_tracked} after it;
      <case>.input2 (torch.randn * 3 - 2), <case>.output2 = layer(input2) (second training
      forward), <case>.step2.{running_mean,running_var,num_batches_tracked};
      then layer.eval(): <case>.eval.output = layer(input), and
      <case>.eval.grad.{input,weight,bias} of (eval.output * upstream).sum().
    Metadata: {"generator": "tools/make_fixtures.py", "torch": <version>}

tests/fixtures/batch_norm_torch.safetensors
    torch.manual_seed(30); model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)), trained
    (forward only) in train() on three batches torch.randn(6, 4), then saved exactly as
    save_file(model.state_dict(), path), NO metadata: keys 0.weight [3,4], 0.bias [3],
    1.weight [3], 1.bias [3], 1.running_mean [3], 1.running_var [3],
    1.num_batches_tracked [] int64 (= 3). norm_act.safetensors holds its test data:
    torch_file.input [2, 4] torch.randn, torch_file.output [2, 3] = model.eval()(input).
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


OPTIM_STEPS = 12


def optim_mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))


def make_optim() -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    steps = OPTIM_STEPS

    # torch.manual_seed(10); model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    torch.manual_seed(10)
    initial = optim_mlp().state_dict()
    # torch.manual_seed(11); input = torch.randn(STEPS, 8, 6); target = torch.randn(STEPS, 8, 3)
    torch.manual_seed(11)
    x = torch.randn(steps, 8, 6)
    y = torch.randn(steps, 8, 3)
    out["data.input"], out["data.target"] = t(x), t(y)
    mse = nn.MSELoss()

    def trajectory(name, make_opt, make_sched=None) -> None:
        """Trains a fresh copy of the initial model for STEPS steps, recording everything."""
        model = optim_mlp()
        model.load_state_dict(initial)
        opt = make_opt(model.parameters())
        sched = make_sched(opt) if make_sched else None
        params = {k: [t(v)] for k, v in model.state_dict().items()}
        grads = {k: [] for k, _ in model.named_parameters()}
        lrs = []
        for k in range(steps):
            opt.zero_grad()
            mse(model(x[k]), y[k]).backward()
            for key, p in model.named_parameters():
                grads[key].append(t(p.grad))
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            if sched is not None:
                sched.step()
            for key, v in model.state_dict().items():
                params[key].append(t(v))
        for key in params:
            out[f"{name}.params.{key}"] = torch.stack(params[key])
            out[f"{name}.grads.{key}"] = torch.stack(grads[key])
        out[f"{name}.lr"] = torch.tensor(lrs, dtype=torch.float32)

    sgd, adam, adamw = torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW
    # torch.optim.SGD(params, lr=0.1)
    trajectory("sgd", lambda p: sgd(p, lr=0.1, foreach=False))
    # torch.optim.SGD(params, lr=0.1, weight_decay=0.05)
    trajectory("sgd_weight_decay", lambda p: sgd(p, lr=0.1, weight_decay=0.05, foreach=False))
    # torch.optim.SGD(params, lr=0.1, momentum=0.9)
    trajectory("sgd_momentum", lambda p: sgd(p, lr=0.1, momentum=0.9, foreach=False))
    # torch.optim.SGD(params, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)
    trajectory(
        "sgd_dampening",
        lambda p: sgd(p, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01, foreach=False),
    )
    # torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True)
    trajectory("sgd_nesterov", lambda p: sgd(p, lr=0.1, momentum=0.9, nesterov=True, foreach=False))
    # torch.optim.SGD(params, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)
    trajectory(
        "sgd_nesterov_weight_decay",
        lambda p: sgd(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1, foreach=False),
    )
    # torch.optim.Adam(params, lr=0.01)
    trajectory("adam", lambda p: adam(p, lr=0.01, foreach=False))
    # torch.optim.Adam(params, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
    trajectory(
        "adam_options",
        lambda p: adam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, foreach=False),
    )
    # torch.optim.AdamW(params, lr=0.01, weight_decay=0.1)
    trajectory("adamw", lambda p: adamw(p, lr=0.01, weight_decay=0.1, foreach=False))
    # torch.optim.AdamW(params)   (lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)
    trajectory("adamw_default", lambda p: adamw(p, foreach=False))
    # torch.optim.Adam(params, lr=0.05, betas=(0.5, 0.9), amsgrad=True)
    trajectory("adam_amsgrad", lambda p: adam(p, lr=0.05, betas=(0.5, 0.9), amsgrad=True, foreach=False))
    # torch.optim.AdamW(params, lr=0.01, weight_decay=0.1, amsgrad=True)
    trajectory("adamw_amsgrad", lambda p: adamw(p, lr=0.01, weight_decay=0.1, amsgrad=True, foreach=False))
    # torch.optim.SGD(params, lr=0.1, momentum=0.9); StepLR(opt, step_size=4, gamma=0.5)
    trajectory(
        "sgd_step_lr",
        lambda p: sgd(p, lr=0.1, momentum=0.9, foreach=False),
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5),
    )
    # torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True);
    # LinearLR(opt, start_factor=0.1, total_iters=5)
    trajectory(
        "sgd_warmup",
        lambda p: sgd(p, lr=0.1, momentum=0.9, nesterov=True, foreach=False),
        lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=5),
    )
    # torch.optim.AdamW(params, lr=0.01, weight_decay=0.05);
    # CosineAnnealingLR(opt, T_max=STEPS, eta_min=1e-4)
    trajectory(
        "adamw_cosine",
        lambda p: adamw(p, lr=0.01, weight_decay=0.05, foreach=False),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=steps, eta_min=1e-4),
    )
    # torch.optim.Adam(params, lr=0.01); OneCycleLR(opt, max_lr=0.05, total_steps=STEPS)
    # (cycle_momentum=True: beta1 cycles between 0.95 and 0.85)
    trajectory(
        "adam_one_cycle",
        lambda p: adam(p, lr=0.01, foreach=False),
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.05, total_steps=steps),
    )
    # torch.optim.SGD(params, lr=0.1); OneCycleLR(opt, max_lr=0.2, total_steps=STEPS)
    # (cycle_momentum=True: SGD's momentum cycles between 0.95 and 0.85)
    trajectory(
        "sgd_one_cycle",
        lambda p: sgd(p, lr=0.1, foreach=False),
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.2, total_steps=steps),
    )

    def schedule(name, base_lr, n, make_sched, momentum=False) -> None:
        """param_groups[0]["lr"] (and "momentum") after i = 0..n-1 scheduler steps."""
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=base_lr)
        sched = make_sched(opt)
        lrs, momenta = [], []
        for i in range(n):
            lrs.append(opt.param_groups[0]["lr"])
            momenta.append(opt.param_groups[0]["momentum"])
            if i + 1 < n:  # OneCycleLR raises past total_steps
                opt.step()  # no gradient: changes nothing, keeps the scheduler from warning
                sched.step()
        out[f"schedule.{name}.lr"] = torch.tensor(lrs, dtype=torch.float32)
        if momentum:
            out[f"schedule.{name}.momentum"] = torch.tensor(momenta, dtype=torch.float32)

    lr_scheduler = torch.optim.lr_scheduler
    # SGD(lr=0.1); StepLR(opt, step_size=3, gamma=0.5)
    schedule("step_lr", 0.1, 15, lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5))
    # SGD(lr=0.05); StepLR(opt, step_size=4)   (gamma=0.1)
    schedule("step_lr_default", 0.05, 12, lambda o: lr_scheduler.StepLR(o, step_size=4))
    # SGD(lr=0.1); ExponentialLR(opt, gamma=0.9)
    schedule("exponential_lr", 0.1, 30, lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9))
    # SGD(lr=0.1); CosineAnnealingLR(opt, T_max=10, eta_min=1e-3)   (31 values: past T_max)
    schedule(
        "cosine_annealing_lr", 0.1, 31, lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=1e-3)
    )
    # SGD(lr=0.05); CosineAnnealingLR(opt, T_max=50)   (eta_min=0)
    schedule("cosine_annealing_lr_default", 0.05, 51, lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=50))
    # SGD(lr=0.1); LinearLR(opt, start_factor=0.1, end_factor=1.0, total_iters=5)
    schedule(
        "linear_lr",
        0.1,
        10,
        lambda o: lr_scheduler.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=5),
    )
    # SGD(lr=0.3); LinearLR(opt)   (start_factor=1/3, end_factor=1.0, total_iters=5)
    schedule("linear_lr_default", 0.3, 8, lambda o: lr_scheduler.LinearLR(o))
    # SGD(lr=0.1); LinearLR(opt, start_factor=1.0, end_factor=0.05, total_iters=20)
    schedule(
        "linear_lr_decay",
        0.1,
        25,
        lambda o: lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=20),
    )
    # SGD(lr=0.1); OneCycleLR(opt, max_lr=0.1, total_steps=100)   (101 values: last_epoch 0..100)
    schedule(
        "one_cycle_lr", 0.1, 101, lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=100), momentum=True
    )
    # SGD(lr=0.1); OneCycleLR(opt, max_lr=0.01, total_steps=50, three_phase=True)
    schedule(
        "one_cycle_lr_three_phase",
        0.1,
        51,
        lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.01, total_steps=50, three_phase=True),
        momentum=True,
    )
    # SGD(lr=0.1); OneCycleLR(opt, max_lr=1.0, total_steps=37, pct_start=0.25,
    #     anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0,
    #     base_momentum=0.8, max_momentum=0.9)
    schedule(
        "one_cycle_lr_linear",
        0.1,
        38,
        lambda o: lr_scheduler.OneCycleLR(
            o,
            max_lr=1.0,
            total_steps=37,
            pct_start=0.25,
            anneal_strategy="linear",
            div_factor=10.0,
            final_div_factor=100.0,
            base_momentum=0.8,
            max_momentum=0.9,
        ),
        momentum=True,
    )
    # SGD(lr=0.1); SequentialLR(opt, [LinearLR(opt, start_factor=0.01, total_iters=5),
    #     CosineAnnealingLR(opt, T_max=20, eta_min=1e-4)], milestones=[5])
    schedule(
        "warmup_cosine",
        0.1,
        30,
        lambda o: lr_scheduler.SequentialLR(
            o,
            [
                lr_scheduler.LinearLR(o, start_factor=0.01, total_iters=5),
                lr_scheduler.CosineAnnealingLR(o, T_max=20, eta_min=1e-4),
            ],
            milestones=[5],
        ),
    )
    # SGD(lr=0.1); SequentialLR(opt, [LinearLR(opt, start_factor=0.1, total_iters=3),
    #     StepLR(opt, step_size=4, gamma=0.5), ExponentialLR(opt, gamma=0.8)], milestones=[3, 12])
    schedule(
        "sequential_three",
        0.1,
        20,
        lambda o: lr_scheduler.SequentialLR(
            o,
            [
                lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=3),
                lr_scheduler.StepLR(o, step_size=4, gamma=0.5),
                lr_scheduler.ExponentialLR(o, gamma=0.8),
            ],
            milestones=[3, 12],
        ),
    )
    return out


def make_losses() -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    torch.manual_seed(12)

    def bce(name: str, logits: torch.Tensor, target: torch.Tensor) -> None:
        logits = logits.clone().requires_grad_(True)
        # <name>.loss = nn.BCEWithLogitsLoss()(logits, target)
        loss = nn.BCEWithLogitsLoss()(logits, target)
        loss.backward()
        out[f"{name}.logits"], out[f"{name}.target"] = t(logits), t(target)
        out[f"{name}.loss"] = t(loss)
        # <name>.grad = logits.grad
        out[f"{name}.grad"] = t(logits.grad)

    # torch.manual_seed(12); bce.logits = torch.randn(5, 4) * 3; bce.target = torch.rand(5, 4)
    bce("bce", torch.randn(5, 4) * 3, torch.rand(5, 4))
    bce(
        "bce_extreme",
        torch.tensor([[-100.0, -20.0, 0.0, 20.0, 100.0], [50.0, -50.0, 1e-3, -1e-3, 88.0]]),
        torch.tensor([[0.0, 1.0, 0.5, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0, 0.3]]),
    )

    def ce(name: str, logits: torch.Tensor, labels: torch.Tensor, smoothings) -> None:
        out[f"{name}.logits"], out[f"{name}.labels"] = t(logits), t(labels)
        for eps in smoothings:
            x = logits.clone().requires_grad_(True)
            # <name>.smoothing_<eps>.loss = nn.CrossEntropyLoss(label_smoothing=eps)(logits, labels)
            loss = nn.CrossEntropyLoss(label_smoothing=eps)(x, labels)
            loss.backward()
            out[f"{name}.smoothing_{eps}.loss"] = t(loss)
            # <name>.smoothing_<eps>.grad = logits.grad
            out[f"{name}.smoothing_{eps}.grad"] = t(x.grad)

    # cross_entropy.logits = torch.randn(7, 5) * 2; cross_entropy.labels = torch.randint(0, 5, (7,))
    ce("cross_entropy", torch.randn(7, 5) * 2, torch.randint(0, 5, (7,)), (0.0, 0.1, 0.25, 1.0))
    ce(
        "cross_entropy_extreme",
        torch.tensor([[1000.0, -1000.0, 0.0, 5.0, 2.0], [-3.0, 400.0, -400.0, 0.5, 0.0]]),
        torch.tensor([1, 1]),
        (0.1,),
    )
    return out


# (case, seed, input shape [C,H,W], constructor, input kind). Conv2d weights come from the
# default init right after torch.manual_seed(seed); "ties" inputs are small integers.
CONV_CASES = (
    # nn.Conv2d(2, 3, 3)                          on [2,7,6] -> [3,5,4]
    ("conv_k3", 20, (2, 7, 6), lambda: nn.Conv2d(2, 3, 3), "randn"),
    # nn.Conv2d(3, 4, 3, stride=2, padding=1)     on [3,9,8] -> [4,5,4]
    ("conv_k3_s2_p1", 21, (3, 9, 8), lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), "randn"),
    # nn.Conv2d(1, 2, 5, padding=2)               on [1,8,7] -> [2,8,7]
    ("conv_k5_p2", 22, (1, 8, 7), lambda: nn.Conv2d(1, 2, 5, padding=2), "randn"),
    # nn.Conv2d(2, 3, 2, stride=2)                on [2,7,6] -> [3,3,3]
    ("conv_k2_s2", 23, (2, 7, 6), lambda: nn.Conv2d(2, 3, 2, stride=2), "randn"),
    # nn.Conv2d(6, 16, 5)                         on [6,14,14] -> [16,10,10]
    ("conv_lenet2", 24, (6, 14, 14), lambda: nn.Conv2d(6, 16, 5), "randn"),
    # nn.MaxPool2d(2)                             on [3,6,7] -> [3,3,3]
    ("maxpool2", 25, (3, 6, 7), lambda: nn.MaxPool2d(2), "randn"),
    # nn.MaxPool2d(3, stride=2)                   on [3,9,8] -> [3,4,3]
    ("maxpool3_s2", 26, (3, 9, 8), lambda: nn.MaxPool2d(3, stride=2), "randn"),
    # nn.MaxPool2d(2)                             on integers in {0,1,2}, [3,6,7] -> [3,3,3]
    ("maxpool2_ties", 27, (3, 6, 7), lambda: nn.MaxPool2d(2), "ties"),
    # nn.MaxPool2d(3, stride=2)                   on integers in {0,1,2}, [3,9,8] -> [3,4,3]
    ("maxpool3_s2_ties", 28, (3, 9, 8), lambda: nn.MaxPool2d(3, stride=2), "ties"),
    # nn.AvgPool2d(2)                             on [3,6,7] -> [3,3,3]
    ("avgpool2", 29, (3, 6, 7), lambda: nn.AvgPool2d(2), "randn"),
    # nn.AvgPool2d(3, stride=2)                   on [3,9,8] -> [3,4,3]
    ("avgpool3_s2", 30, (3, 9, 8), lambda: nn.AvgPool2d(3, stride=2), "randn"),
)
CONV_BATCH = 3


def first_max_grad(x: torch.Tensor, upstream: torch.Tensor, k: int, stride: int) -> torch.Tensor:
    """The input gradient of (max_pool2d(x, k, stride) * upstream).sum() when each window's
    gradient goes to its FIRST maximum in row-major order, computed without max_pool2d:
    torch.argmax returns "the indices of the first maximal value" (its documentation)."""
    b, c, h, w = x.shape
    windows = x.unfold(2, k, stride).unfold(3, k, stride)  # [B, C, H', W', K, K]
    h_out, w_out = windows.shape[2], windows.shape[3]
    first = windows.reshape(b, c, h_out, w_out, k * k).argmax(dim=-1)
    grad = torch.zeros_like(x)
    for bi in range(b):
        for ci in range(c):
            for i in range(h_out):
                for j in range(w_out):
                    di, dj = divmod(int(first[bi, ci, i, j]), k)
                    grad[bi, ci, i * stride + di, j * stride + dj] += upstream[bi, ci, i, j]
    return grad


def make_conv() -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for name, seed, shape, make_layer, kind in CONV_CASES:
        # torch.manual_seed(seed); layer = <constructor above>   (default init)
        torch.manual_seed(seed)
        layer = make_layer()
        # <case>.weight, <case>.bias = layer.state_dict()   (Conv2d only)
        out.update(params(layer, f"{name}."))
        if kind == "ties":
            # <case>.input = torch.randint(0, 3, (3, C, H, W)).float(), and one all-equal window
            x = torch.randint(0, 3, (CONV_BATCH, *shape)).float()
            k = layer.kernel_size
            x[1, 0, :k, :k] = 2.0
        else:
            # <case>.input = torch.randn(3, C, H, W)
            x = torch.randn(CONV_BATCH, *shape)
        x.requires_grad_(True)
        layer.zero_grad(set_to_none=True)
        # <case>.output = layer(input)
        y = layer(x)
        # <case>.upstream = torch.randn_like(output)
        upstream = torch.randn_like(y)
        (y * upstream).sum().backward()
        out[f"{name}.input"] = t(x)
        out[f"{name}.output"] = t(y)
        out[f"{name}.upstream"] = t(upstream)
        # <case>.grad.input = input.grad   after (output * upstream).sum().backward()
        out[f"{name}.grad.input"] = t(x.grad)
        # <case>.grad.weight, <case>.grad.bias = layer.weight.grad, layer.bias.grad
        out.update(grads(layer, f"{name}.grad."))
        if isinstance(layer, nn.MaxPool2d):
            # Pin PyTorch's tie rule: the whole gradient of a window goes to its first maximum.
            expected = first_max_grad(t(x), t(upstream), layer.kernel_size, layer.stride)
            assert torch.equal(x.grad, expected), f"{name}: max_pool2d's tie rule changed"
            if kind == "ties":
                windows = t(x).unfold(2, layer.kernel_size, layer.stride).unfold(3, layer.kernel_size, layer.stride)
                top = windows.flatten(-2)
                ties = (top == top.amax(dim=-1, keepdim=True)).sum(dim=-1) > 1
                assert ties.sum() >= 10, f"{name}: only {int(ties.sum())} windows with tied maxima"
    return out


def lenet() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


LENET_KEYS = {
    "0.weight": (6, 1, 5, 5),
    "0.bias": (6,),
    "3.weight": (16, 6, 5, 5),
    "3.bias": (16,),
    "7.weight": (120, 400),
    "7.bias": (120,),
    "9.weight": (84, 120),
    "9.bias": (84,),
    "11.weight": (10, 84),
    "11.bias": (10,),
}


def make_lenet() -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    # torch.manual_seed(0); model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(),
    #     nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    #     nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    torch.manual_seed(0)
    model = lenet()
    # <key> = model.state_dict()[<key>].clone()   (0.weight, 0.bias, 3.weight, ..., 11.bias)
    initial = params(model)
    assert {k: tuple(v.shape) for k, v in initial.items()} == LENET_KEYS, initial.keys()
    out.update(initial)

    # torch.manual_seed(101); input = torch.randn(8, 1, 28, 28); labels = torch.randint(0, 10, (8,))
    torch.manual_seed(101)
    x = torch.randn(8, 1, 28, 28)
    y = torch.randint(0, 10, (8,))
    assert y.dtype == torch.int64
    out["input"], out["labels"] = t(x), t(y)

    # opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    opt.zero_grad()
    # logits = model(input)
    logits = model(x)
    # loss = nn.CrossEntropyLoss()(logits, labels)
    loss = nn.CrossEntropyLoss()(logits, y)
    loss.backward()
    out["logits"] = t(logits)
    out["loss"] = t(loss)  # shape []
    # grad.<key> = model.get_parameter(<key>).grad   after loss.backward()
    out.update(grads(model, "grad."))
    # opt.step()
    opt.step()
    # step1.<key> = model.state_dict()[<key>]   after the step
    out.update(params(model, "step1."))
    return out


# (case, constructor, input shape) of the parameter-free layers in norm_act.safetensors.
ACTIVATION_CASES = [
    ("gelu", lambda: nn.GELU(), (4, 7)),
    ("gelu_tanh", lambda: nn.GELU(approximate="tanh"), (4, 7)),
    ("silu", lambda: nn.SiLU(), (4, 7)),
    ("leaky_relu", lambda: nn.LeakyReLU(), (4, 7)),
    ("leaky_relu_0.2", lambda: nn.LeakyReLU(0.2), (4, 7)),
    ("identity", lambda: nn.Identity(), (4, 7)),
    ("softmax", lambda: nn.Softmax(dim=-1), (4, 7)),
    ("softmax_seq", lambda: nn.Softmax(dim=-1), (3, 4, 7)),
    ("log_softmax", lambda: nn.LogSoftmax(dim=-1), (4, 7)),
    ("log_softmax_seq", lambda: nn.LogSoftmax(dim=-1), (3, 4, 7)),
]

# (case, constructor, number of features, input shape) of the layers with parameters.
NORM_CASES = [
    ("layer_norm", lambda: nn.LayerNorm(6), 6, (4, 6)),
    ("layer_norm_seq", lambda: nn.LayerNorm(6), 6, (3, 5, 6)),
    ("batch_norm1d", lambda: nn.BatchNorm1d(5), 5, (8, 5)),
    ("batch_norm2d", lambda: nn.BatchNorm2d(3), 3, (4, 3, 5, 6)),
]


def record_backward(out: dict[str, torch.Tensor], prefix: str, layer: nn.Module, x: torch.Tensor,
                    upstream: torch.Tensor | None = None) -> torch.Tensor:
    """<prefix>output = layer(x); <prefix>grad.* after (output * upstream).sum().backward()."""
    x = x.detach().clone().requires_grad_(True)
    layer.zero_grad(set_to_none=True)
    y = layer(x)
    if upstream is None:
        upstream = torch.randn_like(y)  # <case>.upstream = torch.randn_like(output)
    (y * upstream).sum().backward()
    out[f"{prefix}output"] = t(y)
    out[f"{prefix}grad.input"] = t(x.grad)
    out.update(grads(layer, f"{prefix}grad."))
    return upstream


def make_norm_act() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    out: dict[str, torch.Tensor] = {}
    for seed, (name, make_layer, shape) in enumerate(ACTIVATION_CASES, start=20):
        torch.manual_seed(seed)
        layer = make_layer()  # the constructor in ACTIVATION_CASES
        # <case>.input = torch.randn(shape) * 3, with exact 0 and +-8 in the first row
        x = torch.randn(*shape) * 3
        x.view(-1, shape[-1])[0, :3] = torch.tensor([0.0, 8.0, -8.0])
        if name.startswith(("softmax", "log_softmax")):
            x.view(-1, shape[-1])[1] += 50.0  # a shifted row: the max must be subtracted
        out[f"{name}.input"] = t(x)
        out[f"{name}.upstream"] = t(record_backward(out, f"{name}.", layer, x))

    for seed, (name, make_layer, features, shape) in enumerate(NORM_CASES, start=40):
        torch.manual_seed(seed)
        layer = make_layer()  # the constructor in NORM_CASES, then:
        with torch.no_grad():
            layer.weight.copy_(torch.randn(features))  # <case>.weight = torch.randn(N)
            layer.bias.copy_(torch.randn(features) * 0.5)  # <case>.bias = torch.randn(N) * 0.5
        # <case>.<key> = layer.state_dict() before any forward (BatchNorm: running stats 0 / 1, count 0)
        out.update(params(layer, f"{name}."))
        # <case>.input = torch.randn(shape) * 2 + 1
        x = torch.randn(*shape) * 2 + 1
        out[f"{name}.input"] = t(x)
        layer.train()
        upstream = record_backward(out, f"{name}.", layer, x)
        out[f"{name}.upstream"] = t(upstream)
        if isinstance(layer, nn.LayerNorm):
            continue
        # <case>.step1.<buffer> = layer.state_dict()[<buffer>] after the first training forward
        state = layer.state_dict()
        for key in ("running_mean", "running_var", "num_batches_tracked"):
            out[f"{name}.step1.{key}"] = t(state[key])
        # <case>.input2 = torch.randn(shape) * 3 - 2; <case>.output2 = layer(input2) in train()
        x2 = torch.randn(*shape) * 3 - 2
        out[f"{name}.input2"] = t(x2)
        with torch.no_grad():
            out[f"{name}.output2"] = t(layer(x2))
        state = layer.state_dict()
        for key in ("running_mean", "running_var", "num_batches_tracked"):
            out[f"{name}.step2.{key}"] = t(state[key])
        # layer.eval(); <case>.eval.output = layer(input); eval.grad.* of (output * upstream).sum()
        layer.eval()
        record_backward(out, f"{name}.eval.", layer, x, upstream)
        assert torch.equal(layer.state_dict()["num_batches_tracked"], torch.tensor(2)), name

    # The PyTorch checkpoint of batch_norm_torch.safetensors and its test data.
    torch.manual_seed(30)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(6, 4))  # three training forwards: running stats, count 3
    model.eval()
    # torch_file.input = torch.randn(2, 4); torch_file.output = model.eval()(input)
    x = torch.randn(2, 4)
    out["torch_file.input"] = t(x)
    with torch.no_grad():
        out["torch_file.output"] = t(model(x))
    state = {k: t(v) for k, v in model.state_dict().items()}
    assert state["1.num_batches_tracked"].dtype == torch.int64 and state["1.num_batches_tracked"].shape == ()
    return out, state


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
    # Files named on the command line (without .safetensors), or all of them.
    only = set(sys.argv[1:])

    def wanted(name: str) -> bool:
        return not only or name in only

    if wanted("norm_act") or wanted("batch_norm_torch"):
        norm_act, batch_norm_state = make_norm_act()
        norm_act_path = FIXTURES / "norm_act.safetensors"
        batch_norm_path = FIXTURES / "batch_norm_torch.safetensors"
        if wanted("norm_act"):
            save_fixture(norm_act, norm_act_path, METADATA)
            check_file(norm_act_path, norm_act, METADATA)
            summarize(norm_act_path)
            assert norm_act_path.stat().st_size < 200 * 1024, norm_act_path
        if wanted("batch_norm_torch"):
            # Exactly what a PyTorch user writes; no metadata, state_dict keys only.
            save_file(batch_norm_state, str(batch_norm_path))
            batch_norm_path.chmod(0o644)
            check_file(batch_norm_path, batch_norm_state, None)
            summarize(batch_norm_path)
    if only:
        unknown = only - {"norm_act", "batch_norm_torch"}
        assert not unknown, f"only norm_act and batch_norm_torch can be written alone, not {unknown}"
        return 0

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

    optim = make_optim()
    optim_path = FIXTURES / "optim.safetensors"
    save_fixture(optim, optim_path, METADATA)
    check_file(optim_path, optim, METADATA)

    losses = make_losses()
    losses_path = FIXTURES / "losses.safetensors"
    save_fixture(losses, losses_path, METADATA)
    check_file(losses_path, losses, METADATA)

    conv = make_conv()
    conv_path = FIXTURES / "conv.safetensors"
    save_fixture(conv, conv_path, METADATA)
    check_file(conv_path, conv, METADATA)

    lenet_fixture = make_lenet()
    lenet_path = FIXTURES / "lenet.safetensors"
    save_fixture(lenet_fixture, lenet_path, METADATA)
    check_file(lenet_path, lenet_fixture, METADATA)

    print(f"torch {torch.__version__}")
    for p in (small_path, mnist_path, io_path, optim_path, losses_path, conv_path):
        summarize(p)
        assert p.stat().st_size < 600 * 1024, p
    # Three copies of LeNet's 61,706 parameters (initial, grad., step1.): 741 KB of f32.
    summarize(lenet_path)
    assert lenet_path.stat().st_size < 800 * 1024, lenet_path
    print(f"loss     = {small['loss'].item()!r}")
    print(f"mse.loss = {small['mse.loss'].item()!r}")
    print(f"lenet loss = {lenet_fixture['loss'].item()!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
