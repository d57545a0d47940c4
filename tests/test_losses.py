"""Softmax, cross-entropy and its gradient in backprop.losses (chapter 9): references, large logits, bad input."""
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from torch.testing import assert_close

from backprop.forward import init_params, mlp
from backprop.check import numerical_grad
from backprop.losses import (classifier_forward_and_backward, cross_entropy, cross_entropy_grad, log_softmax,
                             logsumexp, nll, train_classifier)

TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def autograd_ce_grad(logits, targ):
    leaf = logits.detach().clone().requires_grad_()
    F.cross_entropy(leaf, targ).backward()
    return leaf.grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("N,C", [(1, 1), (1, 10), (7, 2), (64, 10), (3, 100)])
def test_forward_matches_torch(dtype, N, C):
    g = gen(N * 1000 + C)
    z = torch.randn(N, C, generator=g, dtype=dtype) * 4
    targ = torch.randint(0, C, (N,), generator=g)
    assert logsumexp(z).shape == (N, 1)
    assert_close(logsumexp(z), torch.logsumexp(z, -1, keepdim=True), **TOL[dtype])
    assert_close(log_softmax(z), F.log_softmax(z, -1), **TOL[dtype])
    assert_close(nll(F.log_softmax(z, -1), targ), F.nll_loss(F.log_softmax(z, -1), targ), **TOL[dtype])
    assert_close(cross_entropy(z, targ), F.cross_entropy(z, targ), **TOL[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("N,C", [(1, 1), (1, 10), (7, 2), (64, 10)])
def test_gradient_matches_autograd(dtype, N, C):
    g = gen(N + C)
    z = torch.randn(N, C, generator=g, dtype=dtype) * 4
    targ = torch.randint(0, C, (N,), generator=g)
    cross_entropy_grad(z, targ)
    assert z.g.shape == (N, C)
    assert_close(z.g, autograd_ce_grad(z, targ), **TOL[dtype])


def test_gradient_matches_finite_differences():
    z = torch.randn(6, 5, generator=gen(3), dtype=torch.float64) * 2
    targ = torch.tensor([0, 4, 4, 1, 2, 3])
    cross_entropy_grad(z, targ)
    assert_close(z.g, numerical_grad(lambda t: cross_entropy(t, targ), z), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", [1e2, 1e3, 1e4])
def test_large_logits_give_finite_loss_and_gradient(dtype, scale):
    z = torch.randn(32, 10, generator=gen(), dtype=dtype) * scale
    z[0] = torch.tensor([scale] * 10, dtype=dtype)                 # ties at the top
    z[1, 3] = -scale; z[1, 4] = scale                              # the label's logit far below the maximum
    targ = torch.randint(0, 10, (32,), generator=gen(1)); targ[1] = 3
    loss = cross_entropy(z, targ)
    cross_entropy_grad(z, targ)
    assert torch.isfinite(loss) and torch.isfinite(z.g).all()
    assert loss > scale / 100                                      # and not a silently clipped one
    assert_close(loss, F.cross_entropy(z, targ), **TOL[dtype])
    assert_close(z.g, autograd_ce_grad(z, targ), **TOL[dtype])
    if scale > math.log(torch.finfo(dtype).max):                  # exp overflows: what the trick avoids
        naive = (z.exp() / z.exp().sum(-1, keepdim=True)).log()
        assert not torch.isfinite(naive).all()


@settings(max_examples=60, deadline=None)
@given(N=st.integers(1, 8), C=st.integers(1, 12), scale=st.floats(1e-3, 1e4), seed=st.integers(0, 2**31))
def test_gradient_properties(N, C, scale, seed):
    g = gen(seed)
    z = torch.randn(N, C, generator=g, dtype=torch.float64) * scale
    targ = torch.randint(0, C, (N,), generator=g)
    assert cross_entropy(z, targ) >= 0
    cross_entropy_grad(z, targ)
    assert_close(z.g.sum(1), torch.zeros(N, dtype=torch.float64), rtol=0, atol=1e-12)   # rows sum to 0
    assert (z.g[torch.arange(N), targ] <= 0).all()                 # the right class is pushed up
    assert_close(z.g, autograd_ce_grad(z, targ), **TOL[torch.float64])


# ---- bad input ---------------------------------------------------------------------------------

FNS = [cross_entropy, cross_entropy_grad, nll]


@pytest.mark.parametrize("fn", FNS)
@pytest.mark.parametrize("bad", [10, -1])
def test_labels_out_of_range(fn, bad):
    targ = torch.tensor([1, 2, bad, 3])
    with pytest.raises(ValueError, match=rf"labels must be in \[0, 9\] for 10 classes, got labels from {min(bad, 1)} to {max(bad, 3)}"):
        fn(torch.randn(4, 10), targ)


@pytest.mark.parametrize("fn", FNS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.int32, torch.uint8, torch.bool])
def test_labels_of_the_wrong_dtype(fn, dtype):
    with pytest.raises(TypeError, match=rf"targ has dtype {dtype}; expected int64 class indices"):
        fn(torch.randn(4, 10), torch.tensor([1, 0, 1, 0]).to(dtype))
    with pytest.raises(TypeError, match="targ must be a torch.Tensor of class indices, got list"):
        fn(torch.randn(4, 10), [1, 0, 1, 0])


@pytest.mark.parametrize("fn", FNS)
@pytest.mark.parametrize("shape", [(4, 1), (1, 4), (3,), (5,), ()])
def test_labels_of_the_wrong_shape(fn, shape):
    targ = torch.zeros(shape, dtype=torch.int64)
    with pytest.raises(ValueError, match=r"inp has shape \(4, 10\) so targ must have shape \(4,\)"):
        fn(torch.randn(4, 10), targ)


@pytest.mark.parametrize("fn", FNS)
def test_empty_batch(fn):
    with pytest.raises(ValueError, match=r"the batch is empty \(inp has shape \(0, 10\)\)"):
        fn(torch.randn(0, 10), torch.zeros(0, dtype=torch.int64))


@pytest.mark.parametrize("fn", FNS)
@pytest.mark.parametrize("value,count", [(float("nan"), 1), (float("inf"), 1), (float("-inf"), 1)])
def test_nan_or_inf_in_the_inputs(fn, value, count):
    z = torch.randn(4, 10); z[2, 5] = value
    if fn is nll and value == float("-inf"):         # a log-probability of -inf is a probability of 0: allowed
        assert fn(z, torch.tensor([0, 1, 2, 3])).isfinite() and fn(z, torch.tensor([0, 1, 5, 3])) == float("inf")
        return
    what = "NaN or \\+inf" if fn is nll else "NaN or infinite"
    with pytest.raises(ValueError, match=rf"inp contains {count} {what} value\(s\)"):
        fn(z, torch.tensor([0, 1, 2, 3]))


@pytest.mark.parametrize("fn", FNS)
def test_inputs_of_the_wrong_kind(fn):
    with pytest.raises(TypeError, match="inp has dtype torch.int64; expected a floating-point tensor"):
        fn(torch.ones(4, 10, dtype=torch.int64), torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"inp must have 2 dimension\(s\), got shape \(10,\)"):
        fn(torch.randn(10), torch.tensor([3]))


@pytest.mark.parametrize("fn", [logsumexp, log_softmax])
def test_logsumexp_and_log_softmax_bad_input(fn):
    name = fn.__name__
    with pytest.raises(TypeError, match=f"{name}: z must be a torch.Tensor, got list"):
        fn([[1.0, 2.0]])
    with pytest.raises(TypeError, match=f"{name}: z has dtype torch.int64; expected a floating-point tensor"):
        fn(torch.ones(2, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match=rf"{name}: z has shape \(3, 0\), no classes"):
        fn(torch.randn(3, 0))
    with pytest.raises(ValueError, match=rf"{name}: z must have 2 dimension\(s\), got shape \(3,\)"):
        fn(torch.randn(3))
    z = torch.randn(2, 3); z[1, 2] = float("nan")
    with pytest.raises(ValueError, match=rf"{name}: z contains 1 NaN or infinite value\(s\)"):
        fn(z)
    assert fn(torch.randn(0, 3)).shape[0] == 0              # an empty batch is fine: there is nothing to average


def test_a_failed_check_sets_no_gradient():
    z = torch.randn(4, 10)
    with pytest.raises(ValueError):
        cross_entropy_grad(z, torch.tensor([0, 1, 2, 10]))
    assert not hasattr(z, "g")


# ---- the classifier ----------------------------------------------------------------------------

@pytest.mark.parametrize("N,n_in,n_hidden,C", [(1, 3, 2, 2), (9, 5, 4, 10), (32, 784, 16, 10)])
def test_classifier_backward_matches_autograd_float64(N, n_in, n_hidden, C):
    g = gen(N)
    inp = torch.randn(N, n_in, generator=g, dtype=torch.float64)
    targ = torch.randint(0, C, (N,), generator=g)
    params = init_params(n_in, n_hidden, C, generator=g, dtype=torch.float64)
    loss = classifier_forward_and_backward(inp, targ, *params)
    leaves = [t.detach().clone().requires_grad_() for t in (inp, *params)]
    ref = F.cross_entropy(mlp(*leaves), targ)
    ref.backward()
    assert_close(loss, ref.detach(), **TOL[torch.float64])
    compared = 0
    for t, leaf in zip((inp, *params), leaves, strict=True):
        assert_close(t.g, leaf.grad, **TOL[torch.float64])
        compared += 1
    assert compared == 5


def test_classifier_gradients_match_finite_differences():
    g = gen(7)
    inp, targ = torch.randn(4, 3, generator=g, dtype=torch.float64), torch.tensor([0, 2, 1, 2])
    tensors = [inp, *init_params(3, 4, 3, generator=g, dtype=torch.float64)]
    classifier_forward_and_backward(inp, targ, *tensors[1:])
    n = 0
    for i, t in enumerate(tensors):
        fd = numerical_grad(lambda v: cross_entropy(mlp(*tensors[:i], v, *tensors[i + 1:]), targ), t)
        assert_close(t.g, fd, rtol=1e-6, atol=1e-8)
        n += 1
    assert n == 5


def test_train_classifier_learns_in_one_epoch():
    params, hist = train_classifier(epochs=1, hidden=32, verbose=False)
    assert [tuple(p.shape) for p in params] == [(784, 32), (32,), (32, 10), (10,)]
    assert hist["epoch"][0]["valid_acc"] > 0.8


def test_logits_whose_difference_overflows_float32_still_give_torchs_loss():
    # -3e38 - 3e38 overflows to -inf inside log_softmax: a probability of 0, not an error about the caller's logits
    z, targ = torch.tensor([[-3e38, 3e38]]), torch.tensor([1])
    assert_close(cross_entropy(z, targ), torch.nn.functional.cross_entropy(z, targ), rtol=0, atol=0)
    cross_entropy_grad(z, targ)
    assert torch.equal(z.g, torch.zeros(1, 2))
