"""backprop.forward_mode (chapter 17): each JVP against torch.func.jvp in float64, over several shapes, and
against central differences along the direction; the transpose identity <G, J v> = <J^T G, v> with chapter 3's
lin_grad as J^T."""
import pytest
import torch
from torch.func import jvp
from torch.testing import assert_close

from backprop.forward import init_params, lin, mlp, mse
from backprop.forward_mode import lin_jvp, mlp_jvp, mse_jvp, relu_jvp
from backprop.grads import lin_grad

TOL64 = dict(rtol=1e-10, atol=1e-12)


def randn(gen, *shape): return torch.randn(*shape, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("N,n_in,h,n_out", [(1, 1, 1, 1), (4, 6, 5, 3), (7, 3, 8, 1), (3, 3, 3, 3)])
def test_mlp_jvp_equals_torch_func_jvp(N, n_in, h, n_out):
    gen = torch.Generator().manual_seed(N * 100 + n_in)
    params = init_params(n_in, h, n_out=n_out, generator=gen, dtype=torch.float64)
    inp = randn(gen, N, n_in)
    tangents = [randn(gen, *t.shape) for t in (inp, *params)]
    out, out_t = mlp_jvp(inp, params, tangents)
    ref, ref_t = jvp(mlp, (inp, *params), tuple(tangents))
    assert_close(out, ref, **TOL64); assert_close(out_t, ref_t, **TOL64)
    assert out_t.abs().sum() > 0


def test_each_jvp_equals_torch_func_jvp_and_central_differences():
    gen = torch.Generator().manual_seed(3)
    inp, w, b = randn(gen, 5, 4), randn(gen, 4, 2), randn(gen, 2)
    v = [randn(gen, *t.shape) for t in (inp, w, b)]
    assert_close(lin_jvp(inp, w, b, *v)[1], jvp(lin, (inp, w, b), tuple(v))[1], **TOL64)
    h = torch.where(inp.abs() < 0.1, inp + 0.3, inp)                       # away from relu's kink
    assert_close(relu_jvp(h, v[0])[1], jvp(torch.relu, (h,), (v[0],))[1], **TOL64)
    out, targ, out_t = randn(gen, 5, 1), randn(gen, 5), randn(gen, 5, 1)
    loss, dL = mse_jvp(out, targ, out_t)
    assert_close(loss, mse(out, targ), **TOL64)
    fd = (mse(out + 1e-6 * out_t, targ) - mse(out - 1e-6 * out_t, targ)) / 2e-6
    assert_close(dL, fd, rtol=1e-6, atol=1e-8)


def test_lin_grad_is_the_transpose_of_lin_jvp():
    gen = torch.Generator().manual_seed(4)
    inp, w, b, G = randn(gen, 3, 4), randn(gen, 4, 2), randn(gen, 2), randn(gen, 3, 2)
    v = [randn(gen, *t.shape) for t in (inp, w, b)]
    out = lin(inp, w, b); out.g = G
    lin_grad(inp, out, w, b)
    left = (G * lin_jvp(inp, w, b, *v)[1]).sum()
    right = sum((g * t).sum() for g, t in zip((inp.g, w.g, b.g), v))
    assert_close(left, right, **TOL64)
