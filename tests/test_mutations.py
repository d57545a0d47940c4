"""Proof that the checks bite: plant one classic bug per copy of the gradient code, and check_grads must catch every copy.

How it works. `mutant(target, edits)` takes the source text of the gradient code (backprop/grads.py as
installed, or the two-use model below, or backprop/layers.py), applies textual edits (each edit's old
text must occur exactly once, so a mutation that no longer applies fails loudly instead of testing
the original), and executes the result as a fresh module. Every variant then runs the same battery of
cases, each ending in `check_grads`. A mutant is caught when at least one report is not ok; a mutant
that only crashes does not count as caught. The unmutated code must pass every case.

`=` instead of `+=` needs a tensor that is used twice, which the chapter-2 MLP does not have (each
gradient function *sets* `.g`). So the battery has a model with a skip connection,
out = lin(relu(lin(x, w1, b1)), w2, b2) + lin(x, w3, b3), where x feeds two layers and
x.g must be the sum of both paths (`TWO_USE_SRC`). When backprop.layers exists, its `_accumulate`
(which adds into `.g`) is mutated too, and checked on a model that uses one weight matrix twice.
"""
import importlib
import importlib.util
import inspect
import types

import pytest
import torch

import backprop.grads
from backprop.check import check_grads
from backprop.forward import lin, mse, relu

f64 = dict(dtype=torch.float64)

TWO_USE_SRC = '''
def two_use_forward_and_backward(inp, targ, w1, b1, w2, b2, w3, b3):
    "out = lin(relu(lin(inp, w1, b1)), w2, b2) + lin(inp, w3, b3): inp is used twice. Set .g; return the loss."
    l1 = lin(inp, w1, b1); l2 = relu(l1); main = lin(l2, w2, b2); skip = lin(inp, w3, b3)
    out = main + skip                                   # (N, 1)
    loss = mse(out, targ)
    mse_grad(out, targ)
    main.g = out.g; skip.g = out.g                      # a sum passes its gradient to both terms
    lin_grad(inp, skip, w3, b3)
    g_skip = inp.g                                      # lin_grad sets inp.g: keep the skip path's part
    lin_grad(l2, main, w2, b2)
    relu_grad(l1, l2)
    lin_grad(inp, l1, w1, b1)
    inp.g += g_skip                                     # inp is used twice: add the two paths
    return loss
'''

# (name, target, [(old, new), ...]): the classic bugs. Targets: "grads" (backprop/grads.py),
# "two_use" (TWO_USE_SRC), "layers" (backprop/layers.py, only when it exists).
MUTANTS = [
    ("missing transpose in w.g", "grads", [("w.g = inp.t() @ g", "w.g = g.t() @ inp")]),
    ("missing transpose in inp.g", "grads", [("inp.g = g @ w.t()", "inp.g = g @ w")]),
    ("wrong sign in mse_grad", "grads", [("2. * (inp.squeeze(-1) - targ)", "2. * (targ - inp.squeeze(-1))")]),
    ("wrong sign in lin_grad's inp.g", "grads", [("inp.g = g @ w.t()", "inp.g = -g @ w.t()")]),
    ("missing 1/N in mse_grad", "grads", [(".unsqueeze(-1) / inp.shape[0]", ".unsqueeze(-1)")]),
    ("missing 2 in mse_grad", "grads", [("inp.g = 2. * (", "inp.g = (")]),
    ("b.g summed over the wrong axis", "grads", [("b.g = g.sum(0)", "b.g = g.sum(1)")]),
    ("ReLU mask >= instead of >", "grads", [("(inp > 0).to(inp.dtype)", "(inp >= 0).to(inp.dtype)")]),
    ("w.g and inp.g swapped", "grads", [("inp.g = g @ w.t()", "w.g = g @ w.t()"), ("w.g = inp.t() @ g", "inp.g = inp.t() @ g")]),
    ("= instead of += (input used twice)", "two_use", [("inp.g += g_skip", "inp.g = g_skip")]),
    ("= instead of += in layers._accumulate (weight used twice)", "layers",
     [("t.g = g if old is None else old + g", "t.g = g")]),
]

HAS_LAYERS = importlib.util.find_spec("backprop.layers") is not None


def source(target):
    if target == "grads": return inspect.getsource(backprop.grads)
    if target == "two_use": return TWO_USE_SRC
    return inspect.getsource(importlib.import_module("backprop.layers"))


def load(src, name):
    "Execute `src` as a fresh module inside the backprop package (so `from .forward import ...` works)."
    mod = types.ModuleType("backprop._mutant")
    mod.__package__ = "backprop"
    exec(compile(src, f"<{name}>", "exec"), mod.__dict__)
    return mod


def apply_edits(src, edits, name):
    for old, new in edits:
        assert src.count(old) == 1, f"mutant {name!r}: {old!r} occurs {src.count(old)} times in the source, not once"
        src = src.replace(old, new)
    return src


def variant(name=None, target=None, edits=()):
    "The gradient code as modules: grads, two_use (built on that grads), layers; one of them mutated."
    srcs = {"grads": source("grads"), "two_use": TWO_USE_SRC}
    if HAS_LAYERS: srcs["layers"] = source("layers")
    if target is not None: srcs[target] = apply_edits(srcs[target], edits, name)
    grads = load(srcs["grads"], "grads")
    two_use = load(srcs["two_use"], "two_use")
    two_use.__dict__.update(lin=lin, relu=relu, mse=mse, mse_grad=grads.mse_grad, lin_grad=grads.lin_grad,
                            relu_grad=grads.relu_grad)
    layers = load(srcs["layers"], "layers") if HAS_LAYERS else None
    return types.SimpleNamespace(grads=grads, two_use=two_use, layers=layers)


# The battery. Each case builds its data (float64, seeded), runs the variant's gradient code and
# returns check_grads' report. Shapes are chosen so each bug shows: a square weight (a missing
# transpose then runs instead of crashing), N > 2 (a missing 1/N is not 1), and exact zeros at a
# ReLU input (a hidden unit with zero weights and bias), where `>=` and `>` differ.
def data(N, sizes, seed):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=gen, **f64) for s in [(N, sizes[0]), (N,)]], gen


def case_mse_grad(v):
    (out, targ), _ = data(5, (1,), 1)
    v.grads.mse_grad(out, targ)
    return check_grads(lambda out: mse(out, targ), [out], [out.g])


def case_relu_grad(v):
    z = torch.tensor([[-1.5, 0.0, 2.0], [0.0, 0.7, -0.2]], **f64)       # exact zeros on purpose
    a = relu(z); G = torch.randn(2, 3, generator=torch.Generator().manual_seed(2), **f64); a.g = G
    v.grads.relu_grad(z, a)
    return check_grads(lambda z: (relu(z) * G).sum(), [z], [z.g])


def case_lin_grad_square(v):
    (inp, _), gen = data(5, (3,), 3)
    w, b, G = torch.randn(3, 3, generator=gen, **f64), torch.randn(3, generator=gen, **f64), torch.randn(5, 3, generator=gen, **f64)
    out = lin(inp, w, b); out.g = G
    v.grads.lin_grad(inp, out, w, b)
    return check_grads(lambda inp, w, b: (lin(inp, w, b) * G).sum(), [inp, w, b], [inp.g, w.g, b.g])


def mlp_params(gen, n_in, n_hidden):
    w1, b1 = torch.randn(n_in, n_hidden, generator=gen, **f64), torch.randn(n_hidden, generator=gen, **f64)
    w1[:, 0] = 0.; b1[0] = 0.                                            # hidden unit 0: exactly 0 at the ReLU
    return [w1, b1, torch.randn(n_hidden, 1, generator=gen, **f64), torch.randn(1, generator=gen, **f64)]


def case_forward_and_backward(v):
    (x, y), gen = data(6, (4,), 4)
    params = mlp_params(gen, 4, 4)
    v.grads.forward_and_backward(x, y, *params)
    def loss(inp, w1, b1, w2, b2): return mse(lin(relu(lin(inp, w1, b1)), w2, b2), y)
    return check_grads(loss, [x, *params], [t.g for t in (x, *params)])


def case_two_use(v):
    (x, y), gen = data(6, (3,), 5)
    params = mlp_params(gen, 3, 4) + [torch.randn(3, 1, generator=gen, **f64), torch.randn(1, generator=gen, **f64)]
    v.two_use.two_use_forward_and_backward(x, y, *params)
    def loss(inp, w1, b1, w2, b2, w3, b3): return mse(lin(relu(lin(inp, w1, b1)), w2, b2) + lin(inp, w3, b3), y)
    return check_grads(loss, [x, *params], [t.g for t in (x, *params)])


def case_layers_tied(v):
    "A model of backprop.layers that uses one square weight w twice: Lin(w, b1), Relu, Lin(w, b2), Lin(v, c), Mse."
    if v.layers is None: pytest.skip("backprop.layers does not exist yet")
    L = v.layers
    (x, y), gen = data(5, (3,), 6)
    w, b1, b2 = torch.randn(3, 3, generator=gen, **f64), torch.randn(3, generator=gen, **f64), torch.randn(3, generator=gen, **f64)
    wv, c = torch.randn(3, 1, generator=gen, **f64), torch.randn(1, generator=gen, **f64)
    ls = [L.Lin(w, b1), L.Relu(), L.Lin(w, b2), L.Lin(wv, c)]
    loss_layer, h = L.Mse(), x
    for l in ls: h = l(h)
    loss_layer(h, y)
    for t in (x, w, b1, b2, wv, c): t.g = None
    loss_layer.backward()
    for l in reversed(ls): l.backward()
    def loss(x, w, b1, b2, wv, c): return mse(lin(lin(relu(lin(x, w, b1)), w, b2), wv, c), y)
    return check_grads(loss, [x, w, b1, b2, wv, c], [t.g for t in (x, w, b1, b2, wv, c)])


CASES = [case_mse_grad, case_relu_grad, case_lin_grad_square, case_forward_and_backward, case_two_use]
if HAS_LAYERS: CASES.append(case_layers_tied)


def run_battery(v):
    "{case name: the report, or the exception the code raised}"
    results = {}
    for case in CASES:
        try: results[case.__name__] = case(v)
        except (RuntimeError, ValueError, TypeError, IndexError) as e: results[case.__name__] = e
    return results


def test_the_unmutated_code_passes_every_case():
    results = run_battery(variant())
    assert len(results) == len(CASES) >= 5
    for name, r in results.items():
        assert not isinstance(r, Exception), f"{name} raised {r!r}"
        assert r.ok, f"{name}:\n{r}"


def test_every_mutation_changes_the_source():
    for name, target, edits in MUTANTS:
        if target == "layers" and not HAS_LAYERS: continue
        src = source(target)
        assert apply_edits(src, edits, name) != src


def test_check_grads_catches_every_mutant(record_property):
    caught, tried, lines = 0, 0, []
    for name, target, edits in MUTANTS:
        if target == "layers" and not HAS_LAYERS:
            lines.append(f"  skipped  {name}: backprop.layers does not exist"); continue
        tried += 1
        results = run_battery(variant(name, target, edits))
        failing = {c: r for c, r in results.items() if not isinstance(r, Exception) and not r.ok}
        crashed = [c for c, r in results.items() if isinstance(r, Exception)]
        if failing:
            caught += 1
            case, report = next(iter(failing.items()))
            diag = next(d for d in report.diagnoses.values() if d)
            lines.append(f"  caught   {name}: by {len(failing)} case(s), e.g. {case}: {diag[:70]}"
                         + (f"; {len(crashed)} case(s) crashed" if crashed else ""))
        else:
            lines.append(f"  MISSED   {name}: no report failed" + (f" ({len(crashed)} case(s) crashed)" if crashed else ""))
    record_property("summary", "\n".join([
        f"mutation test: check_grads caught {caught} of {tried} mutants ({100 * caught / tried:.0f} %)", *lines]))
    assert tried >= 10
    assert caught == tried, "\n".join(lines)


# The diagnosis a learner would read for each bug: mutant name -> (case, input, how the text starts).
DIAGNOSES = {
    "missing transpose in w.g": ("case_lin_grad_square", "w", "transposed"),
    "missing transpose in inp.g": ("case_lin_grad_square", "inp", "transposed: yours is the gradient for w.t()"),
    "wrong sign in mse_grad": ("case_mse_grad", "out", "wrong sign"),
    "wrong sign in lin_grad's inp.g": ("case_lin_grad_square", "inp", "wrong sign"),
    "missing 1/N in mse_grad": ("case_mse_grad", "out", "off by a constant factor 5: yours = 5 × expected (5 = out.shape[0])"),
    "missing 2 in mse_grad": ("case_mse_grad", "out", "off by a constant factor 1/2"),
    "b.g summed over the wrong axis": ("case_lin_grad_square", "b", "summed over the wrong axis"),
    "ReLU mask >= instead of >": ("case_relu_grad", "z", "wrong values in 2 of 6 entries"),
    "w.g and inp.g swapped": ("case_lin_grad_square", "w", "wrong shape: got shape (5, 3), expected (3, 3)"),
}


@pytest.mark.parametrize("name", DIAGNOSES)
def test_each_mutant_gets_the_right_diagnosis(name):
    (target, edits), (case, inp, start) = next((m[1], m[2]) for m in MUTANTS if m[0] == name), DIAGNOSES[name]
    report = dict((c.__name__, c) for c in CASES)[case](variant(name, target, edits))
    assert report.diagnoses[inp].startswith(start), report
