"""backprop.autograd covers micrograd's Value (chapters 10-11, issue 17): Python numbers in Tensor(...), `/` on both
sides, `c ** x`, exp, log, tanh, sigmoid. Each new op against torch autograd and against central differences in
float64, with broadcasting; numbers on either side of + - * / and their dtype; micrograd-style programs (the
README example, scalar neurons trained step for step against torch); and bad input to the new ops, which must get
a clear error raised by a check in backprop itself (the bad-input sweep's rule).

Property tests draw shapes (and a seed for the values) with hypothesis, derandomized; values come from a seeded
torch.Generator.
"""
import random
import re
import traceback
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch.testing import assert_close

import backprop
from backprop.autograd import Tensor
from backprop.check import numerical_grad

f64 = dict(dtype=torch.float64)
TOL64 = dict(rtol=1e-10, atol=1e-12)              # same formulas, another order: only rounding differs
FD_TOL = dict(rtol=1e-6, atol=1e-8)               # chapter 7's tolerance for central differences, h = 1e-6
PROPS = settings(max_examples=25, deadline=None, derandomize=True)

UNARY = {                                         # name: (the op, the domain its input is drawn from)
    "exp": (lambda t: t.exp(), "any"),
    "log": (lambda t: t.log(), "positive"),
    "tanh": (lambda t: t.tanh(), "any"),
    "sigmoid": (lambda t: t.sigmoid(), "any"),
    "2 ** t": (lambda t: 2 ** t, "any"),
    "0.5 ** t": (lambda t: 0.5 ** t, "any"),
    "t ** -1.5": (lambda t: t ** -1.5, "positive"),
    "1 / t": (lambda t: 1 / t, "away from 0"),
    "t / 4": (lambda t: t / 4, "any"),
}


def draw(shape, domain, gen):
    "A float64 tensor of `shape` from `domain`: any sign, positive, or of size at least 0.5 with either sign."
    x = torch.randn(shape, generator=gen, **f64)
    if domain == "positive": return x.abs() + 0.3
    if domain == "away from 0": return torch.where(x < 0, x - 0.5, x + 0.5)
    return x


def check_against_torch_and_fd(f, datas, G):
    "f's output and gradients for the upstream gradient G: ours == torch autograd (TOL64) == central differences (FD_TOL)."
    leaves = [Tensor(d.clone(), requires_grad=True) for d in datas]
    out = f(*leaves)
    out.backward(G)
    refs = [d.clone().requires_grad_() for d in datas]
    ref_out = f(*refs)
    ref_out.backward(G)
    assert_close(out.data, ref_out.detach(), **TOL64)
    n = 0
    for i, (leaf, ref) in enumerate(zip(leaves, refs, strict=True)):
        assert leaf.grad.shape == datas[i].shape
        assert_close(leaf.grad, ref.grad, **TOL64)
        fd = numerical_grad(lambda x: (f(*datas[:i], x, *datas[i + 1:]) * G).sum(), datas[i])
        assert_close(leaf.grad, fd, **FD_TOL)
        n += 1
    assert n == len(datas) > 0
    return out


# ---------------------------------------------------------------- each new op, against torch and central differences

@PROPS
@given(st.lists(st.integers(1, 4), min_size=0, max_size=3), st.sampled_from(sorted(UNARY)), st.integers(0, 2**31 - 1))
def test_each_new_unary_op_matches_torch_and_central_differences(shape, name, seed):
    f, domain = UNARY[name]
    gen = torch.Generator().manual_seed(seed)
    x = draw(shape, domain, gen)
    out = check_against_torch_and_fd(f, [x], torch.randn(shape, generator=gen, **f64))
    assert out.dtype == torch.float64 and out.shape == x.shape


@st.composite
def broadcastable_shapes(draw_):
    "Two shapes that broadcast together: each operand drops leading axes of a result shape and sets some to 1."
    full = draw_(st.lists(st.integers(1, 4), min_size=0, max_size=3))
    def operand():
        k = draw_(st.integers(0, len(full)))
        return [1 if draw_(st.booleans()) else n for n in full[k:]]
    return operand(), operand()


@PROPS
@given(broadcastable_shapes(), st.integers(0, 2**31 - 1))
def test_division_with_broadcasting_matches_torch_and_central_differences(shapes, seed):
    sa, sb = shapes
    gen = torch.Generator().manual_seed(seed)
    a, b = draw(sa, "any", gen), draw(sb, "away from 0", gen)
    G = torch.randn(torch.broadcast_shapes(a.shape, b.shape), generator=gen, **f64)
    for f in (lambda a, b: a / b, lambda a, b: (a + 1.) / (b * b) - 3. / b):
        check_against_torch_and_fd(f, [a, b], G)


def test_an_expression_of_every_new_op_matches_torch_and_central_differences():
    gen = torch.Generator().manual_seed(11)
    a, b = torch.randn(3, 1, generator=gen, **f64), torch.randn(4, generator=gen, **f64)
    def f(a, b): return ((a / (b * b + 1.)).tanh() * 2 ** a + (b.sigmoid() + 1.).log() - 3. / (1. + a.exp())) ** 2
    check_against_torch_and_fd(f, [a, b], torch.randn(3, 4, generator=gen, **f64))


def test_the_closures_save_outputs_where_the_derivative_is_written_in_them():
    # d/dx exp = exp, d/dx tanh = 1 - tanh^2, d/dx sigmoid = s (1 - s): exact values at x = 0
    for name, expected in [("exp", 1.), ("tanh", 1.), ("sigmoid", 0.25)]:
        x = Tensor(0., requires_grad=True)
        getattr(x, name)().backward()
        assert x.grad.item() == expected, name
    x = Tensor(0., requires_grad=True)
    (2 ** x).backward()
    assert_close(x.grad, torch.tensor(torch.log(torch.tensor(2., **f64)).item(), **f64), rtol=1e-15, atol=0)


# ---------------------------------------------------------------- numbers: in Tensor(...), and on either side of an op

def test_a_python_number_makes_a_0d_float64_tensor_as_micrograd_floats_are():
    for v in (-4.0, 2, 0, 1e300):
        t = Tensor(v, requires_grad=True)
        assert t.dtype == torch.float64 and t.shape == () and t.item() == float(v) and t.is_leaf
    assert torch.tensor(-4.0).dtype == torch.float32, "torch's default differs: that is the choice documented in chapter 10"
    assert repr(Tensor(-4.0)) == "Tensor(data=-4.0, leaf, requires_grad=False)"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_numbers_on_either_side_become_constants_of_the_tensor_dtype(dtype):
    t = Tensor(torch.tensor([1., 2., 4.], dtype=dtype), requires_grad=True)
    outs = [t + 1, 1 + t, t - 1, 1 - t, t * 2., 2. * t, t / 4, 4 / t, t ** 2, 2 ** t, -t]
    assert all(o.dtype == dtype for o in outs)
    assert [o.data.tolist() for o in outs[:4]] == [[2., 3., 5.], [2., 3., 5.], [0., 1., 3.], [0., -1., -3.]]
    assert outs[7].data.tolist() == [4., 2., 1.]
    sum(outs).sum().backward()
    ref = torch.tensor([1., 2., 4.], dtype=dtype, requires_grad=True)
    sum([ref + 1, 1 + ref, ref - 1, 1 - ref, ref * 2., 2. * ref, ref / 4, 4 / ref, ref ** 2, 2 ** ref, -ref]).sum().backward()
    assert_close(t.grad, ref.grad)


def test_plus_equals_rebinds_to_a_new_node_and_leaves_the_old_one_alone():
    a = Tensor(2., requires_grad=True)
    c = a * 3.
    old = c
    c += c + 1                                                     # c = c + (c + 1): old c used twice
    assert c is not old and old.item() == 6. and c.item() == 13.
    c.backward()
    assert a.grad.item() == 6.                                     # d/da (3a + 3a + 1) = 6


def test_python_sum_and_micrograd_style_zero_grad_work():
    ws = [Tensor(float(i), requires_grad=True) for i in range(1, 4)]
    total = sum(w * w for w in ws)                                 # starts from 0 + Tensor: __radd__
    total.backward()
    assert [w.grad.item() for w in ws] == [2., 4., 6.]
    for w in ws: w.grad = 0                                        # micrograd's zero_grad sets the number 0
    sum(w * 1. for w in ws).backward()
    assert [w.grad.item() for w in ws] == [1., 1., 1.]


def test_scalar_tensors_sum_and_mean_as_torch_does():
    t = Tensor(3., requires_grad=True)
    for out in (t.sum(), t.sum(0), t.mean(), t.mean(-1)):
        assert out.shape == () and out.item() == 3.
    (t.sum(0) + t.mean()).backward()
    assert t.grad.item() == 2.


# ---------------------------------------------------------------- micrograd-style programs

def micrograd_readme(a, b):
    "The example expression of micrograd's README (as chapter 11 writes it)."
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g


def test_micrograd_readme_example_gives_its_printed_numbers_and_torch_values():
    a, b = Tensor(-4.0, requires_grad=True), Tensor(2.0, requires_grad=True)
    g = micrograd_readme(a, b)
    g.backward()
    assert (f"{g.data:.4f}", f"{a.grad:.4f}", f"{b.grad:.4f}") == ("24.7041", "138.8338", "645.5773")
    at, bt = torch.tensor(-4.0, **f64, requires_grad=True), torch.tensor(2.0, **f64, requires_grad=True)
    gt = micrograd_readme(at, bt)
    gt.backward()
    assert_close(g.data, gt.detach(), **TOL64)
    assert_close(a.grad, at.grad, **TOL64); assert_close(b.grad, bt.grad, **TOL64)
    a0, b0 = at.detach(), bt.detach()
    assert_close(a.grad, numerical_grad(lambda t: micrograd_readme(t, b0), a0), **FD_TOL)
    assert_close(b.grad, numerical_grad(lambda t: micrograd_readme(a0, t), b0), **FD_TOL)


@pytest.mark.parametrize("act", ["tanh", "relu", "sigmoid"])
def test_a_net_of_scalar_neurons_trains_step_for_step_as_on_torch(act):
    def run(value):
        rnd = random.Random(3)
        layers = [[([value(rnd.uniform(-1, 1)) for _ in range(n_in)], value(0.)) for _ in range(n_out)]
                  for n_in, n_out in [(3, 4), (4, 1)]]
        params = [p for layer in layers for ws, b in layer for p in (*ws, b)]
        def net(x):                                                # `act` on the hidden layer, a linear output
            for k, layer in enumerate(layers):
                x = [sum((w * xi for w, xi in zip(ws, x)), b) for ws, b in layer]
                if k < len(layers) - 1: x = [getattr(v, act)() for v in x]
            return x[0]
        xs, ys = [[2., 3., -1.], [3., -1., .5], [.5, 1., 1.], [1., 1., -1.]], [1., 0., 0., 1.]
        losses = []
        for _ in range(8):
            loss = sum((net(x) - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
            for p in params: p.grad = None
            loss.backward()
            for p in params: p.data -= 0.2 * p.grad
            losses.append(loss.item())
        return losses
    ours, theirs = run(lambda v: Tensor(v, requires_grad=True)), run(lambda v: torch.tensor(v, **f64, requires_grad=True))
    assert_close(torch.tensor(ours), torch.tensor(theirs), **TOL64)
    assert ours[-1] < ours[0], "the loop did not train, so the comparison proves little"


# ---------------------------------------------------------------- bad input to the new ops

PACKAGE_DIR = Path(backprop.__file__).resolve().parent


def t23(): return Tensor(torch.randn(2, 3), requires_grad=True)


@pytest.mark.parametrize("call,error,match", [
    (lambda: Tensor(True), TypeError, "Tensor: data must be a torch.Tensor, got bool"),
    (lambda: Tensor("1.0"), TypeError, "Tensor: data must be a torch.Tensor, got str"),
    (lambda: Tensor(None), TypeError, "Tensor: data must be a torch.Tensor, got NoneType"),
    (lambda: Tensor([1., 2.]), TypeError, "Tensor: data must be a torch.Tensor, got list"),
    (lambda: t23() / torch.ones(3), TypeError, r"div: got a torch.Tensor; wrap it as Tensor\(t\)"),
    (lambda: torch.ones(3) / t23(), TypeError, r"div: got a torch.Tensor; wrap it as Tensor\(t\)"),
    (lambda: t23() / "2", TypeError, "div: expected a Tensor or a number, got str"),
    (lambda: "2" / t23(), TypeError, "div: expected a Tensor or a number, got str"),
    (lambda: True / t23(), TypeError, "div: expected a Tensor or a number, got bool"),
    (lambda: t23() / Tensor(torch.ones(4)), ValueError, r"div: shapes \(2, 3\) and \(4,\) cannot be broadcast together"),
    (lambda: t23() / Tensor(2.), TypeError, "div: all tensors must have the same dtype, got left: torch.float32, right: torch.float64"),
    (lambda: Tensor(-4.0) + t23(), TypeError, "add: all tensors must have the same dtype, got left: torch.float64, right: torch.float32"),
    (lambda: (-2) ** t23(), ValueError, r"rpow: the base must be positive, got -2; the gradient of c \*\* x is c \*\* x \* log\(c\)"),
    (lambda: 0 ** t23(), ValueError, "rpow: the base must be positive, got 0"),
    (lambda: "2" ** t23(), TypeError, "rpow: the base must be a Python number, got str"),
    (lambda: torch.ones(3) ** t23(), TypeError, "rpow: the base must be a Python number, got Tensor"),
    (lambda: t23() ** t23(), TypeError, "pow: the exponent must be a Python number, got Tensor"),
    (lambda: Tensor(torch.tensor([1., 0.])).log(), ValueError, r"log: 1 value\(s\) of x are not positive \(zero, negative or NaN\)"),
    (lambda: Tensor(-1.).log(), ValueError, "log is defined for x > 0 only, and would give -inf or nan"),
    (lambda: Tensor(torch.tensor([float("nan"), -1., 2.])).log(), ValueError, r"log: 2 value\(s\) of x are not positive"),
])
def test_bad_input_to_the_new_ops_gets_a_clear_error_from_a_check_in_backprop(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    frame = traceback.extract_tb(info.value.__traceback__)[-1]
    assert Path(frame.filename).resolve().is_relative_to(PACKAGE_DIR) and re.search(r"\braise\b", frame.line or ""), \
        f"raised from {frame.filename}:{frame.lineno} ({frame.line!r}), not from a check in backprop"
