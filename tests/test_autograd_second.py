"""Gradients of gradients in backprop.autograd (chapter 17, issue 23): every operation of Tensor differentiates
twice. For each op, with a random upstream gradient G (itself a leaf) and random directions V, our
backward(create_graph=True) followed by a backward pass of sum(grad * V) must give what torch's double backward
gives, in float64, for the inputs and for G. Then micrograd-style programs, the losses, hvp and its errors, and
an op whose closure computes with torch (no second derivative), which must be named.
"""
import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from backprop.autograd import Tensor, _result, cross_entropy, hvp, mse

f64 = dict(dtype=torch.float64)
TOL64 = dict(rtol=1e-10, atol=1e-12)


def draw(shape, domain, gen):
    x = torch.randn(shape, generator=gen, **f64)
    if domain == "positive": return x.abs() + 0.3
    if domain == "away from 0": return torch.where(x < 0, x - 0.5, x + 0.5)
    return x


def ours_twice(f, datas, G, Vs):
    "Our first gradients (recorded) and the gradients of sum(grad * V) for each input and for G."
    leaves = [Tensor(d.clone(), requires_grad=True) for d in datas]
    g_leaf = Tensor(G.clone(), requires_grad=True)
    out = f(*leaves)
    out.backward(gradient=g_leaf, create_graph=True)
    firsts = [l.grad for l in leaves]
    assert all(isinstance(g, Tensor) for g in firsts), "create_graph=True must leave Tensors in .grad"
    total = sum((g * Tensor(v)).sum() for g, v in zip(firsts, Vs))
    for l in leaves: l.zero_grad()
    if total.requires_grad: total.backward()
    seconds = [torch.zeros_like(d) if l.grad is None else l.grad for l, d in zip(leaves, datas)]
    return out.data, [g.data for g in firsts], seconds, torch.zeros_like(G) if g_leaf.grad is None else g_leaf.grad


def torch_twice(f, datas, G, Vs):
    leaves = [d.clone().requires_grad_() for d in datas]
    g_leaf = G.clone().requires_grad_()
    out = f(*leaves)
    firsts = torch.autograd.grad(out, leaves, g_leaf, create_graph=True)
    total = sum((g * v).sum() for g, v in zip(firsts, Vs))
    seconds = torch.autograd.grad(total, [*leaves, g_leaf], allow_unused=True) if total.requires_grad else [None] * (len(leaves) + 1)
    seconds = [torch.zeros_like(x) if s is None else s for s, x in zip(seconds, [*datas, G])]
    return out.detach(), [g.detach() for g in firsts], seconds[:-1], seconds[-1]


def assert_twice(f, datas, seed=0, ref=None):
    "f differentiates twice as torch's `ref` (default f itself) does; returns how many tensors were compared."
    gen = torch.Generator().manual_seed(seed)
    out_shape = (ref or f)(*datas).shape
    G = torch.randn(out_shape, generator=gen, **f64)
    Vs = [torch.randn(d.shape, generator=gen, **f64) for d in datas]
    mine, theirs = ours_twice(f, datas, G, Vs), torch_twice(ref or f, datas, G, Vs)
    assert_close(mine[0], theirs[0], **TOL64)
    n = 0
    for a, b in zip([*mine[1], *mine[2], mine[3]], [*theirs[1], *theirs[2], theirs[3]], strict=True):
        assert_close(a, b, **TOL64); n += 1
    assert n == 2 * len(datas) + 1
    return n


UNARY = {   # name: (op, domain, shape)
    "relu": (lambda t: t.relu(), "away from 0", (3, 4)),
    "t ** 3": (lambda t: t ** 3, "any", (3, 4)),
    "t ** -0.5": (lambda t: t ** -0.5, "positive", (3, 4)),
    "t ** 0": (lambda t: t ** 0, "any", (3, 4)),
    "t ** 1": (lambda t: t ** 1, "any", (3, 4)),
    "2 ** t": (lambda t: 2 ** t, "any", (3, 4)),
    "exp": (lambda t: t.exp(), "any", (3, 4)),
    "log": (lambda t: t.log(), "positive", (3, 4)),
    "tanh": (lambda t: t.tanh(), "any", (3, 4)),
    "sigmoid": (lambda t: t.sigmoid(), "any", (3, 4)),
    "-t": (lambda t: -t, "any", (3, 4)),
    "1 / t": (lambda t: 1 / t, "away from 0", (3, 4)),
    "t / 4": (lambda t: t / 4, "any", (3, 4)),
    "3 - t": (lambda t: 3 - t, "any", (3, 4)),
    "t - 3": (lambda t: t - 3, "any", (3, 4)),
    "sum(0)": (lambda t: t.sum(0), "any", (3, 4)),
    "sum()": (lambda t: t.sum(), "any", (3, 4)),
    "sum((0, 2), keepdim)": (lambda t: t.sum((0, 2), keepdim=True), "any", (2, 3, 4)),
    "mean(1)": (lambda t: t.mean(1), "any", (3, 4)),
    "mean(-1, keepdim)": (lambda t: t.mean(-1, keepdim=True), "any", (2, 3, 4)),
    "t()": (lambda t: t.t(), "any", (3, 4)),
    "reshape": (lambda t: t.reshape(2, 6), "any", (3, 4)),
    "expand": (lambda t: t.expand(2, 3, 4), "any", (3, 1)),
    "to float64": (lambda t: t.to(torch.float64), "any", (3, 4)),
}
# squared, so that each op's own second derivative is exercised through the chain, not only its first
SQUARED = {name: (lambda f: (lambda t: f(t) * f(t)))(f) for name, (f, _, _) in UNARY.items()}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_each_unary_op_differentiates_twice_like_torch(name):
    f, domain, shape = UNARY[name]
    x = draw(shape, domain, torch.Generator().manual_seed(len(name)))
    assert assert_twice(f, [x]) == 3
    assert assert_twice(SQUARED[name], [x], seed=1) == 3


BINARY = {   # name: (op, shape of a, shape of b, domain of b)
    "a + b": (lambda a, b: a + b, (3, 4), (4,), "any"),
    "a - b": (lambda a, b: a - b, (3, 1), (4,), "any"),
    "a * b": (lambda a, b: a * b, (3, 4), (3, 1), "any"),
    "a / b": (lambda a, b: a / b, (3, 4), (4,), "away from 0"),
    "a @ b": (lambda a, b: a @ b, (3, 4), (4, 2), "any"),
    "(a @ b).tanh() * a.sum(1, keepdim)": (lambda a, b: (a @ b).tanh() * a.sum(1, keepdim=True), (3, 4), (4, 2), "any"),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_each_binary_op_differentiates_twice_like_torch_with_broadcasting(name):
    f, sa, sb, domain = BINARY[name]
    gen = torch.Generator().manual_seed(3)
    a, b = draw(sa, "any", gen), draw(sb, domain, gen)
    assert assert_twice(f, [a, b]) == 5
    assert assert_twice(lambda a, b: f(a, b) * f(a, b), [a, b], seed=2) == 5


def test_the_losses_differentiate_twice_like_torch():
    gen = torch.Generator().manual_seed(4)
    out, targ = torch.randn(6, 1, generator=gen, **f64), torch.randn(6, generator=gen, **f64)
    assert assert_twice(lambda o: mse(o.tanh(), targ), [out], ref=lambda o: F.mse_loss(o.tanh().squeeze(-1), targ)) == 3
    z, labels = torch.randn(5, 4, generator=gen, **f64) * 2, torch.tensor([0, 3, 1, 1, 2])
    assert assert_twice(lambda z: cross_entropy(z, labels), [z], ref=lambda z: F.cross_entropy(z, labels)) == 3
    w = torch.randn(3, 4, generator=gen, **f64)
    x = torch.randn(5, 3, generator=gen, **f64)
    assert assert_twice(lambda w: cross_entropy(Tensor(x) @ w if isinstance(w, Tensor) else x @ w, labels), [w],
                        ref=lambda w: F.cross_entropy(x @ w, labels)) == 3


def micrograd_readme(a, b):
    c = a + b
    d = a * b + b**3
    c = c + (c + 1)
    c = c + (1 + c + (-a))
    d = d + (d * 2 + (b + a).relu())
    d = d + (3 * d + (b - a).relu())
    e = c - d
    f = e**2
    g = f / 2.0
    return g + 10.0 / f


def test_micrograds_readme_expression_differentiates_twice_like_torch():
    a, b = torch.tensor(-4.0, **f64), torch.tensor(2.0, **f64)
    assert assert_twice(micrograd_readme, [a, b]) == 5
    x = Tensor(-4.0, requires_grad=True)                                  # d2g/da2 with Python numbers, as micrograd's
    micrograd_readme(x, Tensor(2.0)).backward(create_graph=True)
    dg = x.grad; x.zero_grad(); dg.backward()
    at = torch.tensor(-4.0, **f64, requires_grad=True)
    (d1,) = torch.autograd.grad(micrograd_readme(at, torch.tensor(2.0, **f64)), at, create_graph=True)
    (d2,) = torch.autograd.grad(d1, at)
    assert_close(x.grad, d2, **TOL64)


def test_a_network_of_scalar_neurons_has_torchs_hessian_vector_product():
    gen = torch.Generator().manual_seed(5)
    ws = [torch.randn((), generator=gen, **f64) for _ in range(9)]       # 2 inputs -> 2 tanh neurons -> 1 neuron
    xs, ys = [[2., -1.], [0.5, 1.], [-1., 0.3]], [1., -1., 0.5]
    def loss(*w):
        total = 0.
        for x, y in zip(xs, ys):
            h = [(w[3 * i] * x[0] + w[3 * i + 1] * x[1] + w[3 * i + 2]).tanh() for i in range(2)]
            total = total + ((w[6] * h[0] + w[7] * h[1] + w[8]).tanh() - y) ** 2
        return total
    vs = [torch.randn((), generator=gen, **f64) for _ in ws]
    ref = torch.autograd.functional.hvp(loss, tuple(ws), tuple(vs))[1]
    n = 0
    for mine, theirs in zip(hvp(loss, ws, vs), ref, strict=True):
        assert_close(mine, theirs, **TOL64); n += 1
    assert n == 9


def test_hvp_of_a_linear_function_is_zero_and_of_a_quadratic_is_the_matrix():
    A = torch.tensor([[2., 1.], [1., 3.]], **f64)
    v = torch.tensor([1., -2.], **f64)
    (hv,) = hvp(lambda x: (x.reshape(1, 2) @ Tensor(A) @ x.reshape(2, 1)).sum() * 0.5, [torch.ones(2, **f64)], [v])
    assert_close(hv, A @ v, **TOL64)
    (zero,) = hvp(lambda x: (x * 3.).sum(), [torch.ones(2, **f64)], [v])
    assert torch.equal(zero, torch.zeros(2, **f64))


def test_an_op_computed_with_torch_has_no_second_derivative_and_is_named():
    x = Tensor(torch.randn(3, **f64), requires_grad=True)
    mask = (x.data > 0).double()
    torch_only = _result(x.data * mask, (x,), "masked", lambda g: (g.data * mask,))   # returns a torch tensor
    torch_only.sum().backward(retain_graph=True)                                     # first order: fine
    x.zero_grad()
    with pytest.raises(RuntimeError, match=r"create_graph=True.*closure of 'masked' returned a torch.Tensor, not a backprop.autograd.Tensor: .*no second derivative"):
        torch_only.sum().backward(create_graph=True)


def test_create_graph_keeps_the_graph_and_a_freed_graph_is_refused():
    x = Tensor(torch.tensor([1.5], **f64), requires_grad=True)
    y = (x ** 3).sum()
    y.backward(create_graph=True)
    y.backward(create_graph=True)                                  # retained: allowed, and accumulates
    assert_close(x.grad.data, torch.tensor([13.5], **f64), **TOL64)   # 2 * 3x^2
    z = (x * 2.).sum(); z.backward(); x.zero_grad()
    with pytest.raises(RuntimeError, match="second time"):
        z.backward(create_graph=True)


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: hvp(lambda w: (w * w).sum(), [torch.ones(3)], [torch.ones(2)]), ValueError, r"params\[0\]_t has shape \(2,\); a tangent must have the shape"),
    (lambda: hvp(lambda w: (w * w).sum(), [torch.ones(3)], []), ValueError, "one vector per parameter: 1 params, 0 vs"),
    (lambda: hvp(lambda w: (w * w).sum(), [torch.ones(3)], [torch.ones(3, **f64)]), TypeError, "dtype of params"),
    (lambda: hvp("f", [torch.ones(3)], [torch.ones(3)]), TypeError, "f must be a function"),
    (lambda: hvp(lambda w: w * w, [torch.ones(3)], [torch.ones(3)]), RuntimeError, "only for scalar outputs"),
    (lambda: Tensor(torch.ones(2, 3, 4)).t(), ValueError, r"t: expected a 2-D Tensor, got shape \(2, 3, 4\)"),
    (lambda: Tensor(torch.ones(2, 3)).reshape(4, 2), ValueError, "reshape: shape .* has 8 entries"),
    (lambda: Tensor(torch.ones(2, 3)).reshape(2.5, 2), TypeError, "reshape: the shape must be ints"),
    (lambda: Tensor(torch.ones(2, 3)).expand(2, 4), ValueError, r"expand: x \(2, 3\) cannot be expanded to \(2, 4\)"),
    (lambda: Tensor(torch.ones(2, 3)).expand(3), ValueError, "cannot be expanded"),
    (lambda: Tensor(torch.ones(2)).to(torch.int32), TypeError, "to: dtype must be a floating-point torch.dtype"),
    (lambda: Tensor(torch.ones(2)).to("float16"), TypeError, "to: dtype must be"),
])
def test_bad_input_to_the_new_ops_gets_a_clear_error(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()
