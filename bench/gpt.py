"""How fast, and how big, is a GPT training step with hand-written gradients? Chapter 16's model against autograd.

One training step (forward, backward, Adam update) of each variant, on the same parameters and the same batch:
- "hand-written": `backprop.gpt_model.train_step`, the backward of chapters 15 and 16 (no autograd);
- "autograd, same forward": `autograd_train_step`, autograd differentiating the very same forward functions;
- "autograd, nn.functional": the same model written as a torch.nn user would (`F.layer_norm`, `F.linear`, `F.gelu`,
  masked softmax attention, `F.cross_entropy`), whose backwards are torch's fused C++ kernels;
- "autograd, F + SDPA": the same with `F.scaled_dot_product_attention(is_causal=True)` for the attention.
Each is timed interleaved (every round runs every variant once) and repeated, in CPU time of this process with torch
on one thread unless told otherwise (`bench/run.py`'s `time_interleaved`); the ratios are to "autograd, same forward",
of the medians and paired (the median of the per-round ratios). Memory, two ways:
- "saved MiB": what the step keeps from its forward for its backward: autograd's saved tensors
  (`torch.autograd.graph.saved_tensors_hooks`, through chapter 18's `saved_by`), the hand-written pass's `saved` dict;
  each storage counted once, the parameters and the batch not counted;
- "peak MiB": the most memory held at once, during one step, by the tensors the step creates (its activations, what
  it saves, its temporaries, the gradients), each storage counted from the operation that makes it until it is freed
  (`PeakMemory`, a TorchDispatchMode that sees autograd's backward too; on a GPU, CUDA's allocator). Not the
  process's resident memory: at a few MiB, Linux's RSS counters are approximate (we saw them grow by half of what was
  allocated), and the allocator's own reuse would blur the differences we measure.
The goals of issue 21 at the chapter's size: at most 1.0x autograd's time and at most 0.7x its peak memory.

    .venv/bin/python bench/gpt.py            # the chapter's size and a larger one (a minute on 2 idle cores)
    .venv/bin/python bench/gpt.py --quick    # the chapter's size, few rounds: seconds (chapter 16, the tests)
    .venv/bin/python bench/gpt.py --device cuda
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import time_interleaved  # noqa: E402  (bench/run.py: the project's interleaved timing)

from backprop.gpt import block_shapes  # noqa: E402
from backprop.gpt_model import autograd_train_step, adam_step, gpt_forward, init_gpt, train_step  # noqa: E402
from backprop.memory import saved_by  # noqa: E402

# name: (batch B, block_size T, n_embd C, n_head, n_layer); the vocabulary is chapter 16's 27 tokens
SIZES = {"chapter": (32, 16, 32, 4, 2), "larger": (32, 64, 128, 4, 4)}
QUICK = ("chapter",)
LR = 1e-3
GOALS = dict(time=1.0, memory=0.7)
BASELINE = "autograd, same forward"


# ---- the model written as a torch.nn user would: the same parameters, torch's fused ops ----

def functional_forward(idx, targets, params, n_head, sdpa=False):
    "The loss of chapter 16's GPT computed with torch.nn.functional ops (weights in the (in, out) layout: F.linear(x, w.t()))."
    B, T = idx.shape
    C = params["wte"].shape[1]
    x = F.embedding(idx, params["wte"]) + params["wpe"][:T]
    for l in range(sum(name.endswith(".attn_w") for name in params)):
        p = {name: params[f"h{l}.{name}"] for name in block_shapes(C)}
        qkv = F.linear(F.layer_norm(x, (C,), p["ln1_w"], p["ln1_b"]), p["attn_w"].t(), p["attn_b"])
        q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in qkv.split(C, dim=-1))
        if sdpa: y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = (q @ k.transpose(-2, -1)) * (C // n_head) ** -0.5
            future = torch.ones(T, T, dtype=torch.bool, device=idx.device).triu(1)
            y = scores.masked_fill(future, float("-inf")).softmax(-1) @ v
        x = x + F.linear(y.transpose(1, 2).reshape(B, T, C), p["proj_w"].t(), p["proj_b"])
        h = F.gelu(F.linear(F.layer_norm(x, (C,), p["ln2_w"], p["ln2_b"]), p["fc_w"].t(), p["fc_b"]))
        x = x + F.linear(h, p["fcproj_w"].t(), p["fcproj_b"])
    logits = F.linear(F.layer_norm(x, (C,), params["lnf_w"], params["lnf_b"]), params["head_w"].t(), params["head_b"])
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


def functional_train_step(params, state, idx, targets, n_head, lr, sdpa=False):
    "One step with the functional forward and autograd's backward, and the same Adam update."
    for p in params.values(): p.grad = None
    loss = functional_forward(idx, targets, params, n_head, sdpa)
    loss.backward()
    with torch.no_grad(): adam_step(params, {name: p.grad for name, p in params.items()}, state, lr)
    return loss.item()


# name: (step, does it use autograd?)
VARIANTS = {
    "hand-written": (train_step, False),
    BASELINE: (autograd_train_step, True),
    "autograd, nn.functional": (functional_train_step, True),
    "autograd, F + SDPA": (lambda *a: functional_train_step(*a, sdpa=True), True),
}


def make_case(size, device="cpu", seed=0):
    "(params, idx, targets, n_head) of a size, float32: chapter 16's initialisation, a random batch."
    B, T, C, n_head, n_layer = SIZES[size]
    gen = torch.Generator().manual_seed(seed)
    params = init_gpt(27, T, n_layer, n_head, C, generator=gen)
    idx, targets = (torch.randint(0, 27, (B, T), generator=gen) for _ in range(2))
    return {k: v.to(device) for k, v in params.items()}, idx.to(device), targets.to(device), n_head


def prepare(name, params, idx, targets, n_head):
    "One step of variant `name` as a function of nothing, on copies of its own of the parameters and optimizer state."
    step, uses_autograd = VARIANTS[name]
    own = {k: v.clone().requires_grad_(uses_autograd) for k, v in params.items()}
    state = {}
    return (lambda: step(own, state, idx, targets, n_head, LR)), own


# ---- memory ----

def _storages(tensors):
    "{data pointer: bytes} of the storages of the tensors."
    return {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}


def _tensors(obj):
    "Every tensor in a nest of dicts, lists and tuples."
    if isinstance(obj, torch.Tensor): yield obj
    elif isinstance(obj, dict): yield from (t for v in obj.values() for t in _tensors(v))
    elif isinstance(obj, (list, tuple)): yield from (t for v in obj for t in _tensors(v))


def saved_mib(name, params, idx, targets, n_head):
    "MiB that variant `name` keeps from its forward for its backward, each storage once, the parameters and batch not counted."
    own = set(_storages([*params.values(), idx, targets]))
    if name == "hand-written":
        with torch.no_grad(): _, saved = gpt_forward(idx, targets, params, n_head)
        kept = _storages(_tensors(saved))
    else:                                                # chapter 18's saved_by: what autograd's pack hook sees
        forward, kw = (gpt_forward, {}) if name == BASELINE else (functional_forward, {"sdpa": "SDPA" in name})
        saved = saved_by(lambda *p: forward(idx, targets, dict(zip(params, p)), n_head, **kw),
                         *(v.clone().requires_grad_() for v in params.values()))
        kept = {key: nbytes for *_, is_param, key, nbytes in saved if not is_param}
    return sum(b for ptr, b in kept.items() if ptr not in own) / 2**20


def autograd_saved_by_op(params, idx, targets, n_head):
    "{operation: KiB} of what autograd keeps for the backward of chapter 16's forward, grouped by the operation that saved it."
    leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
    own = set(_storages([*leaves.values(), idx, targets]))
    loss = gpt_forward(idx, targets, leaves, n_head)[0]
    seen, by_op, todo, done = set(), {}, [loss.grad_fn], set()
    while todo:
        node = todo.pop()
        if node is None or node in done: continue
        done.add(node)
        todo += [n for n, _ in node.next_functions]
        op = type(node).__name__.replace("Backward0", "").replace("Backward1", "")
        for attr in (a for a in dir(node) if a.startswith("_saved_")):
            try: value = getattr(node, attr)
            except RuntimeError: continue                # a saved value that cannot be read back: not a tensor we count
            for t in (value if isinstance(value, tuple) else (value,)):
                if not isinstance(t, torch.Tensor): continue
                for ptr, nbytes in _storages([t]).items():
                    if ptr in own or ptr in seen: continue
                    seen.add(ptr); by_op[op] = by_op.get(op, 0) + nbytes / 2**10
    return dict(sorted(by_op.items(), key=lambda kv: -kv[1]))


def saved_report(params, idx, targets, n_head):
    """Chapter 16's two tables, in markdown: what autograd keeps for the backward of gpt_forward, by operation, and what
    the hand-written pass keeps per block and per position (with what it recomputes instead)."""
    by_op = autograd_saved_by_op(params, idx, targets, n_head)
    with torch.no_grad(): _, saved = gpt_forward(idx, targets, params, n_head)
    block, (B, T), C = saved["blocks"][0], idx.shape, params["wte"].shape[1]
    rows = [f"| `{name}` | {t[0, 0].numel()} |" for name, t in block.items()]
    rows += [f"| *attention probabilities P ({n_head} heads x T): recomputed* | *{n_head * T}* |",
             f"| *GELU's output (4C): recomputed* | *{4 * C}* |"]
    return (f"**autograd keeps {sum(by_op.values()):.0f} KiB**, by the operation that keeps it:\n\n| operation | KiB |\n|---|---:|\n"
            + "\n".join(f"| {op} | {kib:.0f} |" for op, kib in by_op.items())
            + f"\n\n**the hand-written pass keeps {saved_mib('hand-written', params, idx, targets, n_head) * 1024:.0f} KiB**; "
            f"each block, per position:\n\n| kept by a block | floats per position |\n|---|---:|\n" + "\n".join(rows))


class PeakMemory(TorchDispatchMode):
    """Within `with PeakMemory() as m:`, m.peak is the largest number of bytes held at once by the tensors that torch
    operations created there (autograd's backward included), each storage counted once, while it is alive."""
    def __init__(self):
        super().__init__()
        self.live, self.peak = {}, 0                     # live: {data pointer: (weak reference, bytes)}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.live = {ptr: v for ptr, v in self.live.items() if not v[0].expired()}     # freed since: not counted
        inputs = {t.untyped_storage().data_ptr() for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)}
        for t in tree_leaves(out):                       # an output on an input's storage (a view, an in-place op) is not new
            if isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() not in inputs | set(self.live):
                self.live[t.untyped_storage().data_ptr()] = (StorageWeakRef(t.untyped_storage()), t.untyped_storage().nbytes())
        self.peak = max(self.peak, sum(n for _, n in self.live.values()))
        return out


def peak_mib(step, device="cpu"):
    "The peak memory (MiB) of the tensors that one call of `step` creates: counted by PeakMemory, or by CUDA's allocator."
    if device.startswith("cuda"):
        torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); before = torch.cuda.memory_allocated()
        step(); torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - before) / 2**20
    with PeakMemory() as m: step()
    return m.peak / 2**20


# ---- the report ----

def measure(sizes, reps, device):
    "The rows of the table: one per (size, variant), with its times, ratios and memory."
    clock = time.process_time if device == "cpu" else time.perf_counter    # CPU time of this process; wall on a GPU
    rows = []
    for size in sizes:
        case = make_case(size, device)
        steps = {name: prepare(name, *case)[0] for name in VARIANTS}
        times = time_interleaved(steps, reps, device, on=clock)         # each step runs once before: state exists
        peaks = {name: peak_mib(step, device) for name, step in steps.items()}
        base = times[BASELINE]
        for name, ts in times.items():
            B, T, C, n_head, n_layer = SIZES[size]
            rows.append(dict(size=size, shape=f"B={B}, T={T}, C={C}, {n_head} heads, {n_layer} layers", variant=name,
                             median_ms=statistics.median(ts) * 1e3, ratio=statistics.median(ts) / statistics.median(base),
                             paired=statistics.median(t / b for t, b in zip(ts, base, strict=True)),
                             saved_mib=saved_mib(name, *case), peak_mib=peaks[name]))
        for r in rows:
            if r["size"] != size: continue
            b = next(x for x in rows if x["size"] == size and x["variant"] == BASELINE)
            r["saved_ratio"], r["peak_ratio"] = r["saved_mib"] / b["saved_mib"], r["peak_mib"] / b["peak_mib"]
    return rows


def table(rows, reps, device, load):
    "A markdown table of the rows, a line on the machine, and the goals: met or not, with the measured ratios."
    dev = torch.cuda.get_device_name() if device.startswith("cuda") else f"CPU, {torch.get_num_threads()} thread(s), CPU time"
    lines = [f"torch {torch.__version__}, {dev}; float32; one training step (forward, backward, Adam); {reps} interleaved "
             f"rounds; load average {load[0]:.1f} before, {load[1]:.1f} after (a shared machine makes the times noisy)", "",
             "| size | variant | median ms | / autograd (medians) | / autograd (paired) | saved MiB | / autograd | peak MiB | / autograd |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['size']} ({r['shape']}) | {r['variant']} | {r['median_ms']:.2f} | {r['ratio']:.2f} | {r['paired']:.2f} | "
                     f"{r['saved_mib']:.2f} | {r['saved_ratio']:.2f} | {r['peak_mib']:.2f} | {r['peak_ratio']:.2f} |")
    lines.append("")
    for r in rows:
        if r["variant"] != "hand-written": continue
        time_ok = "met" if r["paired"] <= GOALS["time"] else "NOT met"
        mem_ok = "met" if r["peak_ratio"] <= GOALS["memory"] else "NOT met"
        lines.append(f"- {r['size']}: hand-written / {BASELINE}: time {r['paired']:.2f}x (paired; goal <= {GOALS['time']}: {time_ok}), "
                     f"peak memory {r['peak_ratio']:.2f}x (goal <= {GOALS['memory']}: {mem_ok})")
    return "\n".join(lines)


def main(argv=None, show=True):
    "Measure and print the table (`show`); return its markdown (chapter 16 calls main(['--quick'], show=False))."
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="the chapter's size only, 7 rounds (seconds)")
    p.add_argument("--reps", type=int, help="interleaved rounds (default 15, quick 7)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:1, ...")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: CPU time, little disturbed by other programs)")
    p.add_argument("--json", help="also write the rows to this JSON file")
    args = p.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        p.error(f"--device {args.device}: this torch ({torch.__version__}) sees no CUDA device")
    if args.reps is not None and args.reps < 1: p.error(f"--reps must be a positive number of rounds, got {args.reps}")
    if args.threads < 1: p.error(f"--threads must be at least 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    sizes = QUICK if args.quick else tuple(SIZES)
    reps = args.reps or (7 if args.quick else 15)
    load_before = os.getloadavg()[0]
    rows = measure(sizes, reps, args.device)
    text = table(rows, reps, args.device, (load_before, os.getloadavg()[0]))
    if show: print(text)
    if args.json: Path(args.json).write_text(json.dumps(rows, indent=1))
    return text


if __name__ == "__main__":
    main()
