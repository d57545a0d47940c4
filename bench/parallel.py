"""Data parallel on P = 2 workers: chapter 13's steps against DistributedDataParallel, side by side.

In one run, interleaved: every round runs every variant once, each after a barrier that starts both workers together,
so that a slow spell of a shared machine hits all variants alike, each round in another order (chapter 12's balanced orders,
the same on both workers: each variant as often in each place, and right after each other one as often). Two workers, one torch thread each, float32. Models:
- chapter 9's classifier (784-256-10, cross-entropy) on a batch of 64 rows (32 per worker; `--bs`, `--hidden`):
  - ours, one bucket: `parallel_forward_and_backward` with chapter 9's backward pass, then one all-reduce of all the
    gradients packed in a flat tensor;
  - ours, written out: `overlapped_forward_and_backward` (no input gradient), one bucket sent at the end, and
    layer 2's bucket sent as soon as it exists (overlapped with layer 1's backward);
  - DDP on `TorchMLP` (the course's MLP as an nn.Module), with its defaults and with `gradient_as_bucket_view=True`;
- chapter 3's regression MLP (784-50-1, mean squared error) at 32 and at 2,048 rows per worker (batches of 64 and
  4,096), the step of issue 22:
  - ours, default step: `parallel_forward_and_backward(inp, targ, *params)`: chapter 12's fast path (no input
    gradient), then one all-reduce; and with chapter 3's pass, the default before issue 22 (with the input gradient);
  - DDP on what a user would pick, `nn.Sequential(nn.Linear, nn.ReLU, nn.Linear)` with `F.mse_loss`, with its defaults
    and with `gradient_as_bucket_view=True`.
For each, on rank 0: the median and the fastest step, the median time spent waiting on communication (ours only; DDP
waits inside autograd's hooks), and the ratio to DDP's time (the model's DDP with its defaults): of the medians, and the
median of the per-round ratios ("paired": each round runs both). Then the two targets: ours / DDP on the classifier
(issue 16: the fastest of ours <= 1.0) and the default step / DDP on the regression MLP (issue 22: <= 0.90 at both
sizes).

    .venv/bin/python bench/parallel.py                 # 200 rounds: about a minute on 2 idle cores
    .venv/bin/python bench/parallel.py --quick         # 10 rounds, for the tests
    .venv/bin/python bench/parallel.py --json out.json

With CUDA present the workers use nccl (not run here: no GPU).
"""
import argparse
import json
import random
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))    # the repo's backprop, when run from anywhere
from backprop.data import load_mnist_sample, normalise, train_valid_split  # noqa: E402
from backprop.fast import balanced_orders  # noqa: E402
from backprop.forward import init_params  # noqa: E402
from backprop.grads import forward_and_backward  # noqa: E402
from backprop.losses import classifier_forward_and_backward  # noqa: E402
from backprop.parallel import (TorchMLP, default_backend, overlapped_forward_and_backward,  # noqa: E402
                               parallel_forward_and_backward, run_workers, shard)

CLASSIFIER = "classifier 784-256-10"
REGRESSION = {"regression 784-50-1, 32 rows/worker": 64, "regression 784-50-1, 2048 rows/worker": 4096}   # name: batch


def linear_model(w1, b1, w2, b2):
    "What a user would pick: nn.Linear layers, with our weights (nn.Linear keeps W as (out, in): our w.t())."
    model = torch.nn.Sequential(torch.nn.Linear(*w1.shape), torch.nn.ReLU(), torch.nn.Linear(*w2.shape)).to(w1.device)
    with torch.no_grad():
        for layer, w, b in ((model[0], w1, b1), (model[2], w2, b2)): layer.weight.copy_(w.t()); layer.bias.copy_(b)
    return model


def variants(rank, world_size, name, inp, targ, params):
    "{variant: step(wait_times)} for one model: ours and DDP's, each on this worker's shard of the same batch."
    start, end = shard(len(inp), rank, world_size)
    classifier = name.startswith("classifier")
    module, loss_fn = (TorchMLP, F.cross_entropy) if classifier else (linear_model, lambda out, y: F.mse_loss(out.squeeze(-1), y))
    ddp = DistributedDataParallel(module(*params))
    ddp_view = DistributedDataParallel(module(*params), gradient_as_bucket_view=True)

    def ddp_step(model):
        model.zero_grad(set_to_none=True)
        loss_fn(model(inp[start:end]), targ[start:end]).backward()

    if classifier:
        out = {"ours, one bucket": lambda w: parallel_forward_and_backward(
                   inp, targ, *params, fwd_bwd=classifier_forward_and_backward, wait_times=w),
               "ours, written out, one bucket": lambda w: overlapped_forward_and_backward(
                   inp, targ, *params, overlap=False, wait_times=w),
               "ours, written out, overlapped": lambda w: overlapped_forward_and_backward(inp, targ, *params, wait_times=w)}
    else: out = {"ours, default step": lambda w: parallel_forward_and_backward(inp, targ, *params, wait_times=w),
                 "ours, chapter 3's pass (the default before)": lambda w: parallel_forward_and_backward(
                     inp, targ, *params, fwd_bwd=forward_and_backward, wait_times=w)}
    out["DDP"] = lambda w: ddp_step(ddp)
    out["DDP, gradient_as_bucket_view"] = lambda w: ddp_step(ddp_view)
    return {(name, v): f for v, f in out.items()}


def bench_worker(rank, world_size, data, rounds, hidden):
    "On each worker: every variant of every model once per round, after a barrier; its step and waiting times."
    steps = {}
    for name, (inp, targ) in data.items():          # on this worker's device (run_workers moved them)
        sizes = (784, hidden, 10) if name == CLASSIFIER else (784, 50, 1)
        params = [p.to(inp.device) for p in init_params(*sizes, generator=torch.Generator().manual_seed(0))]
        steps.update(variants(rank, world_size, name, inp, targ, params))
    times, rng, orders, names = {k: ([], []) for k in steps}, random.Random(0), [], list(steps)  # seeded: both alike
    for i in range(rounds + 1):                     # round 0 warms up: not recorded
        if not orders: orders = balanced_orders(len(names)); rng.shuffle(orders)   # a cycle of chapter 12's design
        for k in [names[j] for j in orders.pop()]:  # each round in the next order
            step, waits = steps[k], []
            dist.barrier()
            start = time.perf_counter()
            step(waits)
            took = time.perf_counter() - start
            if i:
                times[k][0].append(took)
                times[k][1].append(sum(waits) if waits else float("nan"))
    return times


def report(times, rounds):
    "The markdown table, and the target line: ours (one bucket) / DDP on the classifier, paired."
    lines = ["| model | variant | median | fastest | waiting (median) | / DDP, medians | / DDP, paired |",
             "|---|---|---:|---:|---:|---:|---:|"]
    summary = {}
    for (model, variant), (steps, waits) in times.items():
        ddp = times[(model, "DDP")][0]
        med, ratio = statistics.median(steps), statistics.median(steps) / statistics.median(ddp)
        paired = statistics.median(a / b for a, b in zip(steps, ddp))
        wait = statistics.median(waits)
        summary[f"{model} | {variant}"] = dict(median_ms=med * 1e3, fastest_ms=min(steps) * 1e3,
                                               waiting_ms=None if wait != wait else wait * 1e3,
                                               ratio_medians=ratio, ratio_paired=paired)
        lines.append(f"| {model} | {variant} | {med * 1e3:.2f} ms | {min(steps) * 1e3:.2f} ms | "
                     + ("" if wait != wait else f"{wait * 1e3:.2f} ms") + f" | {ratio:.2f}x | {paired:.2f}x |")
    r = {v: summary[f"{CLASSIFIER} | ours, {v}"]["ratio_paired"]
         for v in ("one bucket", "written out, one bucket", "written out, overlapped")}
    best = min(r, key=r.get)
    lines.append(f"\nours / DDP on the classifier, paired over {rounds} rounds: " + ", ".join(f"{v} {x:.2f}x" for v, x in r.items())
                 + f"; the fastest, {best}: {r[best]:.2f}x (issue 16's target <= 1.0: {'met' if r[best] <= 1.0 else 'NOT met'})")
    for name in REGRESSION:
        x = summary[f"{name} | ours, default step"]["ratio_paired"]
        lines.append(f"the default step / DDP (nn.Linear) on the {name}, paired: {x:.2f}x "
                     f"(issue 22's target <= 0.90: {'met' if x <= 0.90 else 'NOT met'})")
    ov, no = (summary[f"{CLASSIFIER} | ours, written out, {v}"] for v in ("overlapped", "one bucket"))
    lines.append(f"overlap (written out): {no['median_ms']:.2f} ms -> {ov['median_ms']:.2f} ms a step "
                 f"(waiting {no['waiting_ms']:.2f} ms -> {ov['waiting_ms']:.2f} ms)")
    return "\n".join(lines), summary


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=200, help="timed rounds (default 200)")
    p.add_argument("--quick", action="store_true", help="10 rounds")
    p.add_argument("--bs", type=int, default=64, help="the batch, split across the 2 workers (default 64)")
    p.add_argument("--hidden", type=int, default=256, help="hidden width (default 256)")
    p.add_argument("--json", type=Path, help="also write the numbers here")
    args = p.parse_args(argv)
    rounds = 10 if args.quick else args.rounds
    if rounds < 1 or args.bs < 2 or args.hidden < 1:
        p.error("--rounds, --hidden must be >= 1 and --bs >= 2 (a row per worker)")
    import torch._dynamo  # noqa: F401   DDP imports it when it wraps a model: once here, the forked workers inherit it
    x_train, y_train, x_valid, _ = train_valid_split(*load_mnist_sample())
    x_train = normalise(x_train, x_valid)[0]
    data = {CLASSIFIER: (x_train[:args.bs], y_train[:args.bs])}
    data.update({name: (x_train[:n], y_train[:n].float()) for name, n in REGRESSION.items()})
    start = time.time()
    times = run_workers(bench_worker, 2, data, rounds, args.hidden, timeout=60.)[0]     # rank 0's times
    table, summary = report(times, rounds)
    print(f"P = 2 workers ({default_backend()}), one thread each; the classifier on a batch of {args.bs} rows ({args.bs // 2} "
          f"+ {args.bs - args.bs // 2}), hidden {args.hidden}; float32, {rounds} interleaved rounds, {time.time() - start:.1f} s\n")
    print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(dict(rounds=rounds, bs=args.bs, hidden=args.hidden, results=summary), indent=1))
    return summary


if __name__ == "__main__":
    main()
