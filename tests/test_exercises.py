"""The exercises' grader (backprop.exercises, appendix 97) grades right.

- Every reference solution (the worked solutions, nbs/solutions/, read by tests/exercise_solutions.py) of every
  exercise and puzzle is graded correct, and quickly.
- Every exercise has at least 3 mutants: its reference solution with one classic mistake planted by a
  textual edit (each edit's old text must occur exactly once, so a mutant that no longer applies fails
  loudly). Each is labelled with the kind of diagnosis it should get. Every mutant must be caught (rejected, or
  warned about: an in-place change of out.g); the catch rate, the share named right and a table per kind are
  printed (record_property) and must be 100 % and >= 95 %. Each diagnosis added with the hints and puzzles
  (element-wise, a transposed factor whose shapes clash, an unbiased variance, in-place) has at least 3 mutants.
- Hypothesis draws random sizes and seeds: the grader never rejects a reference solution, and its two
  references (autograd, central differences) always agree on its cases.
- The report: one diagnosis per gradient, the one that explains the most cases, never one that only a case
  with a size of 1 supports; the cases that disagree named; a pointer to the next hint; `hint` itself.
- A puzzle's wrong answer comes with its Jacobian drawn against the right one, its wrong entries counted.
- What a learner runs into: a stub, a function that raises, one that sets a .g of the wrong type or
  dtype, one that returns its gradient, bad arguments to grade() and hint().
"""
import inspect
import linecache
import time
import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import backprop.exercises as E
from backprop.exercises import EXERCISES, PUZZLES, grade, hint
from exercise_solutions import SOLUTIONS

# (exercise, the kind of diagnosis it should get, what the mistake is, [(old, new), ...] edits of the solution)
MUTANTS = [
    ("relu", "kink", "no mask: the gradient passes where inp < 0", [("(inp > 0).to(inp.dtype) * out.g", "out.g.clone()")]),
    ("relu", "sign", "wrong sign", [("inp.g = (inp", "inp.g = -(inp")]),
    ("relu", "left out", "out.g forgotten", [(" * out.g", "")]),
    ("sigmoid", "sign", "1 - out written out - 1", [("(1 - out)", "(out - 1)")]),
    ("sigmoid", "left out", "out.g forgotten", [(" * out.g", "")]),
    ("sigmoid", "mixed up", "the derivative written in inp, not out", [("out * (1 - out)", "inp * (1 - inp)")]),
    ("tanh", "sign", "out² - 1", [("(1 - out ** 2)", "(out ** 2 - 1)")]),
    ("tanh", "left out", "out.g forgotten", [(" * out.g", "")]),
    ("tanh", "mixed up", "1 - inp², not 1 - out²", [("1 - out ** 2", "1 - inp ** 2")]),
    ("leaky_relu", "kink", "the slope below 0 forgotten (ReLU's mask)", [("1.0, slope", "1.0, 0.0")]),
    ("leaky_relu", "kink", "a slope of 0.01 hard-coded", [("1.0, slope", "1.0, 0.01")]),
    ("leaky_relu", "left out", "out.g forgotten", [(" * out.g", "")]),
    ("leaky_relu", "sign", "wrong sign", [("inp.g = torch", "inp.g = -torch")]),
    ("huber", "factor", "the 1/N of the mean forgotten", [(" / r.shape[0]", "")]),
    ("huber", "left out", "out.g forgotten (a loss's upstream gradient is a scalar)", [(" * out.g", "")]),
    ("huber", "kink", "no clamp: MSE's gradient beyond |r| = 1", [("r.clamp(-1, 1)", "r")]),
    ("huber", "sign", "targ - inp", [("inp.squeeze(-1) - targ", "targ - inp.squeeze(-1)")]),
    ("huber", "broadcast", "no squeeze: (N, 1) - (N,) broadcasts to (N, N)", [("r = inp.squeeze(-1) - targ", "r = inp - targ")]),
    ("linear", "transposed", "chapter 3's w.t(): w is (n_out, n_in) here", [("out.g @ w ", "out.g @ w.t() ")]),
    ("linear", "transposed", "w.g in chapter 3's layout", [("w.g = out.g.t() @ inp", "w.g = inp.t() @ out.g")]),
    ("linear", "axis", "b.g summed over the wrong axis", [("out.g.sum(0)", "out.g.sum(1)")]),
    ("linear", "axis", "b.g not summed", [("b.g = out.g.sum(0)", "b.g = out.g")]),
    ("linear", "sign", "wrong sign in w.g", [("w.g = out.g.t()", "w.g = -out.g.t()")]),
    ("dropout", "left out", "the mask forgotten", [("out.g * mask / (1 - p)", "out.g / (1 - p)")]),
    ("dropout", "factor", "the 1/(1 - p) forgotten", [("out.g * mask / (1 - p)", "out.g * mask")]),
    ("dropout", "left out", "out.g forgotten", [("out.g * mask", "mask")]),
    ("embedding", "repeats", "an assignment: a repeated index keeps one row", [
        ("w.g = torch.zeros_like(w).index_add_(0, idx, out.g)", "w.g = torch.zeros_like(w); w.g[idx] = out.g")]),
    ("embedding", "left out", "out.g forgotten: counts, not gradients", [("idx, out.g)", "idx, torch.ones_like(out.g))")]),
    ("embedding", "sign", "wrong sign", [("idx, out.g)", "idx, -out.g)")]),
    ("conv1d", "flipped", "the kernel flipped in w.g (a true convolution)", [("w.g = torch.einsum(\"not,nctk->ock\", out.g, windows)",
                                                                            "w.g = torch.einsum(\"not,nctk->ock\", out.g, windows).flip(-1)")]),
    ("conv1d", "transposed", "w.g with its channel axes swapped", [("nctk->ock", "nctk->cok")]),
    ("conv1d", "axis", "b.g not summed over the positions", [("out.g.sum((0, 2))", "out.g.sum(0)")]),
    ("conv1d", "missing", "inp.g left at zero", [("inp.g[:, :, k:k + L_out] +=", "_ =")]),
    ("conv1d", "sign", "wrong sign in inp.g", [("+= torch.einsum", "-= torch.einsum")]),
    ("maxpool", "kink", "every entry of a window gets its gradient", [(" == out.unsqueeze(-1)", " == inp[..., :n].reshape(N, C, L // k, k)")]),
    ("maxpool", "left out", "out.g forgotten", [("is_max * out.g.unsqueeze(-1)", "is_max.to(inp.dtype)")]),
    ("maxpool", "sign", "wrong sign", [("(is_max * out.g", "-(is_max * out.g")]),
    ("softmax", "term", "the denominator's term forgotten", [("out * (out.g - (out.g * out).sum(-1, keepdim=True))", "out * out.g")]),
    ("softmax", "broadcast", "a sum without keepdim", [("sum(-1, keepdim=True)", "sum(-1)")]),
    ("softmax", "sign", "wrong sign", [("inp.g = out *", "inp.g = -out *")]),
    ("layernorm", "term", "the mean's term forgotten", [("d - d.mean(-1, keepdim=True) - ", "d - ")]),
    ("layernorm", "term", "the variance's term forgotten", [(" - xhat * (d * xhat).mean(-1, keepdim=True)", "")]),
    ("layernorm", "axis", "w.g summed over the wrong axis", [("w.g = (out.g * xhat).sum(0)", "w.g = (out.g * xhat).sum(-1)")]),
    ("layernorm", "left out", "w forgotten in the gradient of xhat", [("d = out.g * w", "d = out.g")]),
    ("batchnorm", "term", "the batch mean's term forgotten", [("d - d.mean(0, keepdim=True) - ", "d - ")]),
    ("batchnorm", "term", "the batch variance's term forgotten", [(" - xhat * (d * xhat).mean(0, keepdim=True)", "")]),
    ("batchnorm", "axis", "b.g summed over the wrong axis", [("b.g = out.g.sum(0)", "b.g = out.g.sum(1)")]),
    ("batchnorm", "left out", "w forgotten in the gradient of xhat", [("d = out.g * w", "d = out.g")]),
    ("attention", "factor", "the 1/√d forgotten in the backward", [("keepdim=True)) * scale", "keepdim=True))")]),
    ("attention", "term", "the softmax's Jacobian without its denominator term", [("dP - (dP * P).sum(-1, keepdim=True)", "dP")]),
    ("attention", "sign", "wrong sign in v.g", [("v.g = P.t()", "v.g = -P.t()")]),
    ("attention", "transposed", "P where Pᵀ belongs in v.g", [("v.g = P.t() @ out.g", "v.g = P @ out.g")]),
    ("tanh_backward", "factor", "the 2 of tanh² forgotten", [(" * -2 * t", " * -t")]),
    ("tanh_backward", "left out", "gout forgotten in inp.g", [("out.g * gout * -2", "out.g * -2")]),
    ("tanh_backward", "sign", "wrong sign in inp.g", [(" * -2 * t", " * 2 * t")]),
    ("segment", "sign", "wrong sign in w2.g", [("w2.g, b2.g = a.t()", "w2.g, b2.g = -a.t()")]),
    ("segment", "axis", "b2.g not summed", [("out.g.sum(0)", "out.g")]),
    ("segment", "transposed", "w1.g transposed", [("inp.t() @ d_h, d_h.sum(0)", "(d_h.t() @ inp), d_h.sum(0)")]),
    ("segment", "left out", "out.g forgotten in w2.g", [("a.t() @ out.g", "a.t() @ torch.ones_like(out.g)")]),
    # added with issue 24: an element-wise factor left out
    ("sigmoid", "element-wise", "σ' left out: out.g passed through", [("out * (1 - out) * out.g", "1 * out.g")]),
    ("tanh", "element-wise", "tanh' left out", [("(1 - out ** 2) * out.g", "out.g * 1")]),
    ("softmax", "element-wise", "the leading s_ik left out", [("inp.g = out * (out.g", "inp.g = (out.g")]),
    ("layernorm", "element-wise", "the scale 1/√(σ² + ε) left out of inp.g", [("inp.g = rstd * (d", "inp.g = (d")]),
    ("batchnorm", "element-wise", "the scale 1/√(σ² + ε) left out of inp.g", [("inp.g = rstd * (d", "inp.g = (d")]),
    ("huber", "element-wise", "h'(r) left out: the mean's 1/N alone", [("r.clamp(-1, 1) / r.shape[0]", "torch.ones_like(r) / r.shape[0]")]),
    # a transposed factor in a product, whose shapes clash on the non-square cases
    ("linear", "transposed", "inp.g = out.g.t() @ w: the transpose on the wrong factor", [("inp.g = out.g @ w ", "inp.g = out.g.t() @ w ")]),
    ("attention", "transposed", "k.g = dS @ q: dS's transpose left out", [("k.g = dS.t() @ q", "k.g = dS @ q")]),
    ("attention", "transposed", "q.g = dS.t() @ k: a transpose too many", [("q.g = dS @ k", "q.g = dS.t() @ k")]),
    # the unbiased variance (÷ N - 1): a factor, and NaN at N = 1
    ("batchnorm", "unbiased", "torch.var: the unbiased variance", [("var = ((inp - mean) ** 2).mean(0, keepdim=True)", "var = inp.var(0, keepdim=True)")]),
    ("layernorm", "unbiased", "torch.var: the unbiased variance", [("var = ((inp - mean) ** 2).mean(-1, keepdim=True)", "var = inp.var(-1, keepdim=True)")]),
    ("batchnorm", "unbiased", "derived for an unbiased variance throughout", [
        ("var = ((inp - mean) ** 2).mean(0, keepdim=True)", "var = ((inp - mean) ** 2).sum(0, keepdim=True) / (inp.shape[0] - 1)"),
        ("(d * xhat).mean(0, keepdim=True))", "(d * xhat).sum(0, keepdim=True) / (inp.shape[0] - 1))")]),
    ("layernorm", "unbiased", "the variance as torch.std squared (unbiased)", [("var = ((inp - mean) ** 2).mean(-1, keepdim=True)", "var = inp.std(-1, keepdim=True) ** 2")]),
    # out.g changed in place: a warning, right or wrong
    ("relu", "in-place", "out.g masked in place, then passed on (right)", [("inp.g = (inp > 0).to(inp.dtype) * out.g", "out.g[inp < 0] = 0; inp.g = out.g")]),
    ("sigmoid", "in-place", "out.g *= σ' (right)", [("inp.g = out * (1 - out) * out.g", "out.g *= out * (1 - out); inp.g = out.g")]),
    ("dropout", "in-place", "out.g.mul_(...) (right)", [("inp.g = out.g * mask / (1 - p)", "inp.g = out.g.mul_(mask / (1 - p))")]),
    ("layernorm", "in-place", "d = out.g; d *= w (right: w.g and b.g were computed before)", [("d = out.g * w ", "d = out.g; d *= w ")]),
    # a broadcast that clashes on the non-square cases
    ("layernorm", "broadcast", "the row mean of d without keepdim", [("d - d.mean(-1, keepdim=True)", "d - d.mean(-1)")]),
    ("layernorm", "broadcast", "the row mean of d·x̂ without keepdim", [("(d * xhat).mean(-1, keepdim=True)", "(d * xhat).mean(-1)")]),
    # the two examples of a diagnosis that one case with a size of 1 would get wrong, and two more
    ("batchnorm", "term", "neither the mean's nor the variance's term", [
        ("d - d.mean(0, keepdim=True) - xhat * (d * xhat).mean(0, keepdim=True)", "d")]),
    ("layernorm", "term", "neither the mean's nor the variance's term", [
        ("d - d.mean(-1, keepdim=True) - xhat * (d * xhat).mean(-1, keepdim=True)", "d")]),
    ("conv1d", "flipped", "inp.g from the flipped kernel (a true convolution's backward)", [("w[:, :, k])", "w[:, :, K - 1 - k])")]),
    ("conv1d", "flipped", "inp.g and w.g from the flipped kernel", [("w[:, :, k])", "w[:, :, K - 1 - k])"),
                                                                    ("out.g, windows)", "out.g, windows).flip(-1)")]),
    # the puzzles: the Jacobian read the wrong way, J out.g where x.g is out.g J
    ("cumsum", "jvp", "summed from the wrong end: the forward's own cumsum of out.g", [("out.g.flip(0).cumsum(0).flip(0)", "out.g.cumsum(0)")]),
    ("roll", "jvp", "rolled the way the forward rolls", [("out.g.roll(-k)", "out.g.roll(k)")]),
    ("sort", "jvp", "the sort's permutation applied to out.g", [("torch.zeros_like(x).scatter(0, x.argsort(), out.g)", "out.g[x.argsort()]")]),
]
NEW_KINDS = ("element-wise", "transposed", "unbiased", "in-place", "jvp")   # each with at least 3 mutants added since issue 24


def source(name):
    return inspect.getsource(SOLUTIONS[name])


def mutant(name, edits, label):
    src = source(name)
    for old, new in edits:
        assert src.count(old) == 1, f"mutant {label!r}: {old!r} occurs {src.count(old)} times in {name}_grad"
        src = src.replace(old, new)
    ns, filename = {"torch": torch}, f"<mutant {label}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)    # its lines, as a notebook's cell has them
    exec(compile(src, filename, "exec"), ns)
    return ns[f"{name}_grad"]


EVERY = {**EXERCISES, **PUZZLES}


@pytest.mark.parametrize("name", list(EVERY))
def test_the_reference_solution_is_graded_correct_quickly(name, capsys):
    t0 = time.perf_counter()
    res = grade(name, SOLUTIONS[name])
    seconds = time.perf_counter() - t0
    assert res.ok and res.verdict == "correct" and not res.warnings and res.picture is None, capsys.readouterr().out
    assert len(res.cases) == len(EVERY[name].cases) >= 3
    assert seconds < 1.0, f"grading {name} took {seconds:.2f} s"


def test_every_exercise_has_a_solution_and_three_mutants():
    assert set(SOLUTIONS) == set(EVERY) and len(EXERCISES) >= 13 and len(PUZZLES) >= 15
    assert not set(EXERCISES) & set(PUZZLES)
    for name in EXERCISES:
        assert sum(m[0] == name for m in MUTANTS) >= 3, name
    added = MUTANTS[MUTANTS.index(next(m for m in MUTANTS if m[1] == "element-wise")):]
    for kind in NEW_KINDS:
        assert sum(m[1] == kind for m in added) >= 3, kind


PRODUCTS = {"linear", "embedding", "conv1d", "attention"}     # a matrix product (or einsum) in the backward


def test_every_exercise_has_n_1_width_1_and_non_square_cases_and_a_square_one_where_products_are():
    "The promise of the exercise notebooks' introductions."
    for name, ex in EXERCISES.items():
        shapes = []
        for i, sizes in enumerate(ex.cases):
            args = ex.make(torch.Generator().manual_seed(i), **sizes)
            shapes += [tuple(t.shape) for t in args.values() if torch.is_tensor(t) and t.ndim >= 1]
        assert any(s[0] == 1 for s in shapes), (name, "N = 1", shapes)
        assert any(1 in s[1:] for s in shapes), (name, "width 1", shapes)
        assert any(len(set(s)) > 1 for s in shapes if len(s) >= 2), (name, "non-square", shapes)
        if name in PRODUCTS:
            assert any(s[0] == s[1] > 1 for s in shapes if len(s) >= 2), (name, "square", shapes)


def catch_table(results):
    "A markdown table: per kind of diagnosis, the mutants, how many were caught and how many named right."
    rows = {}
    for kind, caught, named in results:
        r = rows.setdefault(kind, [0, 0, 0])
        r[0] += 1; r[1] += caught; r[2] += named
    n, c, m = (sum(r[k] for r in rows.values()) for k in range(3))
    return "\n".join(["| kind | mutants | caught | named right |", "|---|---|---|---|"]
                     + [f"| {k} | {a} | {b} | {d} |" for k, (a, b, d) in sorted(rows.items())]
                     + [f"| all | {n} | {c} ({c / n:.0%}) | {m} ({m / n:.0%}) |"])


def test_the_grader_rejects_every_mutant_and_names_the_mistake(record_property, capsys):
    results, lines = [], []
    for name, kind, what, edits in MUTANTS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # torch.var warns at N = 1 (N - 1 = 0): the mutant's own doing
            res = grade(name, mutant(name, edits, what))
        out = capsys.readouterr().out
        caught, named = not res.ok or bool(res.warnings), kind in res.kinds
        results.append((kind, caught, named))
        if not caught or not named:
            lines.append(f"  {name}: {what}: expected {kind!r}, got {res.verdict} {res.kinds}\n{out}")
    n, caught, named = len(results), sum(r[1] for r in results), sum(r[2] for r in results)
    summary = (f"exercises' grader: {caught} of {n} mutants caught ({caught / n:.0%}), "
               f"{named} named right ({named / n:.0%})")
    record_property("summary", summary)
    print(summary + "\n" + catch_table(results) + ("\n" + "\n".join(lines) if lines else ""))
    assert caught == n, "\n".join(lines)
    assert named / n >= 0.95, "\n".join(lines)


def test_every_mutation_changes_the_source():
    for name, _, what, edits in MUTANTS:
        assert all(old != new for old, new in edits), what
        mutant(name, edits, what)             # each old text occurs exactly once


def _sizes(ex, draw):
    "Random sizes like the exercise's cases: every count 1 to 6, p and slope in (0, 1), windows no longer than L."
    sizes = {}
    for key, v in ex.cases[0].items():
        sizes[key] = draw(st.floats(0.05, 0.9)) if isinstance(v, float) else draw(st.integers(1, 6))
    for small, big in (("K", "L"), ("k", "L")):
        if small in sizes and big in sizes: sizes[big] = max(sizes[big], sizes[small])
    return sizes


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_grader_never_rejects_a_right_answer(data):
    "On random sizes and seeds, every reference solution (exercise or puzzle) passes, and autograd agrees with central differences."
    name = data.draw(st.sampled_from(list(EVERY)))
    ex, seed = EVERY[name], data.draw(st.integers(0, 2 ** 31 - 1))
    sizes = _sizes(ex, data.draw)
    names = dict(zip(ex.params, ex.params))
    case = E._run_case(SOLUTIONS[name], ex, sizes, seed, names)
    assert case is not None and not case.error and not case.problems and not case.warning, (name, sizes, seed, case)
    gen = torch.Generator().manual_seed(seed)
    args = ex.make(gen, **sizes)
    G = E._randn(gen, *ex.forward(*args.values()).shape)
    ag, fd = E._autograd(ex, args, G), E._central(ex, args, G)
    for n in ex.graded:
        torch.testing.assert_close(ag[n], fd[n], rtol=1e-6, atol=1e-8 * max(1, ag[n].abs().max().item()))


# What a learner runs into.
def test_a_stub_is_not_implemented_yet(capsys):
    def sigmoid_grad(inp, out):
        raise NotImplementedError   # your code: set inp.g
    def layernorm_grad(inp, out, w, b): pass
    def tanh_grad(inp, out): inp_g = (1 - out ** 2) * out.g      # a local variable, not inp.g
    for name, f, says in (("sigmoid", sigmoid_grad, "not implemented yet. Write it in the cell above"),
                          ("layernorm", layernorm_grad, "not implemented yet: it ran, but set no .g. It must set inp.g, w.g, b.g."),
                          ("tanh", tanh_grad, "not implemented yet: it ran, but set no .g. It must set inp.g.")):
        res = grade(name, f)
        out = capsys.readouterr().out
        assert res.verdict == "not implemented yet" and not res.ok
        assert out.startswith(f"{name}_grad: {says}") and "Traceback" not in out, out


def test_an_error_is_reported_with_its_line_and_case(capsys):
    def linear_grad(inp, out, w, b):
        b.g = out.g.sum(0)
        inp.g = out.g @ w
        w.g = out.g.t() @ inp[:, 99]     # no such column
    res = grade("linear", linear_grad)
    out = capsys.readouterr().out
    assert res.verdict == "failed" and res.cases[0].error
    assert "IndexError: index 99 is out of bounds" in out, out
    assert "at line 4 of linear_grad: w.g = out.g.t() @ inp[:, 99]" in out, out
    assert "On case 1 (inp (1, 3), out (1, 2), w (2, 3), b (2,)):" in out, out
    assert out.rstrip().endswith('hint("linear") shows hint 1 of 3.'), out


# The report: one diagnosis per gradient, the one that explains the most cases.
def test_a_transposed_factor_is_named_where_the_shapes_clash_and_where_they_run(capsys):
    def linear_grad(inp, out, w, b):
        b.g = out.g.sum(0)
        w.g = out.g.t() @ inp
        inp.g = out.g @ w.t()            # chapter 3's layout: here w is (n_out, n_in)
    res = grade("linear", linear_grad)
    out = capsys.readouterr().out
    assert res.kinds == ["transposed"], out
    assert "inp.g: transposed: yours is the gradient for w.t() in place of w" in out, out
    assert ("on cases 1, 2 and 3 it does not run: at line 4 of linear_grad (inp.g = out.g @ w.t()), (1, 2) @ (3, 2) "
            "cannot be multiplied; with its second factor transposed, (2, 3), it could") in out, out
    assert "  case 1  inp (1, 3), out (1, 2), w (2, 3), b (2,)  error (inp.g transposed)" in out, out


def test_a_missing_element_wise_factor_is_named_in_the_learners_names(capsys):
    def sigmoid_grad(x, y): x.g = y.g * 1
    assert grade("sigmoid", sigmoid_grad).kinds == ["element-wise"]
    out = capsys.readouterr().out
    assert ("x.g: off by y·(1 − y) per element: yours × y·(1 − y) is right: the sigmoid's derivative σ(1 − σ) left out?"
            in out), out


def test_the_unbiased_variance_is_named_and_its_nan_at_n_1(capsys):
    name, _, what, edits = next(m for m in MUTANTS if m[1] == "unbiased" and m[0] == "batchnorm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = grade(name, mutant(name, edits, what))
    out = capsys.readouterr().out
    assert "unbiased" in res.kinds, out
    assert "divided by N − 1 and not N (torch.var's default), which scales x̂ by √((N − 1)/N): at N = 1 it is 0/0, NaN" in out, out
    assert "likely the same mistake as w.g's (unbiased)" in out, out


def test_the_diagnosis_explains_the_most_cases_not_the_first(capsys):
    "The issue's two examples: at N = 1 (or one output position) a wrong answer looks like another mistake."
    name, _, what, edits = next(m for m in MUTANTS if m[2] == "neither the mean's nor the variance's term" and m[0] == "batchnorm")
    res = grade(name, mutant(name, edits, what))
    out = capsys.readouterr().out
    assert res.kinds == ["term"] and "the batch mean and the batch variance did not depend on inp" in out, out
    assert "the same on cases 1, 2 and 4" in out, out
    name, _, what, edits = next(m for m in MUTANTS if m[2].startswith("inp.g from the flipped kernel"))
    res = grade(name, mutant(name, edits, what))
    out = capsys.readouterr().out
    assert res.kinds == ["flipped"] and "a true convolution, its kernel flipped" in out and "yours.flip(2)" not in out, out


def test_when_cases_disagree_the_report_says_so(capsys):
    def sigmoid_grad(inp, out):
        g = out * (1 - out) * out.g
        inp.g = -g if inp.shape[1] == 7 else 2 * g               # a sign on case 3, a factor 2 on the others
    res = grade("sigmoid", sigmoid_grad)
    out = capsys.readouterr().out
    assert res.kinds == ["factor"] and "the same on cases 1 and 2" in out, out
    assert "case 3 disagrees: inp.g: wrong sign" in out, out


def test_a_diagnosis_only_a_case_with_a_size_of_1_supports_is_never_quoted_alone(capsys):
    def sigmoid_grad(inp, out):
        g = out * (1 - out) * out.g
        inp.g = -g if inp.shape[0] == 1 else g * (1 + inp.abs())     # a sign at N = 1 only; elsewhere just wrong
    res = grade("sigmoid", sigmoid_grad)
    out = capsys.readouterr().out
    assert res.kinds == ["values"], out
    assert "case 1 (N = 1: there several mistakes look alike) suggests: inp.g: wrong sign" in out, out


def test_an_in_place_change_of_out_g_is_warned_about_even_when_right(capsys):
    def relu_grad(inp, out):
        out.g[inp < 0] = 0
        inp.g = out.g
    res = grade("relu", relu_grad)
    out = capsys.readouterr().out
    assert res.ok and res.kinds == ["in-place"] and len(res.warnings) == 4, out
    assert "Warning (cases 1, 2, 3 and 4): your function changed out.g in place" in out, out
    def relu_grad(x, y): y.g = (x > 0).double() * y.g; x.g = y.g          # out.g replaced, not changed
    res = grade("relu", relu_grad)
    assert res.ok and res.kinds == ["in-place"] and "your function replaced y.g" in capsys.readouterr().out


# Hints.
def test_every_exercise_has_three_hints_and_none_is_code():
    for name, ex in EVERY.items():
        assert len(ex.hints) >= 3 and ex.book, name
        lines = [l.split("#")[0].strip() for l in inspect.getsource(SOLUTIONS[name]).splitlines()[1:]]
        for h in ex.hints:
            assert not any(len(l) > 12 and l in h for l in lines), f"{name}: a hint holds a line of the solution: {h}"
            assert ".g =" not in h and "torch." not in h, f"{name}: a hint reads like code: {h}"


def test_hint_climbs_the_ladder_and_the_report_points_to_the_next_rung(capsys, monkeypatch):
    monkeypatch.setattr(E, "_SHOWN", {})
    def tanh_grad(inp, out): inp.g = out.g * 1
    grade("tanh", tanh_grad)
    assert capsys.readouterr().out.rstrip().endswith('Stuck? hint("tanh") shows hint 1 of 3.')
    hint("tanh")
    assert capsys.readouterr().out == f"Hint 1 of 3 for tanh: {EXERCISES['tanh'].hints[0]}\n"
    grade("tanh", tanh_grad)
    assert capsys.readouterr().out.rstrip().endswith('Stuck? hint("tanh") shows hint 2 of 3.')
    hint("tanh"), hint("tanh")
    out = capsys.readouterr().out
    assert out.startswith("Hint 2 of 3") and "Hint 3 of 3" in out, out
    assert out.rstrip().endswith("That is the last hint; the worked solution is in nbs/solutions/03_activations_and_losses.ipynb."), out
    grade("tanh", tanh_grad)
    assert capsys.readouterr().out.rstrip().endswith("Every hint is shown: the worked solution is in "
                                                     "nbs/solutions/03_activations_and_losses.ipynb.")
    hint("tanh", 1)
    assert capsys.readouterr().out.startswith("Hint 1 of 3 for tanh")
    grade("tanh", SOLUTIONS["tanh"])
    assert "Stuck?" not in capsys.readouterr().out


@pytest.mark.parametrize("args, error, message", [
    (("layer_norm",), ValueError, "hint: there is no exercise 'layer_norm'; did you mean 'layernorm'"),
    ((3,), TypeError, "hint: the first argument is the exercise's name, a string such as 'sigmoid'; got int"),
    (("layernorm", 4), ValueError, "hint: n is the number of a hint, from 1 to 3 (or None: the next one); got 4"),
    (("cumsum", "2"), TypeError, "hint: n is the number of a hint, an int from 1 to 3 (or None: the next one); got '2'"),
    (("cumsum", True), TypeError, "got True"),
])
def test_bad_input_to_hint_gets_a_clear_error(args, error, message):
    with pytest.raises(error) as e:
        hint(*args)
    assert message in str(e.value), str(e.value)


# Puzzles: a wrong answer is drawn as its Jacobian.
@pytest.mark.parametrize("name", list(PUZZLES))
def test_the_jacobian_drawn_for_a_right_answer_is_autograds(name):
    "Row k of what the grader draws as your Jacobian is your x.g for a one-hot out.g: for the right answer, autograd's Jacobian."
    ex = PUZZLES[name]
    for i, sizes in enumerate(ex.cases):
        args = ex.make(torch.Generator().manual_seed(i), **sizes)
        mine, ref = E._jacobians(SOLUTIONS[name], ex, args, ex.forward(*args.values()))
        torch.testing.assert_close(mine, ref, rtol=1e-12, atol=1e-12)
        assert ref.shape == (ex.forward(*args.values()).numel(), args["x"].numel())


def test_a_wrong_puzzle_answer_comes_with_its_jacobian_and_the_wrong_entries_marked(capsys):
    def cumsum_grad(x, out): x.g = out.g.cumsum(0)            # summed from the wrong end: the upper triangle
    res = grade("cumsum", cumsum_grad)
    out = capsys.readouterr().out
    assert res.verdict == "wrong" and res.picture is not None, out
    yours, expected = res.picture.axes
    assert yours.get_title() == "yours: 12 of 16 wrong" and expected.get_title() == "expected"     # case 2: L = 4
    assert len(yours.patches) == len(expected.patches) == 12                 # a red box on each wrong entry
    assert "case 2 (x (4,), out (4,))" in res.picture._suptitle.get_text()
    def flip_grad(x, out): x.g = out.g                         # the flip forgotten: a shape right, the values not
    assert grade("flip", flip_grad).picture is not None
    def sum_grad(x, out): x.g = out.g                          # a scalar: no Jacobian of x's shape to draw
    res = grade("sum", sum_grad)
    assert res.verdict == "wrong" and res.picture is None, capsys.readouterr().out


def test_a_gradient_of_the_wrong_type_or_dtype_is_named(capsys):
    def sigmoid_grad(inp, out): inp.g = (out * (1 - out) * out.g).tolist()
    def tanh_grad(inp, out): inp.g = ((1 - out ** 2) * out.g).float()
    def relu_grad(inp, out): inp.g = (inp > 0).float()            # float32, and out.g forgotten
    def leaky_relu_grad(inp, out, slope): inp.g = inp > 0         # a bool mask
    assert grade("sigmoid", sigmoid_grad).kinds == ["type"]
    assert "inp.g is a list; it must be a tensor of shape (3, 7), float64" in capsys.readouterr().out     # shown on a case with no size of 1
    assert grade("tanh", tanh_grad).kinds == ["dtype"]
    assert ("inp.g: torch.float32, expected torch.float64 (torch.zeros(...) without dtype= makes float32); "
            "its values are right") in capsys.readouterr().out
    assert grade("relu", relu_grad).kinds == ["dtype"]
    assert "makes float32); besides, out.g is left out: yours is right if out.g were all ones" in capsys.readouterr().out
    assert grade("leaky_relu", leaky_relu_grad).kinds == ["dtype"]
    assert "inp.g: wrong dtype: torch.bool, expected torch.float64" in capsys.readouterr().out


def test_a_function_that_returns_its_gradient_is_told_to_set_g(capsys):
    def softmax_grad(inp, out): return out * (out.g - (out.g * out).sum(-1, keepdim=True))
    res = grade("softmax", softmax_grad)
    assert res.verdict == "failed"
    assert "it returned a Tensor and set no .g: set inp.g (chapter 3)" in capsys.readouterr().out


def test_messages_use_the_learners_own_names(capsys):
    def linear_grad(x, dy, weight, bias):
        x.g = dy.g @ weight
        weight.g = x.t() @ dy.g
        bias.g = dy.g.sum(0)
    grade("linear", linear_grad)
    out = capsys.readouterr().out
    assert "weight.g: transposed" in out and "x (1, 3), dy (1, 2), weight (2, 3), bias (2,)" in out, out


@pytest.mark.parametrize("args, error, message", [
    (("sigmod", SOLUTIONS["sigmoid"]), ValueError, "grade: there is no exercise 'sigmod'; did you mean 'sigmoid'?"),
    (("LayerNorm", SOLUTIONS["layernorm"]), ValueError, "did you mean 'layernorm'"),
    ((3, SOLUTIONS["sigmoid"]), TypeError, "the first argument is the exercise's name, a string such as 'sigmoid'; got int"),
    (("sigmoid", None), TypeError, "must be your gradient function itself, sigmoid_grad without parentheses; got NoneType"),
    (("sigmoid", SOLUTIONS["linear"]), TypeError, "cannot be called as sigmoid_grad(inp, out): the 'sigmoid' exercise passes 2 arguments"),
    (("linear", lambda inp, out: None), TypeError, "the 'linear' exercise passes 4 arguments, inp, out, w, b"),
])
def test_bad_input_to_grade_gets_a_clear_error(args, error, message):
    with pytest.raises(error, match=None) as e:
        grade(*args)
    assert message in str(e.value), str(e.value)
