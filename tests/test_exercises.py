"""The exercises' grader (backprop.exercises, appendix 97) grades right.

- Every reference solution (tests/exercise_solutions.py) is graded correct, and quickly.
- Every exercise has at least 3 mutants: its reference solution with one classic mistake planted by a
  textual edit (each edit's old text must occur exactly once, so a mutant that no longer applies fails
  loudly). Each is labelled with the kind of diagnosis it should get. Every mutant must be rejected;
  the catch rate and the share named right are printed (record_property) and must be 100 % and >= 90 %.
- Hypothesis draws random sizes and seeds: the grader never rejects a reference solution, and its two
  references (autograd, central differences) always agree on its cases.
- What a learner runs into: a stub, a function that raises, one that sets a .g of the wrong type or
  dtype, one that returns its gradient, bad arguments to grade().
"""
import inspect
import time

import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import backprop.exercises as E
from backprop.exercises import EXERCISES, grade
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
]


def source(name):
    return inspect.getsource(SOLUTIONS[name])


def mutant(name, edits, label):
    src = source(name)
    for old, new in edits:
        assert src.count(old) == 1, f"mutant {label!r}: {old!r} occurs {src.count(old)} times in {name}_grad"
        src = src.replace(old, new)
    ns = {"torch": torch}
    exec(compile(src, f"<mutant {label}>", "exec"), ns)
    return ns[f"{name}_grad"]


@pytest.mark.parametrize("name", list(EXERCISES))
def test_the_reference_solution_is_graded_correct_quickly(name, capsys):
    t0 = time.perf_counter()
    res = grade(name, SOLUTIONS[name])
    seconds = time.perf_counter() - t0
    assert res.ok and res.verdict == "correct", capsys.readouterr().out
    assert len(res.cases) == len(EXERCISES[name].cases) >= 3
    assert seconds < 1.0, f"grading {name} took {seconds:.2f} s"


def test_every_exercise_has_a_solution_and_three_mutants():
    assert set(SOLUTIONS) == set(EXERCISES) and len(EXERCISES) >= 13
    for name in EXERCISES:
        assert sum(m[0] == name for m in MUTANTS) >= 3, name


def test_every_exercise_has_n_1_width_1_and_non_square_cases():
    for name, ex in EXERCISES.items():
        shapes = []
        for i, sizes in enumerate(ex.cases):
            args = ex.make(torch.Generator().manual_seed(i), **sizes)
            shapes += [tuple(t.shape) for t in args.values() if torch.is_tensor(t) and t.ndim >= 1]
        assert any(s[0] == 1 for s in shapes), (name, "N = 1", shapes)
        assert any(1 in s[1:] for s in shapes), (name, "width 1", shapes)
        assert any(len(set(s)) > 1 for s in shapes if len(s) >= 2), (name, "non-square", shapes)


def test_the_grader_rejects_every_mutant_and_names_the_mistake(record_property, capsys):
    caught, named, lines = 0, 0, []
    for name, kind, what, edits in MUTANTS:
        res = grade(name, mutant(name, edits, what))
        out = capsys.readouterr().out
        caught += not res.ok
        named += kind in res.kinds
        if res.ok or kind not in res.kinds:
            lines.append(f"  {name}: {what}: expected {kind!r}, got {res.verdict} {res.kinds}\n{out}")
    n = len(MUTANTS)
    summary = (f"exercises' grader: {caught} of {n} mutants caught ({caught / n:.0%}), "
               f"{named} named right ({named / n:.0%})")
    record_property("summary", summary)
    print(summary + ("\n" + "\n".join(lines) if lines else ""))
    assert caught == n, "\n".join(lines)
    assert named / n >= 0.9, "\n".join(lines)


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
        if small in sizes: sizes[big] = max(sizes[big], sizes[small])
    return sizes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_grader_never_rejects_a_right_answer(data):
    "On random sizes and seeds, every reference solution passes, and autograd agrees with central differences."
    name = data.draw(st.sampled_from(list(EXERCISES)))
    ex, seed = EXERCISES[name], data.draw(st.integers(0, 2 ** 31 - 1))
    sizes = _sizes(ex, data.draw)
    names = dict(zip(ex.params, ex.params))
    case = E._run_case(SOLUTIONS[name], ex, sizes, seed, names)
    assert case is not None and not case.error and not case.problems, (name, sizes, seed, case)
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
        inp.g = out.g @ w.t()            # chapter 3's layout: the shapes do not match
    res = grade("linear", linear_grad)
    out = capsys.readouterr().out
    assert not res.ok and res.cases[0].error
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied" in out, out
    assert "at line 3 of linear_grad: inp.g = out.g @ w.t()" in out, out
    assert "On case 1 (inp (1, 3), out (1, 2), w (2, 3), b (2,)):" in out, out
    assert "inp.g transposed" in out, out      # the square case runs, and the mistake is named there


def test_a_gradient_of_the_wrong_type_or_dtype_is_named(capsys):
    def sigmoid_grad(inp, out): inp.g = (out * (1 - out) * out.g).tolist()
    def tanh_grad(inp, out): inp.g = ((1 - out ** 2) * out.g).float()
    def relu_grad(inp, out): inp.g = (inp > 0).float()            # float32, and out.g forgotten
    def leaky_relu_grad(inp, out, slope): inp.g = inp > 0         # a bool mask
    assert grade("sigmoid", sigmoid_grad).kinds == ["type"]
    assert "inp.g is a list; it must be a tensor of shape (1, 4), float64" in capsys.readouterr().out
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
