"""Data parallel on P = 2 workers: chapter 13's hand-written step against DistributedDataParallel, side by side.

In one run, on the same model, the same batch and the same shards (a batch of 64 rows, 32 per worker), interleaved:
every round runs every variant once, each after a barrier that starts both workers together, so that a slow spell
of a shared machine hits all variants alike. The variants:
- ours, one bucket: `parallel_forward_and_backward`, the course's own backward pass on the worker's shard, then one
  all-reduce of all the gradients packed in a flat tensor (chapter 13's training step);
- ours, written out: `overlapped_forward_and_backward`, chapter 9's classifier as a data-parallel step (the classifier
  only; no input gradient, which nobody needs), with one bucket sent at the end, and with layer 2's bucket sent as soon
  as it exists (overlapped with layer 1's backward);
- DDP: `DistributedDataParallel` with its defaults (here one bucket: the gradients are < 1 MB), and with
  `gradient_as_bucket_view=True`; the forward and backward by autograd.
For each, on rank 0: the median and the fastest step, the median time spent waiting on communication (ours only; DDP
waits inside autograd's hooks), and the ratio to DDP's time: of the medians, and the median of the per-round ratios
("paired": each round runs both). Models: chapter 9's classifier (784-256-10, cross-entropy) and chapter 3's
regression MLP, as wide (784-256-1, mean squared error). float32, one torch thread per worker.

    .venv/bin/python bench/parallel.py                 # 200 rounds: about half a minute on 2 idle cores
    .venv/bin/python bench/parallel.py --quick         # 10 rounds, for the tests
    .venv/bin/python bench/parallel.py --json out.json

Prints a markdown table and, for the target of issue 16, the paired ratio of each of our steps to DDP (default) on the
classifier, and whether the fastest is <= 1.0. With CUDA present the workers use nccl (not run here: no GPU).
"""
import argparse
import json
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
from backprop.forward import init_params  # noqa: E402
from backprop.grads import forward_and_backward  # noqa: E402
from backprop.losses import classifier_forward_and_backward  # noqa: E402
from backprop.parallel import (TorchMLP, default_backend, overlapped_forward_and_backward,  # noqa: E402
                               parallel_forward_and_backward, run_workers, shard)

MODELS = {"classifier 784-256-10": (10, classifier_forward_and_backward, F.cross_entropy),
          "regression 784-256-1": (1, forward_and_backward, lambda out, y: F.mse_loss(out.squeeze(-1), y))}


def variants(rank, world_size, name, inp, targ, params):
    "{variant: step()} for one model: ours and DDP's, each on this worker's shard of the same batch."
    _, fwd_bwd, loss_fn = MODELS[name]
    start, end = shard(len(inp), rank, world_size)
    ddp = DistributedDataParallel(TorchMLP(*params))
    ddp_view = DistributedDataParallel(TorchMLP(*params), gradient_as_bucket_view=True)

    def ddp_step(model):
        model.zero_grad(set_to_none=True)
        loss_fn(model(inp[start:end]), targ[start:end]).backward()

    out = {"ours, one bucket": lambda w: parallel_forward_and_backward(inp, targ, *params, fwd_bwd=fwd_bwd, wait_times=w)}
    if fwd_bwd is classifier_forward_and_backward:
        out["ours, written out, one bucket"] = lambda w: overlapped_forward_and_backward(inp, targ, *params, overlap=False,
                                                                                        wait_times=w)
        out["ours, written out, overlapped"] = lambda w: overlapped_forward_and_backward(inp, targ, *params, wait_times=w)
    out["DDP"] = lambda w: ddp_step(ddp)
    out["DDP, gradient_as_bucket_view"] = lambda w: ddp_step(ddp_view)
    return {(name, v): f for v, f in out.items()}


def bench_worker(rank, world_size, data, rounds, hidden):
    "On each worker: every variant of every model once per round, after a barrier; its step and waiting times."
    steps = {}
    for name, (n_out, _, _) in MODELS.items():
        inp, targ = data[name]                      # on this worker's device (run_workers moved them)
        params = [p.to(inp.device) for p in init_params(784, hidden, n_out, generator=torch.Generator().manual_seed(0))]
        steps.update(variants(rank, world_size, name, inp, targ, params))
    times = {k: ([], []) for k in steps}
    for i in range(rounds + 1):                     # round 0 warms up: not recorded
        for k, step in steps.items():
            waits = []
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
    r = {v: summary[f"classifier 784-256-10 | ours, {v}"]["ratio_paired"]
         for v in ("one bucket", "written out, one bucket", "written out, overlapped")}
    best = min(r, key=r.get)
    lines.append(f"\nours / DDP on the classifier, paired over {rounds} rounds: " + ", ".join(f"{v} {x:.2f}x" for v, x in r.items())
                 + f"; the fastest, {best}: {r[best]:.2f}x (target <= 1.0: {'met' if r[best] <= 1.0 else 'NOT met'})")
    ov, no = (summary[f"classifier 784-256-10 | ours, written out, {v}"] for v in ("overlapped", "one bucket"))
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
    xb, yb = x_train[:args.bs], y_train[:args.bs]
    data = {"classifier 784-256-10": (xb, yb), "regression 784-256-1": (xb, yb.float())}
    start = time.time()
    times = run_workers(bench_worker, 2, data, rounds, args.hidden, timeout=60.)[0]     # rank 0's times
    table, summary = report(times, rounds)
    print(f"P = 2 workers ({default_backend()}), a batch of {args.bs} rows ({args.bs // 2} + {args.bs - args.bs // 2}), "
          f"hidden {args.hidden}, float32, {rounds} interleaved rounds, {time.time() - start:.1f} s\n")
    print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(dict(rounds=rounds, bs=args.bs, hidden=args.hidden, results=summary), indent=1))
    return summary


if __name__ == "__main__":
    main()
