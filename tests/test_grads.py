"""Bad input, call order and edge cases of backprop.forward and backprop.grads (chapters 2-3)."""
import pytest
import torch
from torch.testing import assert_close

from backprop.forward import init_params, lin, mlp, mse, relu
from backprop.grads import forward_and_backward, lin_grad, mse_grad, relu_grad
from backprop.check import numerical_grad

f64 = dict(dtype=torch.float64)


def mlp_loss(inp, targ, w1, b1, w2, b2):
    return mse(lin(relu(lin(inp, w1, b1)), w2, b2), targ)


@pytest.mark.parametrize("N,n_in,n_hidden", [(1, 1, 1), (1, 7, 3), (5, 1, 4), (16, 9, 1), (33, 20, 11)])
def test_forward_and_backward_matches_autograd_float64(N, n_in, n_hidden):
    gen = torch.Generator().manual_seed(N * 100 + n_in)
    inp, targ = torch.randn(N, n_in, generator=gen, **f64), torch.randn(N, generator=gen, **f64)
    params = init_params(n_in, n_hidden, generator=gen, dtype=torch.float64)
    loss = forward_and_backward(inp, targ, *params)
    leaves = [t.detach().clone().requires_grad_() for t in (inp, *params)]
    ref = mlp_loss(leaves[0], targ, *leaves[1:])
    ref.backward()
    assert_close(loss, ref.detach(), rtol=1e-12, atol=1e-14)
    compared = 0
    for t, leaf in zip((inp, *params), leaves, strict=True):
        assert_close(t.g, leaf.grad, rtol=1e-10, atol=1e-12)
        compared += 1
    assert compared == 5


def test_gradients_match_finite_differences_on_a_tiny_mlp():
    gen = torch.Generator().manual_seed(3)
    inp, targ = torch.randn(3, 2, generator=gen, **f64), torch.randn(3, generator=gen, **f64)
    tensors = [inp, *init_params(2, 3, generator=gen, dtype=torch.float64)]
    forward_and_backward(inp, targ, *tensors[1:])
    def loss_of(ts): return mlp_loss(ts[0], targ, *ts[1:])
    for i, t in enumerate(tensors):
        fd = numerical_grad(lambda v: loss_of(tensors[:i] + [v] + tensors[i + 1:]), t)  # vary tensor i only
        assert_close(t.g, fd, rtol=1e-6, atol=1e-8)
    assert i == 4


def test_mse_refuses_a_target_that_would_broadcast():
    out = torch.randn(5, 1)
    for fn in (mse, mse_grad):
        with pytest.raises(ValueError, match=r"targ must have shape \(5,\), got \(5, 1\)"):
            fn(out, torch.randn(5, 1))
    with pytest.raises(ValueError, match=r"out must have 2 dimension\(s\), got shape \(5,\)"):
        mse(torch.randn(5), torch.randn(5))
    with pytest.raises(ValueError, match=r"out must have shape \(N, 1\)"):
        mse(torch.randn(5, 2), torch.randn(5))
    with pytest.raises(ValueError, match=r"N >= 1"):
        mse(torch.randn(0, 1), torch.randn(0))


def test_mse_grad_shape_is_the_output_shape():
    out, targ = torch.randn(6, 1, **f64), torch.randn(6, **f64)
    mse_grad(out, targ)
    assert out.g.shape == (6, 1)
    assert_close(out.g, 2 * (out - targ[:, None]) / 6)


def test_lin_and_lin_grad_name_both_shapes():
    inp, w, b = torch.randn(4, 3), torch.randn(5, 2), torch.randn(2)
    for call in (lambda: lin(inp, w, b), lambda: lin_grad(inp, torch.randn(4, 2), w, b)):
        with pytest.raises(ValueError, match=r"inp has shape \(4, 3\) and w has shape \(5, 2\)"):
            call()
    with pytest.raises(ValueError, match=r"b has shape \(3,\); b must have shape \(2,\)"):
        lin(torch.randn(4, 5), w, torch.randn(3))
    with pytest.raises(ValueError, match=r"b must have 1 dimension"):
        lin(torch.randn(4, 5), w, torch.randn(1, 2))
    with pytest.raises(ValueError, match=r"out has shape \(4, 3\); .* must be \(4, 2\)"):
        lin_grad(torch.randn(4, 5), torch.randn(4, 3), w, b)


def test_gradient_before_upstream_g_is_a_call_order_error():
    inp, w, b = torch.randn(4, 3), torch.randn(3, 2), torch.randn(2)
    out = lin(inp, w, b)
    with pytest.raises(RuntimeError, match="out.g is not set.*mse_grad, then lin_grad"):
        lin_grad(inp, out, w, b)
    z = torch.randn(4, 2)
    with pytest.raises(RuntimeError, match="out.g is not set"):
        relu_grad(z, relu(z))


def test_upstream_g_of_the_wrong_shape_is_refused():
    z = torch.randn(4, 2)
    a = relu(z)
    a.g = torch.randn(2, 4)
    with pytest.raises(ValueError, match=r"out.g must be a tensor of out's shape \(4, 2\), got \(2, 4\)"):
        relu_grad(z, a)


@pytest.mark.parametrize("call", [
    lambda: lin(torch.ones(2, 3, dtype=torch.int64), torch.ones(3, 1), torch.ones(1)),
    lambda: relu(torch.arange(3)),
    lambda: mse(torch.ones(2, 1, dtype=torch.int32), torch.ones(2, dtype=torch.int32)),
    lambda: mse_grad(torch.ones(2, 1, dtype=torch.int64), torch.ones(2, dtype=torch.int64)),
    lambda: relu_grad(torch.arange(3), torch.arange(3)),
    lambda: forward_and_backward(torch.ones(2, 3, dtype=torch.uint8), torch.ones(2), *init_params(3, 2)),
])
def test_integer_tensors_are_refused(call):
    with pytest.raises(TypeError, match="expected a floating-point tensor"):
        call()


def test_mixed_dtypes_are_refused():
    with pytest.raises(TypeError, match="same dtype.*inp: torch.float64.*w: torch.float32"):
        lin(torch.randn(2, 3, **f64), torch.randn(3, 1), torch.randn(1))


def test_non_tensors_are_refused():
    with pytest.raises(TypeError, match="inp must be a torch.Tensor, got list"):
        relu([1.0, -1.0])


def test_relu_grad_picks_zero_at_zero_like_torch_relu_not_clamp_min():
    z = torch.tensor([-1.0, 0.0, 0.0, 2.0], requires_grad=True)
    a = relu(z.detach())
    a.g = torch.ones(4)
    zz = z.detach().clone()
    relu_grad(zz, a)
    torch.relu(z).backward(torch.ones(4))
    assert_close(zz.g, z.grad)
    z.grad = None
    z.clamp_min(0.0).backward(torch.ones(4))
    assert z.grad[1] == 1.0 and zz.g[1] == 0.0  # clamp_min's subgradient differs at exactly 0


def test_numerical_grad_is_exact_on_a_quadratic_and_restores_x():
    x = torch.tensor([1.0, -2.0, 0.5], **f64)
    before = x.clone()
    assert_close(numerical_grad(lambda t: (3 * t ** 2).sum(), x), 6 * x)
    assert torch.equal(x, before)


def test_init_params_shapes_and_bad_sizes():
    w1, b1, w2, b2 = init_params(784, 50)
    assert [tuple(t.shape) for t in (w1, b1, w2, b2)] == [(784, 50), (50,), (50, 1), (1,)]
    assert 0.04 < w1.std().item() < 0.06  # sqrt(2/784) = 0.0505
    with pytest.raises(ValueError, match="n_hidden must be a positive int"):
        init_params(3, 0)
    assert mlp(torch.randn(2, 784), w1, b1, w2, b2).shape == (2, 1)


def test_numerical_grad_of_a_non_contiguous_tensor():
    # a transposed view: every entry must be perturbed, in x's own layout
    x = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(8)).t()
    assert not x.is_contiguous()
    f = lambda t: (t ** 3 * torch.arange(12, dtype=torch.float64).view(4, 3)).sum()   # a different weight per entry
    expected = 3 * x ** 2 * torch.arange(12, dtype=torch.float64).view(4, 3)
    assert_close(numerical_grad(f, x), expected, rtol=1e-6, atol=1e-8)


def test_mse_explains_broadcasting_only_for_an_n_by_1_target():
    out = torch.randn(4, 1)
    with pytest.raises(ValueError, match=r"an \(N, 1\) target would broadcast to \(N, N\)"):
        mse(out, torch.randn(4, 1))
    with pytest.raises(ValueError) as e:
        mse(out, torch.randn(3))
    assert "targ must have shape (4,), got (3,)" in str(e.value) and "broadcast" not in str(e.value)


def test_counts_may_be_numpy_ints():
    import numpy as np
    w1, b1, w2, b2 = init_params(np.int64(5), np.int32(3), generator=torch.Generator().manual_seed(0))
    assert (w1.shape, b1.shape, w2.shape, b2.shape) == ((5, 3), (3,), (3, 1), (1,))


def test_chapter_7s_tolerances_start_with_chapter_3s_TOL():
    "backprop.check.TOLERANCES (chapter 7) repeats chapter 3's TOL for float32 and float64, in (rtol, atol) form."
    from backprop.check import TOLERANCES
    from backprop.grads import TOL
    assert set(TOL) == {torch.float32, torch.float64}
    for dtype, tol in TOL.items():
        assert TOLERANCES[dtype] == (tol["rtol"], tol["atol"]), dtype
