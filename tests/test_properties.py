"""Property tests: every exported gradient agrees with torch autograd for random shapes and data (float64).

hypothesis draws the sizes (N = 1 and width-1 layers included: they are where a squeeze, a sum or a
broadcast over the wrong axis goes unnoticed) and a seed for the data; some ReLU inputs are set to
exactly 0, where our convention (gradient 0) must match torch.relu's. Tolerances are
backprop.check.TOLERANCES for float64, explained in chapter 7.
"""
import importlib.util

import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch.testing import assert_close

from backprop.check import TOLERANCES
from backprop.forward import lin, mse, relu
from backprop.grads import forward_and_backward, lin_grad, mse_grad, relu_grad

f64 = dict(dtype=torch.float64)
RTOL, ATOL = TOLERANCES[torch.float64]
FAST = settings(max_examples=25, deadline=None, derandomize=True, database=None)   # deterministic: the same examples every run
size = st.integers(1, 6)
seed = st.integers(0, 2**31 - 1)


def randn(gen, *shape): return torch.randn(*shape, generator=gen, **f64)


def with_zeros(gen, t):
    "t with about a quarter of its entries set to exactly 0 (the ReLU's kink)."
    return t.masked_fill(torch.rand(t.shape, generator=gen, **f64) < 0.25, 0.)


def autograd(f, *tensors, upstream=None):
    "Gradients of f(*tensors) by torch autograd (upstream: d(loss)/d(output) for a non-scalar f)."
    leaves = [t.detach().clone().requires_grad_() for t in tensors]
    f(*leaves).backward(upstream)
    return [t.grad for t in leaves]


def assert_all_close(ours, expected):
    "Compare pairwise; fail if nothing was compared."
    n = 0
    for a, b in zip(ours, expected, strict=True):
        assert_close(a, b, rtol=RTOL, atol=ATOL); n += 1
    assert n > 0


@FAST
@given(N=size, s=seed)
def test_mse_grad(N, s):
    gen = torch.Generator().manual_seed(s)
    out, targ = randn(gen, N, 1), randn(gen, N)
    mse_grad(out, targ)
    assert_all_close([out.g], autograd(lambda o: mse(o, targ), out))


@FAST
@given(N=size, h=size, s=seed)
def test_relu_grad_with_exact_zeros(N, h, s):
    gen = torch.Generator().manual_seed(s)
    z = with_zeros(gen, randn(gen, N, h))
    a = relu(z); a.g = randn(gen, N, h)
    relu_grad(z, a)
    assert_all_close([z.g], autograd(relu, z, upstream=a.g))


@FAST
@given(N=size, n_in=size, n_out=size, s=seed)
def test_lin_grad(N, n_in, n_out, s):
    gen = torch.Generator().manual_seed(s)
    inp, w, b = randn(gen, N, n_in), randn(gen, n_in, n_out), randn(gen, n_out)
    out = lin(inp, w, b); out.g = randn(gen, N, n_out)
    lin_grad(inp, out, w, b)
    assert_all_close([inp.g, w.g, b.g], autograd(lin, inp, w, b, upstream=out.g))


def mlp_loss(inp, targ, w1, b1, w2, b2): return mse(lin(relu(lin(inp, w1, b1)), w2, b2), targ)


def mlp_data(gen, N, n_in, n_hidden, zero_unit):
    x, y = randn(gen, N, n_in), randn(gen, N)
    params = [randn(gen, n_in, n_hidden), randn(gen, n_hidden), randn(gen, n_hidden, 1), randn(gen, 1)]
    if zero_unit: params[0][:, 0] = 0.; params[1][0] = 0.          # hidden unit 0 sits on the kink
    return x, y, params


@FAST
@given(N=size, n_in=size, n_hidden=size, zero_unit=st.booleans(), s=seed)
def test_forward_and_backward(N, n_in, n_hidden, zero_unit, s):
    gen = torch.Generator().manual_seed(s)
    x, y, params = mlp_data(gen, N, n_in, n_hidden, zero_unit)
    loss = forward_and_backward(x, y, *params)
    tensors = [x, *params]
    expected = autograd(lambda *ts: mlp_loss(ts[0], y, *ts[1:]), *tensors)
    assert_close(loss, mlp_loss(x, y, *params), rtol=RTOL, atol=ATOL)
    assert_all_close([t.g for t in tensors], expected)


# backprop.layers (chapter 5): the same properties for its layers, when the module exists.
layers_only = pytest.mark.skipif(importlib.util.find_spec("backprop.layers") is None,
                                 reason="backprop.layers does not exist yet")


@layers_only
@FAST
@given(N=size, n_in=size, n_hidden=size, zero_unit=st.booleans(), s=seed)
def test_layers_model(N, n_in, n_hidden, zero_unit, s):
    from backprop.layers import Model
    gen = torch.Generator().manual_seed(s)
    x, y, params = mlp_data(gen, N, n_in, n_hidden, zero_unit)
    model = Model(*params)
    loss = model(x, y)
    model.backward()
    tensors = [x, *params]
    assert_close(loss, mlp_loss(x, y, *params), rtol=RTOL, atol=ATOL)
    assert_all_close([t.g for t in tensors], autograd(lambda *ts: mlp_loss(ts[0], y, *ts[1:]), *tensors))


@layers_only
@FAST
@given(N=size, n_in=size, n_out=size, s=seed)
def test_layers_lin_used_twice_accumulates(N, n_in, n_out, s):
    "Calling one Lin layer on two inputs and backward twice adds both contributions into w.g and b.g."
    from backprop.layers import Lin
    gen = torch.Generator().manual_seed(s)
    x1, x2, w, b = randn(gen, N, n_in), randn(gen, N, n_in), randn(gen, n_in, n_out), randn(gen, n_out)
    layer = Lin(w, b)
    o1, o2 = layer(x1), layer(x2)
    o1.g, o2.g = randn(gen, N, n_out), randn(gen, N, n_out)
    layer.backward(); layer.backward()
    f = lambda x1, x2, w, b: (lin(x1, w, b) * o1.g).sum() + (lin(x2, w, b) * o2.g).sum()
    assert_all_close([x1.g, x2.g, w.g, b.g], autograd(f, x1, x2, w, b))


@layers_only
@FAST
@given(N=size, n_in=size, n_hidden=size, zero_unit=st.booleans(), s=seed)
def test_layers_torch_functions(N, n_in, n_hidden, zero_unit, s):
    "The torch.autograd.Function versions of the layers (our backward inside autograd) agree with plain autograd."
    from backprop.layers import TorchModel
    gen = torch.Generator().manual_seed(s)
    x, y, params = mlp_data(gen, N, n_in, n_hidden, zero_unit)
    model = TorchModel(*params)
    model(x, y).backward()
    expected = autograd(lambda *ps: mlp_loss(x, y, *ps), *params)
    assert_all_close([model.w1.grad, model.b1.grad, model.w2.grad, model.b2.grad], expected)


# backprop.fast (chapter 12): the fast path, in any blocks of rows, with and without the input gradient.
@FAST
@given(N=st.integers(1, 9), n_in=size, n_hidden=size, zero_unit=st.booleans(), block_rows=st.integers(1, 10),
       input_grad=st.sampled_from([False, True, "buffer"]), s=seed)
def test_fast_forward_and_backward_in_blocks(N, n_in, n_hidden, zero_unit, block_rows, input_grad, s):
    from backprop.fast import fast_forward_and_backward
    gen = torch.Generator().manual_seed(s)
    x, y, params = mlp_data(gen, N, n_in, n_hidden, zero_unit)
    buffer = torch.full_like(x, float("nan")) if input_grad == "buffer" else None     # NaN: every row must be written
    loss = fast_forward_and_backward(x, y, *params, input_grad=input_grad if buffer is None else buffer, block_rows=block_rows)
    assert buffer is None or x.g is buffer
    input_grad = bool(input_grad)                                                     # "buffer": inp.g is asked for
    expected = autograd(lambda *ts: mlp_loss(ts[0], y, *ts[1:]), x, *params)
    assert_close(loss, mlp_loss(x, y, *params), rtol=RTOL, atol=ATOL)
    assert_all_close([p.g for p in params] + ([x.g] if input_grad else []), expected[1:] + expected[:1] * input_grad)
    assert input_grad or not hasattr(x, "g")
