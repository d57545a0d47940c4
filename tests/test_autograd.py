"""backprop.autograd (chapters 10 and 11): every op against torch autograd, the sharp edges, deep graphs, bad input,
and the 2-layer MLP against chapter 3's forward_and_backward, gradients and training step for step.

Property tests draw shapes (and a seed for the tensor values) with hypothesis, derandomized so that every run
checks the same examples; the values themselves come from a seeded torch.Generator, in float64.
"""
import sys

import matplotlib
import matplotlib.figure
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch.testing import assert_close

from backprop.autograd import Tensor, cross_entropy, draw_graph, mse, _result
from backprop.forward import init_params, lin, relu
from backprop.forward import mse as mse_plain
from backprop.grads import forward_and_backward

matplotlib.use("Agg")
f64 = dict(dtype=torch.float64)
TOL64 = dict(rtol=1e-10, atol=1e-12)
PROPS = settings(max_examples=30, deadline=None, derandomize=True)


def torch_grads(f, *datas, upstream=None):
    "Gradients of f(*datas) by torch autograd, for the upstream gradient `upstream` (None for a scalar)."
    leaves = [d.detach().clone().requires_grad_() for d in datas]
    out = f(*leaves)
    out.backward(upstream)
    return out.detach(), [l.grad for l in leaves]


def ours(f, *datas, upstream=None):
    "The output and leaf gradients of f(*Tensors) by backprop.autograd."
    leaves = [Tensor(d.clone(), requires_grad=True) for d in datas]
    out = f(*leaves)
    out.backward(upstream)
    return out.data, [l.grad for l in leaves]


def assert_same(f, *datas, upstream=None):
    "f gives the same output and gradients with our Tensors and with torch autograd; returns how many gradients compared."
    out, grads = ours(f, *datas, upstream=upstream)
    ref_out, ref_grads = torch_grads(f, *datas, upstream=upstream)
    assert_close(out, ref_out, **TOL64)
    n = 0
    for g, r in zip(grads, ref_grads, strict=True):
        assert_close(g, r, **TOL64); n += 1
    assert n == len(datas)
    return n


# ---------------------------------------------------------------- each op against torch, over random shapes

@st.composite
def broadcastable_shapes(draw):
    "Two shapes that broadcast together: a result shape, then each operand drops leading axes and sets some to 1."
    full = draw(st.lists(st.integers(1, 4), min_size=0, max_size=3))
    def operand():
        k = draw(st.integers(0, len(full)))                       # how many leading axes to drop
        return [1 if draw(st.booleans()) else n for n in full[k:]]
    return full, operand(), operand()


@PROPS
@given(broadcastable_shapes(), st.integers(0, 2**31 - 1))
def test_add_mul_sub_with_broadcasting_match_torch(shapes, seed):
    full, sa, sb = shapes
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.randn(sa, generator=gen, **f64), torch.randn(sb, generator=gen, **f64)
    G = torch.randn(torch.broadcast_shapes(a.shape, b.shape), generator=gen, **f64)
    for f in (lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b, lambda a, b: (a * b + a) * 3. - b):
        assert_same(f, a, b, upstream=G)
    _, (ga, gb) = ours(lambda a, b: a * b, a, b, upstream=G)
    assert ga.shape == a.shape and gb.shape == b.shape


@PROPS
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_matmul_matches_torch(n, k, m, seed):
    gen = torch.Generator().manual_seed(seed)
    x, w = torch.randn(n, k, generator=gen, **f64), torch.randn(k, m, generator=gen, **f64)
    assert_same(lambda x, w: x @ w, x, w, upstream=torch.randn(n, m, generator=gen, **f64))


@PROPS
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.data(), st.integers(0, 2**31 - 1))
def test_sum_and_mean_over_any_dims_match_torch(shape, data, seed):
    ndim = len(shape)
    dim = data.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                              st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)))
    keepdim = data.draw(st.booleans())
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen, **f64)
    for name in ("sum", "mean"):
        def f(t): return getattr(t, name)(dim, keepdim=keepdim) * 1.5 if dim is not None else getattr(t, name)() * 1.5
        out_shape = f(x).shape
        assert_same(f, x, upstream=torch.randn(out_shape, generator=gen, **f64))


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 4)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_and_mean_over_each_dim_match_torch(shape, keepdim):
    # (3, 3) summed over axis 1 without keepdim: copying G back along the wrong axis keeps the shape but not the values
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(shape, generator=gen, **f64)
    n = 0
    for dim in [*range(len(shape)), -1, (0, len(shape) - 1)]:
        for name in ("sum", "mean"):
            def f(t): return getattr(t, name)(dim, keepdim=keepdim)
            n += assert_same(f, x, upstream=torch.randn(f(x).shape, generator=gen, **f64))
    assert n == 2 * (len(shape) + 2)


@PROPS
@given(st.integers(1, 5), st.integers(1, 5), st.sampled_from([2, 3, 0.5, -1., 1.5]), st.integers(0, 2**31 - 1))
def test_relu_and_pow_match_torch(n, m, p, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, m, generator=gen, **f64)
    G = torch.randn(n, m, generator=gen, **f64)
    assert_same(lambda t: t.relu(), x, upstream=G)
    pos = x.abs() + 0.5                                           # fractional and negative powers need x > 0
    assert_same(lambda t: t ** p, pos, upstream=G)


def test_relu_subgradient_at_zero_is_zero_like_torch_relu():
    x = torch.tensor([-1., 0., 2.], **f64)
    _, (g,) = ours(lambda t: t.relu(), x, upstream=torch.ones(3, **f64))
    assert g.tolist() == [0., 0., 1.]


@PROPS
@given(st.integers(1, 8), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_losses_match_torch(N, C, seed):
    gen = torch.Generator().manual_seed(seed)
    out, targ = torch.randn(N, 1, generator=gen, **f64), torch.randn(N, generator=gen, **f64)
    # scaled by 3 so that a closure ignoring its upstream gradient G fails
    _, (g,) = torch_grads(lambda o: torch.nn.functional.mse_loss(o.squeeze(-1), targ) * 3., out)
    assert_close(ours(lambda o: mse(o, targ) * 3., out)[1][0], g, **TOL64)
    z, labels = torch.randn(N, C, generator=gen, **f64) * 3, torch.randint(0, C, (N,), generator=gen)
    loss, (gz,) = ours(lambda t: cross_entropy(t, labels) * 3., z)
    ref, (rz,) = torch_grads(lambda t: torch.nn.functional.cross_entropy(t, labels) * 3., z)
    assert_close(loss, ref, **TOL64); assert_close(gz, rz, **TOL64)


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_N_and_survives_huge_logits():
    z = torch.tensor([[1000., 0., -1000.], [0., 0., 0.]], **f64)
    labels = torch.tensor([0, 2])
    t = Tensor(z, requires_grad=True)
    loss = cross_entropy(t, labels)
    loss.backward()
    assert torch.isfinite(loss.data) and torch.isfinite(t.grad).all()
    expected = (torch.softmax(z, 1) - torch.nn.functional.one_hot(labels, 3).to(z.dtype)) / 2
    assert_close(t.grad, expected, **TOL64)
    assert_close(loss.data, torch.nn.functional.cross_entropy(z, labels), **TOL64)


def test_mse_node_gives_the_same_gradient_as_mse_composed_from_primitive_ops():
    gen = torch.Generator().manual_seed(1)
    out_d, targ = torch.randn(7, 1, generator=gen, **f64), torch.randn(7, generator=gen, **f64)
    a, b = Tensor(out_d.clone(), requires_grad=True), Tensor(out_d.clone(), requires_grad=True)
    mse(a, targ).backward()
    ((b - Tensor(targ.unsqueeze(-1))) ** 2).mean().backward()
    assert_close(a.grad, b.grad, **TOL64)


# ---------------------------------------------------------------- the sharp edges

def test_a_tensor_used_twice_gets_the_sum_of_both_contributions():
    a = Tensor(torch.tensor([3.], **f64), requires_grad=True)
    (a + a).backward()
    assert a.grad.item() == 2.
    c = Tensor(torch.tensor([3.], **f64), requires_grad=True)
    (c * c + c).backward()
    assert c.grad.item() == 7.                                     # 2c + 1


def test_an_intermediate_used_twice_is_complete_before_it_is_propagated():
    # y feeds two ops; if y's closure ran before both had added their share, x would miss part of its gradient
    x = Tensor(torch.tensor([2.], **f64), requires_grad=True)
    y = x * 3.
    z = y * y + y                                                  # dz/dx = (2y + 1) * 3 = 39
    z.backward()
    assert x.grad.item() == 39.
    assert y.grad.item() == 13.                                     # the intermediate holds this call's gradient


def test_broadcast_bias_gradient_is_summed_over_the_batch_axis():
    gen = torch.Generator().manual_seed(2)
    x, b = Tensor(torch.randn(5, 3, generator=gen, **f64)), Tensor(torch.randn(3, **f64), requires_grad=True)
    G = torch.randn(5, 3, generator=gen, **f64)
    (x + b).backward(G)
    assert b.grad.shape == (3,)
    assert_close(b.grad, G.sum(0), **TOL64)
    col = Tensor(torch.randn(5, 1, generator=gen, **f64), requires_grad=True)
    (x * col).backward(G)
    assert col.grad.shape == (5, 1)
    assert_close(col.grad, (G * x.data).sum(1, keepdim=True), **TOL64)


def test_second_backward_raises_by_default_like_pytorch():
    w = Tensor(torch.tensor([2.], **f64), requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time.*retain_graph=True"):
        loss.backward()
    assert w.grad.item() == 4., "the refused call must not touch the gradients"
    wt = torch.tensor([2.], **f64, requires_grad=True)
    lt = (wt * wt).sum(); lt.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        lt.backward()


def test_a_freed_subgraph_cannot_be_reused_by_a_second_loss_like_pytorch():
    w = Tensor(torch.tensor([2.], **f64), requires_grad=True)
    h = w * w
    (h * 1.).sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        (h * 2.).sum().backward()


def test_retain_graph_then_accumulate_then_zero_grad_match_pytorch():
    gen = torch.Generator().manual_seed(4)
    d = torch.randn(3, 2, generator=gen, **f64)
    w = Tensor(d.clone(), requires_grad=True)
    wt = d.clone().requires_grad_()
    loss, lt = (w * w * 3.).relu().sum(), (wt * wt * 3.).relu().sum()
    loss.backward(retain_graph=True); lt.backward(retain_graph=True)
    once = w.grad.clone()
    loss.backward(); lt.backward()
    assert_close(w.grad, 2 * once, **TOL64)
    assert_close(w.grad, wt.grad, **TOL64)
    (w * 1.).sum().backward(); (wt * 1.).sum().backward()          # a new graph: accumulates too
    assert_close(w.grad, wt.grad, **TOL64)
    w.zero_grad()
    assert w.grad is None
    (w * 1.).sum().backward()
    assert_close(w.grad, torch.ones(3, 2, **f64), **TOL64)


def test_retained_backward_twice_does_not_double_count_through_intermediates():
    # micrograd-style accumulation on intermediates would give x.grad = 1 + 2 = 3 * the true gradient
    x = Tensor(torch.tensor([1.5], **f64), requires_grad=True)
    y = x * 2.
    z = (y * y).sum()                                              # dz/dx = 8x = 12
    z.backward(retain_graph=True); z.backward()
    assert x.grad.item() == 24.
    assert y.grad.item() == 6.                                     # 2y, from the latest call only


def test_non_scalar_backward_needs_an_explicit_gradient_like_pytorch():
    v = Tensor(torch.randn(3, 1, **f64), requires_grad=True) * 2.
    with pytest.raises(RuntimeError, match=r"only for scalar outputs.*shape \(3, 1\).*gradient="):
        v.backward()
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        (torch.randn(3, 1, requires_grad=True) * 2.).backward()
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\); it must have the output's shape \(3, 1\)"):
        v.backward(torch.ones(3, **f64))
    with pytest.raises(TypeError, match="same dtype"):
        v.backward(torch.ones(3, 1))
    v.backward(torch.ones(3, 1, **f64))
    assert_close(v._parents[0].grad, torch.full((3, 1), 2., **f64), **TOL64)


def test_backward_of_a_tensor_that_needs_no_grad_is_refused():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor(torch.ones(2, **f64)) * 2.).sum().backward()


def test_a_wrong_backward_closure_is_caught_by_the_shape_check():
    x = Tensor(torch.randn(4, 3, **f64), requires_grad=True)
    bad = _result(x.data.sum(0), (x,), "badsum", lambda g: (g,))   # forgot to copy G back along axis 0
    with pytest.raises(RuntimeError, match=r"backward of 'badsum' gave a gradient of shape \(3,\) for an input of shape \(4, 3\)"):
        bad.sum().backward()


# ---------------------------------------------------------------- deep graphs

@pytest.mark.parametrize("depth", [5_000, 20_000])
def test_a_chain_deeper_than_the_recursion_limit_works(depth):
    assert depth > sys.getrecursionlimit()
    x = Tensor(torch.tensor([0.5, -2.], **f64), requires_grad=True)
    t = x
    for i in range(depth):
        t = t * 1. + 0.001 if i % 2 else t + 1.                   # 1.5 * depth ops, all with derivative 1
    t.sum().backward()
    assert_close(x.grad, torch.ones(2, **f64), rtol=0, atol=0)
    del t                                                          # tearing down a deep chain must not crash either


def test_a_long_chain_of_multiplications_has_the_product_of_the_factors_as_gradient():
    x = Tensor(torch.tensor([1.], **f64), requires_grad=True)
    t = x
    for _ in range(5000): t = t * 1.0001
    t.sum().backward()
    assert_close(x.grad, torch.tensor([1.0001 ** 5000], **f64), rtol=1e-9, atol=0)


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("call,exc,msg", [
    (lambda: Tensor(torch.randn(2, 3)) @ Tensor(torch.randn(2, 3)), ValueError, r"shapes \(2, 3\) @ \(2, 3\) do not fit"),
    (lambda: Tensor(torch.randn(3)) @ Tensor(torch.randn(3, 2)), ValueError, r"shapes \(3,\) @ \(3, 2\).*2-D"),
    (lambda: Tensor(torch.randn(2, 3)) @ Tensor(torch.randn(3, 2, **f64)), TypeError, "same dtype.*float32.*float64"),
    (lambda: Tensor(torch.randn(2, 3)) + Tensor(torch.randn(3, **f64)), TypeError, "add: all tensors must have the same dtype"),
    (lambda: Tensor(torch.arange(3)), TypeError, "dtype torch.int64; expected a floating-point"),
    (lambda: Tensor(Tensor(torch.ones(2))), TypeError, "already a Tensor"),
    (lambda: Tensor([1., 2.]), TypeError, "must be a torch.Tensor, got list"),
    (lambda: Tensor(torch.ones(2)) + torch.ones(2), TypeError, r"got a torch.Tensor; wrap it"),
    (lambda: torch.ones(2) * Tensor(torch.ones(2)), TypeError, r"got a torch.Tensor; wrap it"),
    (lambda: Tensor(torch.ones(2)) + "1", TypeError, "expected a Tensor or a number, got str"),
    (lambda: Tensor(torch.randn(2, 3)) * Tensor(torch.randn(4)), ValueError, r"mul: shapes \(2, 3\) and \(4,\) cannot be broadcast"),
    (lambda: Tensor(torch.ones(2)) ** Tensor(torch.ones(2)), TypeError, "exponent must be a Python number"),
    (lambda: Tensor(torch.ones(2)) ** True, TypeError, "exponent must be a Python number"),
    (lambda: Tensor(torch.ones(2, 3)).sum(2), IndexError, r"dim 2 is out of range for a tensor of shape \(2, 3\)"),
    (lambda: Tensor(torch.ones(2, 3)).mean(-3), IndexError, "dim -3 is out of range"),
    (lambda: mse(Tensor(torch.ones(4, 1)), torch.ones(4, 1)), ValueError, r"targ must have shape \(4,\), got \(4, 1\)"),
    (lambda: mse(torch.ones(4, 1), torch.ones(4)), TypeError, "out must be a Tensor"),
    (lambda: mse(Tensor(torch.ones(4, 1)), Tensor(torch.ones(4), requires_grad=True)), ValueError, "targ requires grad"),
    (lambda: cross_entropy(Tensor(torch.ones(2, 3)), torch.tensor([0., 1.])), TypeError, "integer class labels"),
    (lambda: cross_entropy(Tensor(torch.ones(2, 3)), torch.tensor([0, 3])), ValueError, r"labels must lie in \[0, 3\)"),
    (lambda: cross_entropy(Tensor(torch.ones(2, 3)), torch.tensor([0, 1, 2])), ValueError, r"targ must have shape \(2,\), got \(3,\)"),
    (lambda: cross_entropy(Tensor(torch.ones(3)), torch.tensor([0])), ValueError, r"shape \(N, C\)"),
    (lambda: cross_entropy(Tensor(torch.tensor([[0., float("nan")], [1., 2.]])), torch.tensor([0, 1])), ValueError,
     r"logits contain 1 NaN or infinite value\(s\)"),
    (lambda: cross_entropy(Tensor(torch.tensor([[float("inf"), 0.]])), torch.tensor([0])), ValueError, "NaN or infinite"),
    (lambda: Tensor(torch.ones(2, 3)).sum(dim=0.5), TypeError, "sum: dim must be None, an int or a tuple of ints, got 0.5"),
    (lambda: Tensor(torch.ones(2, 3)).mean(dim=(0, 1.)), TypeError, r"mean: dim must be .* got \(0, 1.0\)"),
    (lambda: mse(torch.ones(4, 1), torch.ones(4)), TypeError, r"got Tensor \(a torch.Tensor, not a backprop.autograd.Tensor\)"),
    (lambda: draw_graph(torch.ones(2, 3) * 2), TypeError, r"draw_graph: root must be a Tensor, got Tensor \(a torch.Tensor"),
    (lambda: draw_graph(matplotlib.figure.Figure().subplots(), Tensor(torch.ones(2), requires_grad=True).sum()), TypeError,
     "draw_graph: root must be a Tensor, got Axes"),
    (lambda: draw_graph(Tensor(torch.ones(2), requires_grad=True).sum(), ax="left"), TypeError,
     "draw_graph: ax must be a matplotlib Axes or None, got str"),
])
def test_bad_input_gets_a_clear_error(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


# ---------------------------------------------------------------- the 2-layer MLP

def mlp_loss(x, targ, w1, b1, w2, b2):
    return mse((x @ w1 + b1).relu() @ w2 + b2, targ)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(1, 16), st.integers(1, 12), st.integers(1, 10), st.integers(0, 2**31 - 1))
def test_mlp_gradients_match_forward_and_backward_and_torch(N, n_in, n_hidden, seed):
    gen = torch.Generator().manual_seed(seed)
    inp, targ = torch.randn(N, n_in, generator=gen, **f64), torch.randn(N, generator=gen, **f64)
    params = init_params(n_in, n_hidden, generator=gen, dtype=torch.float64)
    # ours: the input requires grad too, as forward_and_backward sets inp.g
    leaves = [Tensor(t.clone(), requires_grad=True) for t in (inp, *params)]
    loss = mlp_loss(leaves[0], targ, *leaves[1:])
    loss.backward()
    hand_loss = forward_and_backward(inp, targ, *params)
    ref_loss, ref_grads = torch_grads(lambda i, *p: mse_plain(lin(relu(lin(i, *p[:2])), *p[2:]), targ), inp, *params)
    assert_close(loss.data, hand_loss, **TOL64); assert_close(loss.data, ref_loss, **TOL64)
    n = 0
    for leaf, t, ref in zip(leaves, (inp, *params), ref_grads, strict=True):
        assert leaf.grad.shape == t.shape
        assert_close(leaf.grad, t.g, **TOL64)
        assert_close(leaf.grad, ref, **TOL64)
        n += 1
    assert n == 5


def test_sgd_with_autograd_follows_the_hand_written_loop_step_for_step():
    gen = torch.Generator().manual_seed(7)
    inp, targ = torch.randn(32, 10, generator=gen, **f64), torch.randn(32, generator=gen, **f64)
    params = init_params(10, 8, generator=gen, dtype=torch.float64)
    hand = [p.clone() for p in params]
    auto = [Tensor(p.clone(), requires_grad=True) for p in params]
    lr, losses = 0.1, []
    for step in range(25):
        hand_loss = forward_and_backward(inp, targ, *hand)
        for p in hand: p -= lr * p.g
        loss = mlp_loss(Tensor(inp), targ, *auto)
        loss.backward()
        for p in auto:
            p.data -= lr * p.grad
            p.zero_grad()
        assert_close(loss.data, hand_loss, **TOL64)
        for h, a in zip(hand, auto, strict=True):
            assert_close(a.data, h, **TOL64)
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], "the loop did not train, so the comparison proves little"
    assert all((a.data != p).any() for a, p in zip(auto, params, strict=True)), "some weight never moved"


def test_sgd_without_zero_grad_drifts_from_the_hand_written_loop():
    # the reason zero_grad exists: leaves accumulate across backward() calls
    gen = torch.Generator().manual_seed(8)
    inp, targ = torch.randn(16, 4, generator=gen, **f64), torch.randn(16, generator=gen, **f64)
    params = init_params(4, 3, generator=gen, dtype=torch.float64)
    hand, auto = [p.clone() for p in params], [Tensor(p.clone(), requires_grad=True) for p in params]
    for step in range(3):
        forward_and_backward(inp, targ, *hand)
        for p in hand: p -= 0.1 * p.g
        mlp_loss(Tensor(inp), targ, *auto).backward()
        for p in auto: p.data -= 0.1 * p.grad                      # no zero_grad
    assert not torch.allclose(auto[0].data, hand[0])


# ---------------------------------------------------------------- the drawing

def test_draw_graph_draws_every_tensor_and_every_operation():
    x = Tensor(torch.randn(4, 3), label="x")
    w = Tensor(torch.randn(3, 2), requires_grad=True, label="w")
    b = Tensor(torch.zeros(2), requires_grad=True, label="b")
    h = x @ w + b
    loss = (h.relu() + h).mean()                                   # h used twice; mean = sum then * 1/n
    loss.backward()
    ax = draw_graph(loss)
    texts = [t.get_text() for t in ax.texts]
    tensors = [t for t in texts if "(" in t]                       # boxes show a shape
    ops = [t for t in texts if "(" not in t and t]
    assert len(tensors) == 10                                      # x w @ b + relu + sum, the constant 1/n, *
    assert sorted(ops) == sorted(["@", "+", "relu", "+", "sum", "*"])
    assert any(t.startswith("w\n(3, 2)\n|grad|") for t in tensors)
    assert any(t.startswith("x\n(4, 3)") and "grad" not in t for t in tensors)
    assert sum("value" in t and "grad 1" in t for t in tensors) == 1   # the loss: value and gradient 1
    matplotlib.pyplot.close(ax.figure)


@pytest.mark.parametrize("dim", [(), []])
def test_an_empty_dim_means_every_axis_as_in_torch(dim):
    d = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    for op in ("sum", "mean"):
        x, ref = Tensor(d, requires_grad=True), d.clone().requires_grad_()
        out, expected = getattr(x, op)(dim=dim), getattr(ref, op)(dim=dim)
        assert_close(out.data, expected.detach(), rtol=1e-12, atol=0)
        out.backward(); expected.backward()
        assert_close(x.grad, ref.grad, rtol=1e-12, atol=0)


def test_an_axis_twice_is_refused():
    with pytest.raises(ValueError, match=r"sum: an axis appears more than once in dim \(0, -2\)"):
        Tensor(torch.randn(3, 4)).sum(dim=(0, -2))


def test_the_gradient_of_x_to_the_0_is_0_even_at_0():
    x = Tensor(torch.tensor([0., 1., -2.]), requires_grad=True)
    (x ** 0).sum().backward()
    assert torch.equal(x.grad, torch.zeros(3))


def test_leaf_gradients_are_tensors_of_their_own():
    # torch gives every leaf a .grad of its own, contiguous: an in-place change of one must not reach another
    a, c = Tensor(torch.ones(3), requires_grad=True), Tensor(torch.ones(3), requires_grad=True)
    G = torch.ones(3)
    (a + c).backward(gradient=G)
    assert a.grad is not c.grad and a.grad is not G
    a.grad.mul_(0.)
    assert torch.equal(c.grad, torch.ones(3)) and torch.equal(G, torch.ones(3))
    w = Tensor(torch.ones(2, 2), requires_grad=True)
    w.sum().backward()
    assert w.grad.is_contiguous()
    w.grad.mul_(0.5)                                   # a stride-0 view would refuse this
    assert torch.equal(w.grad, torch.full((2, 2), 0.5))


def test_cross_entropy_takes_int32_labels_as_its_message_says():
    z = torch.randn(5, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    labels = torch.tensor([0, 3, 1, 1, 2])
    a, b = Tensor(z, requires_grad=True), Tensor(z, requires_grad=True)
    la, lb = cross_entropy(a, labels), cross_entropy(b, labels.int())
    la.backward(); lb.backward()
    assert torch.equal(la.data, lb.data) and torch.equal(a.grad, b.grad)


# ---------------------------------------------------------------- issue 26: reduced precision, in-place changes, odd input

def test_a_float16_mean_sums_in_float32_as_torch_does():
    d = torch.full((100,), 700., dtype=torch.float16)
    x = Tensor(d, requires_grad=True)
    m = x.mean()
    assert m.dtype == torch.float16 and m.item() == d.mean().item() == 700.
    m.backward()
    assert x.grad.dtype == torch.float16 and torch.equal(x.grad, torch.full((100,), 0.01, dtype=torch.float16))
    b = Tensor(torch.full((4, 100), 700., dtype=torch.bfloat16))
    assert torch.equal(b.mean(1).data, b.data.mean(1))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_a_python_number_is_not_rounded_to_the_tensors_dtype_first(dtype):
    for values in ([0.001, 2.], [1000., -3.]):
        d = torch.tensor(values, dtype=dtype)
        for f in (lambda t: t * 70000., lambda t: t * 1e-8, lambda t: 1e-8 * t, lambda t: t / 1e8, lambda t: t + 1e-8,
                  lambda t: 70000. - t, lambda t: t - 70000., lambda t: 1e8 / t):
            out = f(Tensor(d))
            assert out.dtype == dtype
            assert torch.equal(out.data, f(d)), (values, out.data, f(d))
    x = Tensor(torch.tensor([1000.], dtype=torch.float16))
    assert (x * 1e-8).item() != 0.                                   # float16 rounds 1e-8 to 0; torch does not round first
    s = Tensor(torch.tensor(0.001, dtype=torch.float16))             # 0-d: still the tensor's dtype, as torch keeps it
    assert (s * 70000.).dtype == torch.float16 and (s * 70000.).item() == (torch.tensor(0.001, dtype=torch.float16) * 70000.).item()


def test_gradients_through_a_number_keep_the_dtype_and_values_of_torch():
    d = torch.tensor([0.001, 0.5], dtype=torch.float16)
    x, xt = Tensor(d, requires_grad=True), d.clone().requires_grad_()
    (x * 70000.).sum().backward(); (xt * 70000.).sum().backward()
    assert x.grad.dtype == torch.float16 and torch.equal(x.grad, xt.grad)


@pytest.mark.parametrize("through", ["the torch tensor it wraps", ".data"])
def test_a_saved_tensor_changed_in_place_before_backward_is_refused_like_pytorch(through):
    d = torch.tensor([2., 3.], **f64)
    w = Tensor(d, requires_grad=True)
    loss = (w * w).sum()
    (d if through == "the torch tensor it wraps" else w.data).mul_(2.)
    with pytest.raises(RuntimeError, match=r"backward of '\*': its input 0, of shape \(2,\), was modified by an inplace operation"):
        loss.backward()
    assert w.grad is None, "the refused call must not touch the gradients"
    x, m = Tensor(torch.ones(2, 3, **f64), requires_grad=True), Tensor(torch.ones(3, 1, **f64))
    y = x @ m
    m.data.add_(1.)                                                    # matmul saved m for x's gradient
    with pytest.raises(RuntimeError, match=r"backward of '@': its input 1, of shape \(3, 1\)"):
        y.sum().backward()


def test_in_place_changes_that_no_closure_reads_are_allowed_as_in_pytorch():
    d = torch.tensor([1., 2.], **f64)
    a = Tensor(d, requires_grad=True)
    e = a.exp()                                                        # exp saves its output, not its input
    loss = (e + a).sum()                                               # + saves nothing
    d.mul_(3.)
    loss.backward()
    assert_close(a.grad, torch.tensor([1., 2.], **f64).exp() + 1, **TOL64)   # the output exp saved, as the forward left it
    w = Tensor(torch.ones(2, **f64), requires_grad=True)
    loss = (w * w).sum(); loss.backward()
    w.data.sub_(0.1 * w.grad)                                          # the usual step, after backward: fine
    (w * w).sum().backward()


def test_an_output_changed_in_place_is_refused_when_its_closure_reads_it():
    x = Tensor(torch.tensor([0.5], **f64), requires_grad=True)
    y = x.tanh()
    y.data.mul_(2.)
    with pytest.raises(RuntimeError, match="backward of 'tanh': its output, of shape"):
        y.sum().backward()


def test_the_mean_over_an_empty_axis_is_nan_as_in_torch():
    x = Tensor(torch.ones(0, 3), requires_grad=True)
    assert torch.isnan(x.mean(0).data).all() and x.mean(0).shape == (3,)
    assert torch.isnan(x.mean().data) and torch.isnan(torch.ones(0, 3).mean())
    x.mean(0).sum().backward()
    assert x.grad.shape == (0, 3)


def test_backward_accepts_a_gradient_that_is_a_Tensor():
    w = Tensor(torch.tensor([1., 2.], **f64), requires_grad=True)
    (w * 3.).backward(gradient=Tensor(torch.tensor([1., -1.], **f64)))
    assert torch.equal(w.grad, torch.tensor([3., -3.], **f64))


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: torch.ones(2, 2) @ Tensor(torch.ones(2, 2)), TypeError, r"matmul: got a torch.Tensor; wrap it as Tensor\(t\)"),
    (lambda: Tensor(torch.ones(2, 2, device="meta")), ValueError, r"data is a meta tensor of shape \(2, 2\): it has a shape but no values"),
    (lambda: Tensor(torch.ones(2)) + Tensor(torch.ones(2, device="meta").to(torch.float64)), ValueError, "meta tensor"),
])
def test_odd_input_gets_a_clear_error(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_an_inference_tensor_is_refused_clearly():
    with torch.inference_mode():
        d = torch.ones(2)
    with pytest.raises(ValueError, match="torch.inference_mode"):
        Tensor(d)
