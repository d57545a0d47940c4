"""Activation memory and mixed precision (chapter 18), measured side by side in one run.

1. Gradient checkpointing of a deep MLP (n layers relu(h @ w + b), width D, N rows, float32): for no checkpointing
   and for k = 1, 2, 4, ..., n segments (√n among them), the peak bytes of activations alive (what autograd saves
   plus the boundaries kept, `backprop.memory.LiveBytes`), and the time of forward + backward as a ratio to no
   checkpointing, the variants timed in turns (every round runs each once; min and median of the rounds). Every
   variant's gradients are checked against autograd's first. With --device cuda, the CUDA allocator's peak too
   (torch.cuda.max_memory_allocated above what was allocated before the step).
2. float16 and bfloat16 matmuls against float32 on this device, timed in turns.
3. Static loss scaling: the course's MLP on 1,000 digits, its loss weighted by 1e-4 and the learning rate 1e4
   times larger (chapter 18), trained with every product rounded to float16, for S = 2^0, 2^1, ...: the largest
   relative gap between its loss curve and float32's, and the smallest S whose gap is below --match (1e-3).
4. Dynamic loss scaling by hand (`backprop.memory.DynamicScaler`) against torch.amp.GradScaler on the same run:
   the steps skipped and the scale at every step, which must agree.

    .venv/bin/python bench/memory.py            # n = 16, D = 512, N = 512: a minute on 2 idle cores
    .venv/bin/python bench/memory.py --quick    # small sizes, seconds: for the tests

The machine is shared: absolute times are noisy; the ratios of variants timed in the same rounds are what count.
"""
import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from backprop.data import load_mnist_sample, normalise, train_valid_split  # noqa: E402
from backprop.forward import init_params, mse  # noqa: E402
from backprop.memory import (DynamicScaler, LiveBytes, checkpointed_backward, deep_forward, mlp_grads_rounded,  # noqa: E402
                             tracking)


def deep_params(n_layers, D, device, gen):
    ws = [torch.randn(D, 1 if i == n_layers - 1 else D, generator=gen) * (2 / D) ** 0.5 for i in range(n_layers)]
    return [p.to(device).requires_grad_() for w in ws for p in (w, torch.zeros(w.shape[1]))]


def plain_backward(x, y, params, live):
    with tracking(live): loss = mse(deep_forward(x, params), y)
    loss.backward()


def sync(device):
    if device == "cuda": torch.cuda.synchronize()


def checkpointing(n_layers, D, N, rounds, device):
    "Rows (label, k, peak MiB by LiveBytes, CUDA allocator peak MiB or None, min ratio, median ratio)."
    gen = torch.Generator().manual_seed(0)
    params = deep_params(n_layers, D, device, gen)
    x, y = torch.randn(N, D, generator=gen).to(device), torch.randn(N, generator=gen).to(device)
    ks = [None] + [k for k in (2 ** i for i in range(n_layers.bit_length())) if k <= n_layers]
    sqrt_n = math.isqrt(n_layers)
    if sqrt_n not in ks: ks.append(sqrt_n)
    def run(k, live):
        for p in params: p.grad = None
        if k is None: plain_backward(x, y, params, live)
        else: checkpointed_backward(x, y, params, k, live)
        sync(device)
    run(None, LiveBytes(params)); ref = [p.grad.clone() for p in params]
    peaks, cuda_peaks = {}, {}
    for k in ks:
        live = LiveBytes(params)
        if device == "cuda": torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
        run(k, live)
        peaks[k] = live.peak / 2**20
        cuda_peaks[k] = (torch.cuda.max_memory_allocated() - base) / 2**20 if device == "cuda" else None
        for p, r in zip(params, ref):
            torch.testing.assert_close(p.grad, r, rtol=1e-4, atol=1e-5)      # float32 sums in another order
    times = {k: [] for k in ks}
    for _ in range(rounds):
        for k in ks:
            t0 = time.perf_counter(); run(k, LiveBytes(params)); times[k].append(time.perf_counter() - t0)
    med = lambda ts: sorted(ts)[len(ts) // 2]
    rows = []
    for k in ks:
        label = "none" if k is None else f"k = {k}" + (" (√n)" if k == sqrt_n else " (n)" if k == n_layers else "")
        rows.append(dict(variant=label, k=k, peak_mib=peaks[k], cuda_peak_mib=cuda_peaks[k],
                         time_min_ratio=min(times[k]) / min(times[None]), time_median_ratio=med(times[k]) / med(times[None])))
    return rows


def matmul_ratios(size, rounds, device):
    a = torch.randn(size, size, device=device)
    ts = {dt: [] for dt in (torch.float32, torch.bfloat16, torch.float16)}
    mats = {dt: a.to(dt) for dt in ts}
    for _ in range(rounds):
        for dt, m in mats.items():
            t0 = time.perf_counter(); m @ m; sync(device); ts[dt].append(time.perf_counter() - t0)
    return {str(dt).replace("torch.", ""): min(t) / min(ts[torch.float32]) for dt, t in ts.items()}


def digits(n):
    x_train, y_train, _, _ = train_valid_split(*load_mnist_sample())
    return normalise(x_train, x_train)[0][:n], y_train[:n].float()


def train(xs, ys, start, dtype, scale, steps, lr=0.005 * 1e4):
    ps, losses = [p.clone() for p in start], []
    for _ in range(steps):
        loss, grads, _ = mlp_grads_rounded(xs, ys, ps, dtype, scale, loss_weight=1e-4)
        ps = [p - lr * g / scale for p, g in zip(ps, grads)]
        losses.append(loss.item())
    return torch.tensor(losses)


def static_scaling(xs, ys, start, exponents, steps, match):
    ref = train(xs, ys, start, None, 1., steps)
    gaps = {k: ((train(xs, ys, start, torch.float16, 2. ** k, steps) - ref).abs() / ref).nan_to_num(math.inf).max().item()
            for k in exponents}
    smallest = next((k for k in exponents if gaps[k] < match), None)
    return gaps, smallest


def dynamic_scaling(xs, ys, start, steps, scale=2.**28, interval=5, lr=0.005 * 1e4):
    mine, theirs = [p.clone() for p in start], [p.clone().requires_grad_() for p in start]
    scaler, opt = DynamicScaler(scale, interval), torch.optim.SGD(theirs, lr=lr)
    ref = torch.amp.GradScaler("cpu", init_scale=scale, growth_interval=interval)
    ref.scale(torch.ones(()))
    history = []
    for _ in range(steps):
        _, grads, _ = mlp_grads_rounded(xs, ys, mine, torch.float16, scaler.scale, loss_weight=1e-4)
        took = scaler.step(mine, grads, lr)
        _, grads, _ = mlp_grads_rounded(xs, ys, [p.detach() for p in theirs], torch.float16, ref.get_scale(), loss_weight=1e-4)
        for p, g in zip(theirs, grads): p.grad = g
        ref.step(opt); ref.update()
        history.append((took, scaler.scale, ref.get_scale()))
    same_weights = all(torch.allclose(p, q.detach(), rtol=1e-6, atol=1e-7) for p, q in zip(mine, theirs))
    return history, same_weights


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: seconds")
    ap.add_argument("--layers", type=int, default=None, help="layers of the deep MLP (default 16; --quick 4)")
    ap.add_argument("--width", type=int, default=None, help="its width D (default 512; --quick 64)")
    ap.add_argument("--rounds", type=int, default=None, help="timing rounds (default 7; --quick 3)")
    ap.add_argument("--match", type=float, default=1e-3, help="the largest relative gap of loss curves that matches")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the checkpointing and matmul parts)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    a = ap.parse_args(argv)
    n_layers, D = a.layers or (4 if a.quick else 16), a.width or (64 if a.quick else 512)
    rounds = a.rounds or (3 if a.quick else 7)
    if n_layers < 1 or D < 1 or rounds < 1: ap.error("--layers, --width and --rounds must be positive")
    if a.device not in ("cpu", "cuda") or (a.device == "cuda" and not torch.cuda.is_available()):
        ap.error(f"--device {a.device!r}: expected cpu, or cuda on a machine that has one")
    rows = checkpointing(n_layers, D, D, rounds, a.device)
    print(f"## Gradient checkpointing: {n_layers} layers of width {D}, {D} rows, float32, {a.device} ({rounds} rounds in turns)\n")
    print("| variant | peak activations (MiB) | " + ("CUDA allocator peak (MiB) | " if a.device == "cuda" else "")
          + "time / none (min) | time / none (median) |\n|---|---|" + ("---|" if a.device == "cuda" else "") + "---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['peak_mib']:.2f} | " + (f"{r['cuda_peak_mib']:.2f} | " if a.device == "cuda" else "")
              + f"{r['time_min_ratio']:.2f} | {r['time_median_ratio']:.2f} |")
    mm = matmul_ratios(64 if a.quick else 512, rounds, a.device)
    print(f"\n## Matmul time against float32 ({a.device}): " + ", ".join(f"{k} {v:.2f}x" for k, v in mm.items()))
    xs, ys = digits(200 if a.quick else 1000)
    start = list(init_params(784, 32, generator=torch.Generator().manual_seed(0)))
    steps = 10 if a.quick else 30
    exponents = [0, 4, 8] if a.quick else list(range(0, 25))
    gaps, smallest = static_scaling(xs, ys, start, exponents, steps, a.match)
    print(f"\n## Static loss scaling, float16 (emulated by rounding), {steps} steps: the largest relative gap to float32's loss curve\n")
    print("| S | gap |\n|---|---|" + "".join(f"\n| 2^{k} | {g:.1e} |" for k, g in gaps.items()))
    print(f"\nsmallest S whose curve matches float32's (gap < {a.match:g}): " + (f"2^{smallest} = {2 ** smallest:g}" if smallest is not None else "none"))
    history, same = dynamic_scaling(xs, ys, start, 10 if a.quick else 20)
    agree = all(s == r for _, s, r in history)
    print(f"\n## Dynamic loss scaling: {sum(not t for t, _, _ in history)} of {len(history)} steps skipped; the scale of every step "
          f"{'equal to' if agree else 'DIFFERENT FROM'} torch.amp.GradScaler's; the weights {'equal' if same else 'DIFFERENT'}")
    result = dict(checkpointing=rows, matmul_ratio=mm, static_gaps={f"2^{k}": g for k, g in gaps.items()}, smallest_matching_exponent=smallest,
                  dynamic=dict(steps=len(history), skipped=sum(not t for t, _, _ in history), agrees_with_gradscaler=agree and same))
    if a.json: a.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
