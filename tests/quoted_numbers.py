"""The numbers that the chapters' prose quotes from a run, and where each one is computed.

Each entry of QUOTES ties a sentence of a chapter to the code cell whose printed output it describes:
  nb       the chapter, e.g. "08_training";
  text     the words of the prose, verbatim from one markdown cell of that chapter;
  cell     a piece of the code cell's source that names exactly one cell;
  pattern  a regular expression over that cell's text output; each of its groups is a number;
  lo, hi   the stated tolerance: every number the pattern finds must lie in [lo, hi] (inclusive).

`source_problems` checks, without running anything, that every quote is still in its chapter and names one
cell (tests/test_quoted_numbers.py). `output_problems` checks the numbers against a notebook that has run,
as the browser test saves each chapter after JupyterLab ran it (tests/test_browser.py), so the check costs
no run of its own. `python tests/quoted_numbers.py DIR` checks the executed copies in DIR (NN_name.ipynb).
Timings are not quoted here: they move from run to run; so is what a shared machine makes of them.
"""
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NUM = r"([-+]?\d[\d,]*\.?\d*(?:e[-+]?\d+)?)"        # 2.5, 38.3, 1,568, 3e-05


def q(nb, text, cell, pattern, lo, hi):
    return dict(nb=nb, text=text, cell=cell, pattern=pattern.replace("NUM", NUM), lo=lo, hi=hi)


QUOTES = [
    # chapter 0: the data
    q("00_data", "(500 of each digit)", "x, y = load_mnist_sample()", r"\[NUM, NUM, NUM, NUM, NUM, NUM, NUM, NUM, NUM, NUM\]", 500, 500),
    q("00_data", "The validation set is close to that but not exactly", "train_valid_split(x, y)", r"valid mean NUM", -0.05, 0.05),
    q("00_data", "The validation set is close to that but not exactly", "train_valid_split(x, y)", r"valid mean \S+ std NUM", 0.95, 1.05),
    # chapter 1: matrix multiplication
    q("01_matmul", "`big` has 7,840 entries and the 3,136 bytes of `col`'s 784 floats", "col = a[0].clone()", r"^big .*storage\s+NUM bytes", 3136, 3136),
    q("01_matmul", "Only `contiguous()` (or an operation that needs its own copy) spends the 31,360 bytes", "col = a[0].clone()",
      r"^copy .*storage\s+NUM bytes", 31360, 31360),
    # chapter 2: the forward pass
    q("02_forward", "a standard deviation of $\\sqrt{784} = 28$", "l1.std().item()", r"^NUM$", 25, 32),
    q("02_forward", "with $\\sqrt{2/n_{in}}$ they stay of order 1", "def stack_std(", r"sqrt\(2/n_in\)\s+-> std after 20 layers: NUM", 0.1, 10),
    q("02_forward", "Without scaling the activations grow to astronomic values", "def stack_std(", r"no scaling\)\s+-> std after 20 layers: NUM", 1e6, 1e30),
    q("02_forward", "Either way the output has a mean square of about 1.", "mean square of the output", r"mean square of the output NUM", 0.7, 1.4),
    q("02_forward", "mostly the squared distance of its mean from the mean digit", "terms = {", r"\(E\[y_hat\] - mean y\)\^2\s+NUM", 19, 38),
    q("02_forward", "the covariance is about 0", "terms = {", r"-2 Cov\(y_hat, y\)\s+NUM", -1, 1),
    # chapter 4: Jacobians
    q("04_jacobians", "Two and a half terabytes", 'print(f"dZ/dX:', r"entries, NUM TB in float32", 2.4, 2.6),
    q("04_jacobians", "With `randn` the gradient grows by about 5 per layer", "inits = {", r"^randn(?:\s+\S+){6}\s+NUM \(", 4.5, 5.5),
    q("04_jacobians", "with $1/\\sqrt{n_{in}}$ it shrinks by about 0.71 per layer", "inits = {", r"^1/sqrt\(n_in\)(?:\s+\S+){6}\s+NUM \(", 0.64, 0.78),
    q("04_jacobians", "hundreds of times over the 19 layers (the column \"1 vs 20\")", "inits = {", r"^1/sqrt\(n_in\)(?:\s+\S+){5}\s+NUM\s", 1e-3, 1e-2),
    q("04_jacobians", "with Kaiming it stays about constant", "inits = {", r"^Kaiming sqrt\(2/n_in\)(?:\s+\S+){6}\s+NUM \(", 0.9, 1.1),
    # chapter 7: checking gradients
    q("07_checking", "In float64 the bottom is near $h = 10^{-6}$: a few $10^{-11}$", "hs = torch.logspace(", r"float64: smallest error NUM", 5e-12, 1e-10),
    q("07_checking", "In float64 the bottom is near $h = 10^{-6}$", "hs = torch.logspace(", r"float64: smallest error \S+, at h = NUM", 1e-7, 1e-5),
    q("07_checking", "over $h$ from $10^{-3}$ to $10^{-2}$, around the predicted $6 \\cdot 10^{-3}$, the errors form a flat floor of a few $10^{-5}$",
      "hs = torch.logspace(", r"float32: .*for h in \[1e-3, 1e-2\]: \S+ to NUM", 1e-5, 1e-4),
    q("07_checking", "the smallest of the sweep is a lucky point of that floor", "hs = torch.logspace(", r"float32: smallest error \S+, at h = NUM", 1e-3, 1e-2),
    q("07_checking", "the MLP's report below shows errors of a few $10^{-10}$", "x_small, y_small = torch.randn(8, 5, generator=gen",
      r"central diff\s+NUM", 1e-11, 1e-9),
    q("07_checking", "about 5 correct digits", "hs = torch.logspace(", r"float32: smallest error NUM", 1e-6, 1e-4),
    # chapter 8: training
    q("08_training", "the loss falls from about 38", 'print(f"before training', r"mse NUM on the training", 36, 40),
    q("08_training", "worse than always predicting 0 (about 29", 'print(f"before training', r"always predicting 0: NUM", 27.5, 30),
    q("08_training", "to about 2. As a classifier", 'final = hist["epoch"][-1]', r"validation mse NUM", 1.5, 2.7),
    q("08_training", "about one digit in three", 'final = hist["epoch"][-1]', r"accuracy NUM%", 28, 42),
    q("08_training", "No unit is dead.", "log_ok, dead_ok = watched_run(", r"dead on all digits: \[NUM, NUM, NUM\]", 0, 0),
    q("08_training", "Within a few steps the activations are hundreds of times their healthy size", "log_hi, dead_hi = watched_run(",
      r"NUM steps watched", 2, 6),
    q("08_training", "after the epoch the validation loss is still worse than predicting the mean digit", "log_bad, dead_bad = watched_run(",
      r"valid mse NUM", 8.3, 30),
    q("08_training", "the untrained loss (the first batch's, printed) is twice the 8.3", "log_ok, dead_ok = watched_run(",
      r"first batch mse NUM", 14, 20),
    # chapter 9: cross-entropy
    q("09_cross_entropy", "takes chapter 8's network from about one digit in three to about nine in ten", "params50 = init_params(",
      r"validation accuracy NUM%", 85, 95),
    q("09_cross_entropy", "is about where the small one is after 5 (the two numbers above)", 'acc = hist["epoch"][-1]["valid_acc"]',
      r"after 4 epochs: NUM%", 88, 96),
    # chapter 16: the GPT trained
    q("16_gpt_training", "the same 516 names", "names_stream(train_names)", r"NUM names;", 516, 516),
    q("16_gpt_training", "rounding residue, about $10^{-17}$", "real = torch.cat(", r"largest gradient entry NUM", 1e-18, 1e-16),
    q("16_gpt_training", "far below the smallest non-zero entry of the other gradients", "real = torch.cat(",
      r"smallest non-zero entry elsewhere NUM", 1e-9, 1),
    q("16_gpt_training", "the losses are about 2", "diff32 = [abs(", r"step 500: losses NUM, NUM", 1.8, 2.5),
    q("16_gpt_training", "a few times float32's spacing near 2", "diff32 = [abs(", r"runs' losses NUM", 2e-7, 2e-5),
]


def _md_and_code(nb):
    md = [c.source for c in nb.cells if c.cell_type == "markdown"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    return md, code


def source_problems(root=ROOT, quotes=QUOTES):
    "What is wrong with the registry against the chapters' sources: a quote no longer in its chapter, a cell not found once."
    problems = []
    for e in quotes:
        path = root / "nbs" / f"{e['nb']}.ipynb"
        if not path.exists():
            problems.append(f"{e['nb']}: no such chapter"); continue
        md, code = _md_and_code(nbformat.read(path, 4))
        if not any(e["text"] in s for s in md):
            problems.append(f"{e['nb']}: the prose no longer says {e['text']!r}")
        hits = [c for c in code if e["cell"] in c.source]
        if len(hits) != 1:
            problems.append(f"{e['nb']}: {len(hits)} code cells contain {e['cell']!r}, expected one")
    return problems


def _text_outputs(cell):
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream": parts.append(o.get("text", ""))
        elif o.get("output_type") in ("execute_result", "display_data"): parts.append(o.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def _number(s):
    return float(s.replace(",", ""))


def output_problems(nb, name, quotes=QUOTES):
    "What is wrong with the quoted numbers of chapter `name` in the executed notebook `nb`; [] if every one holds."
    _, code = _md_and_code(nb)
    problems = []
    for e in [e for e in quotes if e["nb"] == name]:
        hits = [c for c in code if e["cell"] in c.source]
        if len(hits) != 1:
            problems.append(f"{name}: {len(hits)} code cells contain {e['cell']!r}"); continue
        found = [m for m in re.finditer(e["pattern"], _text_outputs(hits[0]), flags=re.M)]
        values = [_number(g) for m in found for g in m.groups()]
        if not values:
            problems.append(f"{name}: {e['text']!r}: the cell's output has no match for {e['pattern']!r}")
        for v in values:
            if not e["lo"] <= v <= e["hi"]:
                problems.append(f"{name}: {e['text']!r}: the cell printed {v:g}, outside [{e['lo']:g}, {e['hi']:g}]")
    return problems


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    checked, problems = 0, source_problems()
    for name in sorted({e["nb"] for e in QUOTES}):
        path = folder / f"{name}.ipynb"
        if path.exists():
            problems += output_problems(nbformat.read(path, 4), name); checked += 1
    print("\n".join(problems) or f"{sum(e['nb'] in {p.stem for p in folder.glob('*.ipynb')} for e in QUOTES)} quoted numbers "
          f"in {checked} executed chapters hold")
    sys.exit(1 if problems else 0)
