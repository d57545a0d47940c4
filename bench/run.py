"""How fast is our backward pass? The package's forward+backward against torch autograd, side by side.

In one run, interleaved (every round runs every variant once) and repeated, for each model:
- the min and median time of each variant, and its ratio to torch autograd doing the same gradients:
  the ratio of the medians, of the mins, and the median of the per-round ratios ("paired": each round
  runs both, so a slow spell of a shared machine that hits both cancels out);
- the FLOPs of the matrix products it must do (`backprop.fast.matmul_flops`) and its % of the FLOP
  bound: the time those FLOPs take at the machine's matmul rate, divided by its time. The rate is
  that of a square-ish matmul timed in the same rounds, and each is compared like for like: the
  matmul's best round with the variant's best round ("% of bound (best)": both at the machine's
  fastest), and its median round with the variant's median ("% of bound (medians)": on a shared
  machine the other processes slow both alike);
- its % of its own products: the same products at the model's own shapes, timed alone in the same
  rounds, divided by its median time (skinny products run slower than square ones: this is the
  bound a forward+backward can actually reach). Below the table, the floor: the model's products
  alone over autograd's median, the lowest ratio to autograd that any variant doing those products
  (on whole-batch inputs) can reach;
- its peak extra memory, measured in a fresh process per variant (`--memory-child`).
Prints a markdown table; `--plot PATH` also saves a bar chart of the ratios.

Appendix 95 imports this file for its live measurements (`ratio_table`, `peak_extra_mib`, `saved_mib`, `cache_sizes`),
so that it shows what is measured and this file how. The interleaved timer is chapter 12's `time_interleaved`
(backprop.fast: a warm-up call each, then rounds in balanced orders). bench/grid.py compares the fast path with
nn.Linear + autograd over batch sizes, widths and threads.

    .venv/bin/python bench/run.py            # the sizes of issue 8: a minute or two on 2 idle cores
    .venv/bin/python bench/run.py --quick    # small sizes, seconds: for the chapter and the tests
    .venv/bin/python bench/run.py --device cuda --plot images/bench.png

Models: mnist (N=50000, 784->50->1) and wide (N=4096, 1024->1024->1024->1), where chapter 3's code
for 3 layers is its functions called in a loop; broadcast (N=4000, 784->50->1) adds chapter 3's
broadcast form of w.g, which would need 7.3 GiB at N=50000. The data are random tensors of the
right shapes (timings do not depend on the values); float32.
"""
import os

# Idle OpenBLAS threads (numpy's, when numpy shares the process with torch) spin and steal the
# cores from torch; this makes them sleep after a moment. Must be set before numpy is imported.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

import backprop.fast as fast  # noqa: E402
from backprop.fast import fast_forward_and_backward, matmul_flops, paired_ratio  # noqa: E402
from backprop.forward import lin, relu, mse  # noqa: E402
from backprop.grads import mse_grad, relu_grad, lin_grad, forward_and_backward  # noqa: E402

# name: (N, layer widths, variants). The broadcast form of w.g needs N * 784 * 50 floats, so it runs at
# the course's training-set size (4,000 rows: 598 MiB of products), not at 50,000 rows (7.3 GiB).
FULL = {"mnist": (50_000, (784, 50, 1), "main"),
        "wide": (4096, (1024, 1024, 1024, 1), "main"),
        "broadcast": (4000, (784, 50, 1), "broadcast")}
QUICK = {"mnist": (2000, (784, 50, 1), "main"),
         "wide": (256, (256, 256, 256, 1), "main"),
         "broadcast": (500, (784, 50, 1), "broadcast")}
# The shape at which we measure the machine's matmul rate: one layer of the 1024-wide model.
RATE_SHAPE = {"full": (4096, 1024, 1024), "quick": (256, 256, 256)}


# ---- the variants: each does one forward and backward pass, leaving gradients on its tensors ----

def autograd_step(inp, targ, *params):
    "torch autograd on the same model, written as nn.Linear computes it (addmm); `.grad` on every leaf."
    for t in (inp, *params): t.grad = None
    x = inp
    for i in range(0, len(params), 2):
        x = torch.addmm(params[i + 1], x, params[i])
        if i + 2 < len(params): x = torch.relu(x)
    loss = mse(x, targ)
    loss.backward()
    return loss


def chapter3_step(inp, targ, *params):
    "Chapter 3's functions: `forward_and_backward` for 2 layers; for more, the same calls in a loop."
    if len(params) == 4: return forward_and_backward(inp, targ, *params)
    acts, outs = [inp], []                     # the input and the output (before relu) of each layer
    for i in range(0, len(params), 2):
        outs.append(lin(acts[-1], params[i], params[i + 1]))
        acts.append(relu(outs[-1]) if i + 2 < len(params) else outs[-1])
    loss = mse(outs[-1], targ)
    mse_grad(outs[-1], targ)
    for k in reversed(range(len(outs))):
        lin_grad(acts[k], outs[k], params[2 * k], params[2 * k + 1])
        if k > 0: relu_grad(outs[k - 1], acts[k])
    return loss


def fast_into_buffer(inp, targ, *params, buffer):
    "The fast path writing inp.g into `buffer`, which is made once and reused by every step (appendix 95)."
    return fast_forward_and_backward(inp, targ, *params, input_grad=buffer)


def lin_grad_broadcast(inp, out, w, b):
    "`lin_grad` with w.g as the literal sum of products of chapter 3: an (N, n_in, n_out) tensor, summed over N."
    g = out.g                                             # set by the call before, as in chapter 3's chain
    inp.g = g @ w.t()
    w.g = (inp.unsqueeze(-1) * g.unsqueeze(1)).sum(0)     # (N, n_in, 1) * (N, 1, n_out) -> (N, n_in, n_out) -> sum
    b.g = g.sum(0)


def broadcast_step(inp, targ, *params):
    "`forward_and_backward` of chapter 3 with the broadcast w.g (2 layers)."
    w1, b1, w2, b2 = params
    l1 = lin(inp, w1, b1); l2 = relu(l1); out = lin(l2, w2, b2)
    loss = mse(out, targ)
    mse_grad(out, targ); lin_grad_broadcast(l2, out, w2, b2); relu_grad(l1, l2); lin_grad_broadcast(inp, l1, w1, b1)
    return loss


# name: (step, input gradient?, uses autograd?, which size kinds)
VARIANTS = {
    "autograd": (autograd_step, False, True, "main"),
    "fast, one block": (lambda i, t, *p: fast_forward_and_backward(i, t, *p, block_rows=len(i)), False, False, "main"),
    "fast": (fast_forward_and_backward, False, False, "main"),
    "autograd, input grad": (autograd_step, True, True, "main broadcast"),
    "chapter 3, input grad": (chapter3_step, True, False, "main broadcast"),
    "fast, input grad": (lambda i, t, *p: fast_forward_and_backward(i, t, *p, input_grad=True), True, False, "main"),
    "fast, input grad, reused buffer": (fast_into_buffer, True, False, "main"),
    "broadcast w.g, input grad": (broadcast_step, True, False, "broadcast"),
}


def variants_for(kind):
    return [name for name, v in VARIANTS.items() if kind in v[3].split()]


def baseline(name):
    "The autograd variant that computes the same gradients as `name`."
    return "autograd, input grad" if VARIANTS[name][1] else "autograd"


def make_data(n, sizes, device, seed=0):
    "Random input (n, sizes[0]), target (n,), and Kaiming-scaled weights, zero biases, in float32."
    gen = torch.Generator().manual_seed(seed)
    inp, targ = torch.randn(n, sizes[0], generator=gen), torch.randn(n, generator=gen)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        params += [torch.randn(n_in, n_out, generator=gen) * (2 / n_in) ** 0.5, torch.zeros(n_out)]
    return inp.to(device), targ.to(device), [p.to(device) for p in params]


def on_own_copies(step, inp, targ, params, input_requires_grad=None, buffer=False):
    """step(inp, targ, *params) as a function of nothing, on copies of its own, and the copies that get gradients.
    No other step reads those copies, so none finds the data in the cache because the step before it just read them.
    `input_requires_grad` is for autograd's steps: the parameters then require a gradient, and the input if True.
    `buffer`: also pass `buffer=`, a tensor of inp's shape made here, once, like the data (`fast_into_buffer`)."""
    inp, targ, params = inp.clone(), targ.clone(), [p.clone() for p in params]
    if input_requires_grad is not None:
        inp.requires_grad_(input_requires_grad)
        for p in params: p.requires_grad_()
    kw = dict(buffer=torch.empty_like(inp)) if buffer else {}
    return (lambda: step(inp, targ, *params, **kw)), [inp, *params]


def prepare(name, inp, targ, params):
    "One step of variant `name` as a function of nothing, on copies of its own, and the tensors that get gradients."
    step, input_grad, uses_autograd, _ = VARIANTS[name]
    return on_own_copies(step, inp, targ, params, input_grad if uses_autograd else None, buffer=step is fast_into_buffer)


def sync(device):
    if device.startswith("cuda"): torch.cuda.synchronize()


CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCK["wall"]


def time_interleaved(fns, reps, device="cpu", on=None):
    """{name: [seconds, ...]}: chapter 12's interleaved timer (a warm-up call each, then `reps` rounds, each in the next
    order), on the clock `on` (default `clock`), each call between two synchronisations of the device."""
    if device.startswith("cuda"): fns = {name: (lambda f=f: (sync(device), f(), sync(device))) for name, f in fns.items()}
    return fast.time_interleaved(fns, reps, clock=on or clock)


def model_matmuls(n, widths, device):
    "The model's products, each timed alone into a preallocated output: (layer 1's input gradient, [the others])."
    gen, rest = torch.Generator().manual_seed(2), []
    def mm(p, q, transposed=False):                                    # (p, q) shapes -> a timed product
        a, b = torch.randn(*p, generator=gen).to(device), torch.randn(*q, generator=gen).to(device)
        if transposed: a = a.t()                                       # w.g = inp.t() @ g: a transposed view, as the variants
        c = torch.empty(a.shape[0], q[1], device=device)
        return lambda: torch.mm(a, b, out=c)
    for k, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        rest.append(mm((n, n_in), (n_in, n_out)))                      # forward: inp @ w
        rest.append(mm((n, n_in), (n, n_out), transposed=True))        # w.g = inp.t() @ g: (n_in, N) @ (N, n_out)
        if k > 0: rest.append(mm((n, n_out), (n_out, n_in)))           # inp.g = g @ w.t()
    return mm((n, widths[1]), (widths[1], widths[0])), rest


def bench_times(sizes_table, rate_shape, reps, device):
    """Interleaved, repeated timings: {(size, variant): [seconds, ...]}, the rate matmul's [seconds, ...], and
    {size: ([seconds of the model's products without, with the first layer's input gradient], ...)} per round."""
    gen = torch.Generator().manual_seed(1)
    m, k, n = rate_shape
    a, b = torch.randn(m, k, generator=gen).to(device), torch.randn(k, n, generator=gen).to(device)
    c = torch.empty(m, n, device=device)
    times, mm_times, alone = {}, [], {}
    for size, (n_rows, widths, kind) in sizes_table.items():
        inp, targ, params = make_data(n_rows, widths, device)
        first_inp_grad, products = model_matmuls(n_rows, widths, device)
        fns = {" matmul": lambda: torch.mm(a, b, out=c), " products": lambda: [f() for f in products],
               " first input grad": first_inp_grad, **{name: prepare(name, inp, targ, params)[0] for name in variants_for(kind)}}
        ts = time_interleaved(fns, reps, device)
        mm_times += ts.pop(" matmul")
        alone[size] = [(p, p + g) for p, g in zip(ts.pop(" products"), ts.pop(" first input grad"), strict=True)]
        times.update({(size, name): t for name, t in ts.items()})
        del fns, ts, inp, targ, params, products, first_inp_grad; gc.collect()
    return times, mm_times, alone


# ---- peak memory, one fresh process per variant ----

def _status_mib(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key): return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def memory_child(size, name, quick, device):
    "In this (fresh) process: peak memory of one step of `name` above what its data and model hold, in MiB."
    if not device.startswith("cuda"):                       # big buffers go back to the OS when freed, as
        import ctypes                                       # MALLOC_MMAP_THRESHOLD_ would do (M_MMAP_THRESHOLD = -3)
        ctypes.CDLL("libc.so.6").mallopt(-3, 65536)         # (so a variant measured before leaves nothing behind)
    gc.collect()
    n_rows, widths, _ = (QUICK if quick else FULL)[size]
    inp, targ, params = make_data(n_rows, widths, device)
    f, leaves = prepare(name, inp, targ, params)
    f()                                                     # warm-up, then drop its gradients
    for t in leaves: t.grad = None; t.g = None
    gc.collect()
    if device.startswith("cuda"):
        sync(device); torch.cuda.reset_peak_memory_stats(); before = torch.cuda.memory_allocated()
        f(); sync(device)
        return (torch.cuda.max_memory_allocated() - before) / 2**20
    before = _status_mib("VmRSS:")
    Path("/proc/self/clear_refs").write_text("5")          # reset the peak (VmHWM) to the current RSS
    f()
    return _status_mib("VmHWM:") - before


def peak_memory(sizes_table, quick, device, models, threads):
    "{(size, variant): MiB} for the `models` named, each from its own process; None where it failed."
    jobs = [(size, name) for size, (_, _, kind) in sizes_table.items() if size in models for name in variants_for(kind)]
    return peak_extra_mib(jobs, quick, device, threads)


def peak_extra_mib(jobs, quick=True, device="cpu", threads=1, parallel=2, one_process=False):
    """{(model, variant): MiB}: the peak extra memory of one step of each variant, measured in a fresh process
    (`--memory-child`), so that what this process holds cannot count; None where it failed. Each job gets a process
    of its own (the benchmark), `parallel` at a time, or with `one_process` all run in turn in one (quicker: chapter 12;
    the big buffers of one go back to the system before the next is measured)."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")  # big buffers go back to the OS when freed
    out, running = {}, []
    def finish(group, proc):
        stdout, stderr = proc.communicate(timeout=600)
        mib = json.loads(stdout.strip().splitlines()[-1]) if proc.returncode == 0 else [None] * len(group)
        out.update(zip(group, mib, strict=True))
        if proc.returncode: print(f"memory of {group} failed:\n{stderr[-2000:]}", file=sys.stderr)
    for group in ([list(jobs)] if one_process else [[job] for job in jobs]):
        if len(running) >= parallel: finish(*running.pop(0))
        cmd = [sys.executable, __file__, "--memory-child", *[x for job in group for x in job],
               "--device", device, "--threads", str(threads)]
        running.append((group, subprocess.Popen(cmd + (["--quick"] if quick else []), env=env, text=True,
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
    for group, proc in running: finish(group, proc)
    return out


def saved_mib(step, *args):
    "MiB of the tensors that autograd saves for the backward during step(*args), besides the args' own memory."
    own, saved = {a.untyped_storage().data_ptr() for a in args}, {}
    def pack(t):                                       # called for each tensor as autograd saves it
        s = t.untyped_storage()
        if s.data_ptr() not in own: saved[s.data_ptr()] = s.nbytes()   # one entry per memory: views share theirs
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t): step(*args)
    return sum(saved.values()) / 2**20


# ---- the machine's caches ----

def _cpus(text):
    "How many CPUs a list such as '0-3,8' names."
    return sum(int(b or a) - int(a) + 1 for a, _, b in (part.partition("-") for part in text.strip().split(",")))


def cache_sizes(cpu=0, sys_cpu="/sys/devices/system/cpu"):
    """The data caches of a CPU, read from Linux's /sys: [{"level", "bytes", "cpus" (how many CPUs share one)}, ...],
    smallest first; [] where /sys does not say (not Linux). Per instance, unlike lscpu's totals."""
    caches = []
    for d in sorted(Path(sys_cpu, f"cpu{cpu}", "cache").glob("index*")):
        try:
            if (d / "type").read_text().strip() == "Instruction": continue
            size = (d / "size").read_text().strip()                    # e.g. 48K, 2048K, 32M
            scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(size[-1], 1)
            caches.append(dict(level=int((d / "level").read_text()), bytes=int(size.rstrip("KMG")) * scale,
                               cpus=_cpus((d / "shared_cpu_list").read_text())))
        except (OSError, ValueError): continue                         # a cache that does not say all of it
    return sorted(caches, key=lambda c: c["level"])


def describe_caches(caches):
    "'L1 48 KiB per core, L2 2 MiB per core, L3 105 MiB shared by 2', or 'caches unknown'."
    def size(b): return f"{b / 2**20:g} MiB" if b >= 2**20 else f"{b / 2**10:g} KiB"
    return ", ".join(f"L{c['level']} {size(c['bytes'])} " + ("per core" if c["cpus"] == 1 else f"shared by {c['cpus']}")
                     for c in caches) or "caches unknown"


# ---- tables ----

def ratio_table(versions, inp, targ, params, reps, title):
    """Time each version, interleaved, in CPU time, on copies of its own of the data: a markdown table of its median
    time and its ratio to the version it is compared with, of the medians and paired (the median of the per-round
    ratios: a slow spell that hits both rounds cancels out). `versions`: {name: (step, name of the version it is
    compared with, whether autograd's input requires a gradient, or None for a step that is not autograd's)}."""
    steps = {name: on_own_copies(step, inp, targ, params, requires)[0] for name, (step, _, requires) in versions.items()}
    times = time_interleaved(steps, reps, on=time.process_time)
    lines = [f"| {title} | median CPU ms | / its autograd row (medians) | / its autograd row (paired) |", "|---|---:|---:|---:|"]
    for name, (_, base, _) in versions.items():
        ts, bs = times[name], times[base]
        lines.append(f"| {name} | {statistics.median(ts) * 1e3:.1f} | {statistics.median(ts) / statistics.median(bs):.2f} | "
                     f"{paired_ratio(ts, bs):.2f} |")
    return "\n".join(lines)


# ---- the report ----

def report(sizes_table, times, mm_times, alone, rate_shape, memory, device, reps, load):
    "The markdown table (and a line on the machine), and the rows as dicts."
    m, k, n = rate_shape
    rate = 2 * m * k * n / min(mm_times)                    # FLOP/s of the fastest matmul: the machine's best, for variants' best
    rate_median = 2 * m * k * n / statistics.median(mm_times)   # ... of the median one: as busy as the variants' medians
    rows = []
    for size, (n_rows, widths, kind) in sizes_table.items():
        for name in variants_for(kind):
            ts = times[(size, name)]
            base_ts = times[(size, baseline(name))]
            med, base = statistics.median(ts), statistics.median(base_ts)
            flops = sum(matmul_flops(n_rows, widths, input_grad=VARIANTS[name][1]))
            products = statistics.median(r[VARIANTS[name][1]] for r in alone[size])   # its products, timed alone
            rows.append(dict(model=size, shape=f"N={n_rows}, {'->'.join(map(str, widths))}", variant=name,
                             min_ms=min(ts) * 1e3, median_ms=med * 1e3, ratio=med / base, ratio_min=min(ts) / min(base_ts),
                             ratio_paired=paired_ratio(ts, base_ts),
                             gflop=flops / 1e9, bound_pct=100 * flops / rate / min(ts), bound_median_pct=100 * flops / rate_median / med,
                             products_pct=100 * products / med,
                             mem_mib=memory.get((size, name)) if memory else None))
    dev = torch.cuda.get_device_name() if device.startswith("cuda") else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    lines = [f"torch {torch.__version__} on {device} ({dev}); float32; {reps} interleaved rounds of "
             f"{'CPU' if clock is time.process_time else 'wall'} time; "
             f"matmul rate {rate / 1e9:.0f} GFLOP/s (the best of {len(mm_times)} matmuls {m}x{k} @ {k}x{n}, "
             f"median {rate_median / 1e9:.0f}); "
             f"load average {load[0]:.1f} before, {load[1]:.1f} after (other processes sharing the cores make it noisy)"
             + (f"; {describe_caches(cache_sizes())}" if device == "cpu" else ""), "",
             "| model | variant | min ms | median ms | / autograd (median) | / autograd (min) | / autograd (paired) | GFLOP | % of bound (best) | % of bound (medians) | % of own products |" + (" peak extra MiB |" if memory else ""),
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if memory else "")]
    for r in rows:
        line = (f"| {r['model']} ({r['shape']}) | {r['variant']} | {r['min_ms']:.1f} | {r['median_ms']:.1f} | "
                f"{r['ratio']:.2f} | {r['ratio_min']:.2f} | {r['ratio_paired']:.2f} | {r['gflop']:.2f} | {r['bound_pct']:.0f} % | {r['bound_median_pct']:.0f} % | {r['products_pct']:.0f} % |")
        if memory: line += " n/a |" if r["mem_mib"] is None else f" {r['mem_mib']:.0f} |"
        lines.append(line)
    floors = []
    for size in sizes_table:
        for input_grad, base in ((False, "autograd"), (True, "autograd, input grad")):
            if (size, base) not in times: continue
            products = statistics.median(r[input_grad] for r in alone[size])
            floors.append(f"{size}{', input grad' if input_grad else ''} {products / statistics.median(times[(size, base)]):.2f}")
    lines += ["", "Floor, the model's products alone / autograd's median (no variant doing the same products on whole-batch "
              "inputs can go below it): " + "; ".join(floors)]
    return "\n".join(lines), rows


def plot(rows, path):
    "Bars of median time / autograd's, one group per model."
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sizes = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = plt.subplots(1, len(sizes), figsize=(4.2 * len(sizes), 3.2))
    for ax, size in zip(axes, sizes, strict=True):
        rs = [r for r in rows if r["model"] == size]
        ax.barh([r["variant"] for r in rs], [r["ratio"] for r in rs], color=["#9ab" if "autograd" in r["variant"] else "#e94" for r in rs])
        ax.axvline(1, color="k", lw=0.8); ax.invert_yaxis()
        ax.set_title(f"{size}\n{rs[0]['shape']}", fontsize=9); ax.set_xlabel("median time / autograd's")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def main(argv=None, show=True):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes and few rounds (seconds)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="cpu, cuda, cuda:1, ... (default: cuda when a GPU is available)")
    p.add_argument("--reps", type=int, help="interleaved rounds (default 15, quick 5)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads (default: all cores)")
    p.add_argument("--memory", default="mnist,wide,broadcast",
                   help="models whose peak memory to measure, comma-separated, or 'none' (one process per variant)")
    p.add_argument("--clock", choices=sorted(CLOCK), default="wall",
                   help="wall: elapsed time (default); cpu: this process's CPU time, which other processes on a "
                        "shared machine disturb much less; use it with --threads 1 (idle threads' spinning counts)")
    p.add_argument("--plot", help="save a bar chart of the ratios to this PNG")
    p.add_argument("--json", help="also write the rows to this JSON file")
    p.add_argument("--memory-child", nargs="+", metavar="MODEL VARIANT",
                   help="only measure the peak extra memory (MiB) of each variant named (pairs MODEL VARIANT, in turn, "
                        "in this process), and print them as a JSON list")
    args = p.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        p.error(f"--device {args.device}: this torch ({torch.__version__}) sees no CUDA device")
    torch.set_num_threads(args.threads)
    global clock
    clock = CLOCK[args.clock]
    if args.clock == "cpu" and args.device.startswith("cuda"): p.error("--clock cpu measures the CPU, not the GPU: use wall")
    if args.memory_child:
        pairs = args.memory_child
        if len(pairs) % 2: p.error(f"--memory-child takes pairs MODEL VARIANT, got {pairs}")
        print(json.dumps([memory_child(size, name, args.quick, args.device) for size, name in zip(pairs[0::2], pairs[1::2])]))
        return
    sizes_table = QUICK if args.quick else FULL
    reps = args.reps or (5 if args.quick else 15)
    rate_shape = RATE_SHAPE["quick" if args.quick else "full"]
    models = [m for m in args.memory.split(",") if m and m != "none"]
    unknown = set(models) - set(sizes_table)
    if unknown: p.error(f"--memory: unknown model(s) {sorted(unknown)}; choose from {sorted(sizes_table)} or 'none'")
    memory = peak_memory(sizes_table, args.quick, args.device, models, args.threads)
    load_before = os.getloadavg()[0]
    times, mm_times, alone = bench_times(sizes_table, rate_shape, reps, args.device)
    load = (load_before, os.getloadavg()[0])
    table, rows = report(sizes_table, times, mm_times, alone, rate_shape, memory, args.device, reps, load)
    if show: print(table)
    if args.plot: print(f"\nplot: {plot(rows, args.plot)}")
    if args.json: Path(args.json).write_text(json.dumps(rows, indent=1))
    return table


if __name__ == "__main__":
    main()
