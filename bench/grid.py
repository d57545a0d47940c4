"""The fast path against what a user would pick, on every shape: a grid of batch sizes, hidden widths and threads.

What a user would pick instead of `fast_forward_and_backward` is `nn.Linear` layers, `F.mse_loss` and
`loss.backward()`: "autograd" below. For each cell of the grid (the regression MLP 784 -> hidden -> 1 on `rows`
random rows, float32, torch on `threads` threads), in one run, interleaved (every round runs each of the three once,
the rounds in chapter 12's balanced orders: in each cycle of 6 rounds each of the three is twice first, twice
second, twice last, and twice right after each of the others; each on copies of its own of the data and weights, so
that none finds them in the cache because another just read them; the timer is chapter 12's `time_interleaved`):
- fast: `fast_forward_and_backward(x, y, w1, b1, w2, b2)`, the same weights in the course's (in, out) layout;
- autograd: `model.zero_grad(set_to_none=True)`, then `F.mse_loss(model(x).squeeze(-1), y).backward()`;
- floor: the matrix products that autograd runs for that step, alone, each into memory allocated once (forward
  x @ W1.t() and h @ W2.t(); backward g2.t() @ h, g2 @ W2 and g1.t() @ x; not the first layer's input gradient,
  which neither computes): what no step doing those products can go below, in nn.Linear's orientation.
Per cell: the median time of each, and the median of the per-round ratios ("paired": a slow spell of a shared
machine that hits one round hits both of its numbers) fast / autograd, autograd / floor and fast / floor.
The target of issue 22: fast <= 0.95x autograd; or, where autograd is already at the floor (then 0.95x autograd
would be below the floor), fast <= 1.02x the floor. The last column says which one a cell meets, or NOT met.

The clock: CPU time of this process on 1 thread (time that another program had the core does not count); wall time on
2 threads (CPU time would count a thread's spinning while it waits for the other). The number of rounds of a cell
follows a time budget (cycles of 6 until the budget is spent: at least 6 rounds, at most 204). Before timing, each cell
checks that the fast path's gradients are autograd's.

Two regimes. By default every timed call is one step, so each step runs right after another computation (which has
left the caches and the memory allocator as it used them). With `--steps 10` every timed call is 10 steps of the same
computation in a row, as in a training loop: each step but the first finds its own memory as its last step left it
(the step time is the call's over 10). The two can differ by several percent, and not for all three alike.

    .venv/bin/python bench/grid.py             # the full grid: a few minutes on 2 idle cores
    .venv/bin/python bench/grid.py --quick     # 4 small cells, for the tests: seconds
    .venv/bin/python bench/grid.py --rows 2048 --hidden 50 --threads 1   # one cell, to rerun one that looks off
    .venv/bin/python bench/grid.py --threads 1 --steps 10                # a training loop's steady state
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "1")      # as bench/run.py: before numpy is imported
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.testing import assert_close  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # the repo's backprop, when run from anywhere
from backprop.fast import balanced_orders, fast_forward_and_backward, paired_ratio, time_interleaved  # noqa: E402

N_IN = 784
ROWS, HIDDEN, THREADS = (32, 512, 2048, 8192, 50_000), (50, 256, 1024), (1, 2)
MAX_ROWS_X_HIDDEN = 50_000 * 256     # 50,000 rows x 1024 hidden (2 s a step on one thread, 160 GFLOP) is left out
QUICK = dict(rows=(32, 2048), hidden=(50,), threads=(1, 2), budget=0.3)
TARGET_AUTOGRAD, TARGET_FLOOR = 0.95, 1.02


def make_cell(rows, hidden, seed=0):
    "Random data, an nn.Linear model 784 -> hidden -> 1, and its weights in the course's layout (w: (in, out))."
    gen = torch.Generator().manual_seed(seed)
    x, y = torch.randn(rows, N_IN, generator=gen), torch.randn(rows, generator=gen)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(N_IN, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    params = [t for lin in (model[0], model[2]) for t in (lin.weight.detach().t().contiguous(), lin.bias.detach().clone())]
    return x, y, model, params


def autograd_step(model, x, y):
    "What a user writes: clear the gradients, forward, loss, backward."
    model.zero_grad(set_to_none=True)
    loss = F.mse_loss(model(x).squeeze(-1), y)
    loss.backward()
    return loss


def products(model, rows):
    "The matrix products of autograd's step alone, in nn.Linear's orientation, each into an output allocated once."
    W1, W2 = [lin.weight.detach().clone() for lin in (model[0], model[2])]   # weights of its own, as data of its own
    gen = torch.Generator().manual_seed(1)
    x, g2 = torch.randn(rows, W1.shape[1], generator=gen), torch.randn(rows, W2.shape[0], generator=gen)
    h, g1 = torch.randn(rows, W1.shape[0], generator=gen), torch.randn(rows, W1.shape[0], generator=gen)
    z1, z2, dW2, dh, dW1 = (torch.empty(s) for s in ((rows, W1.shape[0]), (rows, W2.shape[0]), W2.shape, h.shape, W1.shape))
    def run():
        torch.mm(x, W1.t(), out=z1); torch.mm(h, W2.t(), out=z2)                    # forward
        torch.mm(g2.t(), h, out=dW2); torch.mm(g2, W2, out=dh); torch.mm(g1.t(), x, out=dW1)   # backward
    return run


def check_cell(x, y, model, params):
    "The fast path's loss and gradients against autograd's, before anything is timed (float32 tolerances)."
    loss = autograd_step(model, x, y)
    fast_loss = fast_forward_and_backward(x, y, *params)
    assert_close(fast_loss, loss.detach(), rtol=1e-4, atol=1e-5)
    grads = [g for lin in (model[0], model[2]) for g in (lin.weight.grad.t(), lin.bias.grad)]
    for p, g in zip(params, grads, strict=True): assert_close(p.g, g, rtol=1e-4, atol=1e-5)


def in_a_row(fn, steps):
    "A function of nothing that calls `fn` `steps` times in a row: its time over `steps` is a step's in a training loop."
    if steps == 1: return fn
    def run():
        for _ in range(steps): fn()
    return run


def time_cell(rows, hidden, threads, budget, steps=1, min_rounds=6, max_rounds=204):
    "Interleaved rounds of fast, autograd and floor on one cell, each `steps` in a row: {name: [seconds a step, ...]}."
    torch.set_num_threads(threads)
    x, y, model, params = make_cell(rows, hidden)
    check_cell(x, y, model, params)
    own = [(x.clone(), y.clone()) for _ in range(2)]                  # each step its own copies of the data
    fns = {"fast": lambda: fast_forward_and_backward(*own[0], *params),
           "autograd": lambda: autograd_step(model, *own[1]),
           "floor": products(model, rows)}
    fns = {name: in_a_row(fn, steps) for name, fn in fns.items()}
    clock = time.process_time if threads == 1 else time.perf_counter
    cycle = len(balanced_orders(len(fns)))                            # 6 rounds for 3 computations
    times, start = {name: [] for name in fns}, time.perf_counter()
    # Whole cycles of rounds (each after one untimed call of each function; each cycle its own sequence of the orders)
    # until the budget is spent: a busy machine, where 2 threads wait for each other at every call, gets fewer rounds,
    # never a run many times the budget.
    while len(times["fast"]) < min_rounds or (len(times["fast"]) < max_rounds and time.perf_counter() - start < budget):
        seed = len(times["fast"]) // cycle                           # each cycle its own sequence of the orders
        for name, ts in time_interleaved(fns, cycle, clock=clock, seed=seed).items(): times[name] += [t / steps for t in ts]
    return times


def cell_row(rows, hidden, threads, times):
    "One cell's medians, paired ratios, and which target it meets."
    f, a, fl = times["fast"], times["autograd"], times["floor"]
    r = dict(rows=rows, hidden=hidden, threads=threads, rounds=len(f),
             fast_ms=statistics.median(f) * 1e3, autograd_ms=statistics.median(a) * 1e3, floor_ms=statistics.median(fl) * 1e3,
             fast_autograd=paired_ratio(f, a), autograd_floor=paired_ratio(a, fl), fast_floor=paired_ratio(f, fl))
    r["target"] = (f"<= {TARGET_AUTOGRAD}x autograd" if r["fast_autograd"] <= TARGET_AUTOGRAD else
                   f"<= {TARGET_FLOOR}x floor" if r["fast_floor"] <= TARGET_FLOOR else "NOT met")
    return r


def table(results):
    "The markdown table of the cells, and a line that counts them by target."
    lines = ["| rows | hidden | threads | rounds | autograd ms | fast / autograd | autograd / floor | fast / floor | target |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        lines.append(f"| {r['rows']} | {r['hidden']} | {r['threads']} | {r['rounds']} | {r['autograd_ms']:.3f} | "
                     f"{r['fast_autograd']:.2f} | {r['autograd_floor']:.2f} | {r['fast_floor']:.2f} | {r['target']} |")
    counts = {t: sum(r["target"] == t for r in results) for t in dict.fromkeys(r["target"] for r in results)}
    return "\n".join(lines) + "\n\n" + ", ".join(f"{t}: {n} cell(s)" for t, n in counts.items())


def main(argv=None, show=True):
    "Run the grid that `argv` asks for; print its table (with `show`) and return the cells."
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="4 small cells, 0.3 s each (the tests)")
    p.add_argument("--rows", type=int, nargs="+", help=f"batch sizes (default {ROWS})")
    p.add_argument("--hidden", type=int, nargs="+", help=f"hidden widths (default {HIDDEN})")
    p.add_argument("--threads", type=int, nargs="+", help=f"torch threads (default {THREADS})")
    p.add_argument("--budget", type=float, help="seconds of rounds per cell (default 2, quick 0.3)")
    p.add_argument("--steps", type=int, default=1, help="steps in a row per timed call (default 1: each step after "
                   "another computation's; 10: a training loop's steady state, each step after its own last one)")
    p.add_argument("--json", type=Path, help="also write the cells here")
    args = p.parse_args(argv)
    grid = QUICK if args.quick else dict(rows=ROWS, hidden=HIDDEN, threads=THREADS, budget=2.)
    rows, hidden, threads = args.rows or grid["rows"], args.hidden or grid["hidden"], args.threads or grid["threads"]
    budget = args.budget or grid["budget"]
    if min(rows) < 1 or min(hidden) < 1 or min(threads) < 1 or budget <= 0 or args.steps < 1:
        p.error("--rows, --hidden, --threads, --steps must be positive ints and --budget > 0")
    n_threads, start, load = torch.get_num_threads(), time.time(), os.getloadavg()[0]
    try:
        cells = [(n, h, t) for t in threads for h in hidden for n in rows if args.rows or n * h <= MAX_ROWS_X_HIDDEN]
        results = [dict(cell_row(n, h, t, time_cell(n, h, t, budget, args.steps)), steps=args.steps) for n, h, t in cells]
    finally: torch.set_num_threads(n_threads)
    if show:
        print(f"torch {torch.__version__}, fast_forward_and_backward against nn.Linear + F.mse_loss + backward(), "
              f"784 -> hidden -> 1, float32; paired medians of interleaved rounds (CPU time on 1 thread, wall on 2), "
              f"{args.steps} step(s) in a row per timed call; "
              f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after; {time.time() - start:.0f} s\n", flush=True)
        print(table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
