"""Chapters 5 and 6 (backprop.layers): four implementations of the layers give chapter 3's gradients; errors and sharp edges."""
import json
from pathlib import Path

import pytest
import torch
from torch.testing import assert_close

from backprop.forward import init_params, lin, mlp, mse, relu
from backprop.grads import forward_and_backward
from backprop.layers import (Lin, LinFunction, Model, Module, Mse, MseFunction, Relu, ReluFunction,
                             TorchModel)

root = Path(__file__).resolve().parent.parent
f64 = dict(dtype=torch.float64)
TOL = dict(rtol=1e-10, atol=1e-12)
NAMES = ["x", "w1", "b1", "w2", "b2"]
SHAPES = [(1, 1, 1), (1, 7, 3), (5, 1, 4), (16, 9, 1), (33, 20, 11)]   # (N, n_in, n_hidden)


def plain_classes():
    "PlainLin, PlainRelu, PlainMse, PlainModel: notebook-only, so run the chapter's own cells that define them."
    cells = [c["source"] for c in json.loads((root / "nbs" / "05_layers.ipynb").read_text())["cells"]
             if c["cell_type"] == "code"]
    src = lambda c: "".join(c) if isinstance(c, list) else c
    ns = {}
    exec(next(src(c) for c in cells if "#| export" in src(c) and "import torch" in src(c)), ns)
    for c in cells:
        if "class Plain" in src(c):
            exec(src(c), ns)
    names = ["PlainLin", "PlainRelu", "PlainMse", "PlainModel"]
    assert all(n in ns for n in names), "the chapter no longer defines the plain classes"
    return [ns[n] for n in names]


def problem(N, n_in, n_hidden, seed=0):
    gen = torch.Generator().manual_seed(seed + 1000 * N + n_in)
    x, targ = torch.randn(N, n_in, generator=gen, **f64), torch.randn(N, generator=gen, **f64)
    params = list(init_params(n_in, n_hidden, generator=gen, dtype=torch.float64))
    params[1] = torch.randn(n_hidden, generator=gen, **f64) * 0.1      # non-zero biases: a wrong b.g shows
    return x, targ, params


def grads_by_autograd(x, targ, params):
    leaves = [t.clone().requires_grad_() for t in (x, *params)]
    loss = mse(mlp(*leaves), targ)
    loss.backward()
    return loss.detach(), [t.grad for t in leaves]


def grads_by_chapter2(x, targ, params):
    ts = [t.clone() for t in (x, *params)]
    return forward_and_backward(ts[0], targ, *ts[1:]), [t.g for t in ts]


def grads_by_layer_model(model_cls):
    def run(x, targ, params):
        ts = [t.clone() for t in (x, *params)]
        model = model_cls(*ts[1:])
        loss = model(ts[0], targ)
        model.backward()
        return loss, [t.g for t in ts]
    return run


def grads_by_torch_model(x, targ, params):
    tm, xg = TorchModel(*params), x.clone().requires_grad_()
    loss = tm(xg, targ)
    loss.backward()
    return loss.detach(), [xg.grad, tm.w1.grad, tm.b1.grad, tm.w2.grad, tm.b2.grad]


def grads_by_functions(x, targ, params):
    leaves = [t.clone().requires_grad_() for t in (x, *params)]
    xg, w1, b1, w2, b2 = leaves
    out = LinFunction.apply(ReluFunction.apply(LinFunction.apply(xg, w1, b1)), w2, b2)
    loss = MseFunction.apply(out, targ)
    loss.backward()
    return loss.detach(), [t.grad for t in leaves]


@pytest.mark.parametrize("N,n_in,n_hidden", SHAPES)
def test_every_implementation_gives_the_same_gradients_float64(N, n_in, n_hidden):
    x, targ, params = problem(N, n_in, n_hidden)
    ref_loss, ref = grads_by_autograd(x, targ, params)
    impls = {"chapter 3 forward_and_backward": grads_by_chapter2,
             "PlainModel (notebook)": grads_by_layer_model(plain_classes()[3]),
             "Model (Module layers)": grads_by_layer_model(Model),
             "autograd.Function layers": grads_by_functions,
             "TorchModel (nn.Module)": grads_by_torch_model}
    compared = 0
    for impl, run in impls.items():
        loss, grads = run(x, targ, params)
        assert_close(loss, ref_loss, **TOL, msg=lambda m: f"{impl} loss: {m}")
        for name, g, r in zip(NAMES, grads, ref, strict=True):
            assert g.shape == r.shape, f"{impl}: {name}.g has shape {tuple(g.shape)}, expected {tuple(r.shape)}"
            assert_close(g, r, **TOL, msg=lambda m: f"{impl} {name}.g: {m}")
            compared += 1
    assert compared == 5 * 5


def test_inputs_are_left_unchanged_and_grads_land_on_the_callers_tensors():
    x, targ, params = problem(4, 3, 2)
    before = [t.clone() for t in (x, *params)]
    model = Model(*params)
    model(x, targ)
    model.backward()
    for t, b in zip((x, *params), before, strict=True):
        assert torch.equal(t, b)
        assert t.g is not None and t.g.shape == t.shape


@pytest.mark.parametrize("N", [1, 2, 9])
def test_gradcheck_passes_for_every_function(N):
    gen = torch.Generator().manual_seed(N)
    def leaf(*shape): return torch.randn(*shape, generator=gen, **f64).requires_grad_()
    checked = 0
    for fn, inputs in [(LinFunction.apply, (leaf(N, 3), leaf(3, 2), leaf(2))),
                       (LinFunction.apply, (leaf(N, 1), leaf(1, 1), leaf(1))),
                       (ReluFunction.apply, (leaf(N, 4),)),
                       (MseFunction.apply, (leaf(N, 1), leaf(N)))]:
        assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-8, rtol=1e-6)
        checked += 1
    assert checked == 4


def test_gradcheck_catches_a_wrong_backward():
    "gradcheck is a real check: a Function whose backward forgets the 1/N fails it."
    class BadMse(MseFunction):
        @staticmethod
        def backward(ctx, g):
            dinp, dtarg = MseFunction.backward(ctx, g)
            return dinp * ctx.saved_tensors[0].shape[0], dtarg
    inputs = (torch.randn(4, 1, **f64, requires_grad=True), torch.randn(4, **f64))
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        torch.autograd.gradcheck(BadMse.apply, inputs)


@pytest.mark.parametrize("layer,name", [(Relu(), "Relu"), (Mse(), "Mse"),
                                        (Lin(torch.randn(3, 2), torch.randn(2)), "Lin")])
def test_backward_before_the_layer_was_called_is_a_clear_error(layer, name):
    with pytest.raises(RuntimeError, match=f"{name}.backward\\(\\) was called before the layer was called"):
        layer.backward()


def test_backward_more_times_than_called_is_a_clear_error():
    z = torch.randn(3, 2)
    r = Relu()
    a = r(z)
    a.g = torch.ones_like(a)
    r.backward()
    with pytest.raises(RuntimeError, match="more times than it was called"):
        r.backward()


def test_model_backward_before_call_and_twice_after_one_call():
    x, targ, params = problem(3, 2, 2)
    model = Model(*params)
    with pytest.raises(RuntimeError, match=r"Model.backward\(\) was called before the model was called"):
        model.backward()
    model(x, targ)
    model.backward()
    first = [t.g.clone() for t in (x, *params)]
    # before: the second backward() set every .g to None, then failed in Mse.backward with a message about the layer
    with pytest.raises(RuntimeError, match=r"Model.backward\(\): backward\(\) already ran for this forward pass; call the model again"):
        model.backward()
    for t, g in zip((x, *params), first, strict=True):       # the first pass's gradients are left as they were
        assert t.g is not None and torch.equal(t.g, g)
    model(x, targ)
    model.backward()                                      # a new call: backward() runs again
    for t, g in zip((x, *params), first, strict=True):
        assert_close(t.g, g, **TOL)


def test_a_layer_backward_that_failed_keeps_its_call_and_can_run_again():
    # before: the saved call was popped before bwd ran, so the retry said "called before the layer was called"
    x, _, (w1, b1, _, _) = problem(4, 3, 2)
    layer = Lin(w1, b1)
    out = layer(x)
    with pytest.raises(RuntimeError, match="Lin.backward: out.g is not set"):
        layer.backward()
    assert len(layer.saved) == 1
    out.g = torch.ones_like(out)
    layer.backward()
    assert len(layer.saved) == 0
    assert_close(w1.g, x.t() @ out.g, **TOL)
    assert_close(b1.g, out.g.sum(0), **TOL)


def test_layer_backward_before_the_next_layer_set_out_g_names_the_call_order():
    r = Relu()
    r(torch.randn(3, 2))
    with pytest.raises(RuntimeError, match="Relu.backward: out.g is not set"):
        r.backward()


def test_module_subclass_without_forward_says_so():
    class Half(Module):
        pass
    with pytest.raises(NotImplementedError, match="Half must define forward"):
        Half()(torch.ones(2))


def test_module_subclass_needs_no_super_init():
    "As in the fastai course: a subclass with its own __init__ that never calls the base's still saves its calls."
    class Scale(Module):
        def __init__(self, k): self.k = k
        def forward(self, inp): return self.k * inp
        def bwd(self, out, inp): inp.g = self.k * out.g
    layer, x = Scale(2.0), torch.ones(2)
    out = layer(x)
    assert layer.out is out and layer.args[0] is x and len(layer.saved) == 1
    out.g = torch.tensor([1., 3.])
    layer.backward()
    assert torch.equal(x.g, torch.tensor([2., 6.])) and layer.saved == []


def test_backward_restores_args_and_out_of_the_call_it_differentiates():
    "During backward(), self.args and self.out are the call being differentiated, not the layer's last call."
    seen = []
    class Spy(Module):
        def forward(self, inp): return 2 * inp
        def bwd(self, out, inp): seen.append((self.out is out, inp)); inp.g = 2 * self.out.g
    layer, x1, x2 = Spy(), torch.ones(2), torch.zeros(2)
    o1, o2 = layer(x1), layer(x2)
    o1.g, o2.g = torch.full((2,), 3.), torch.full((2,), 5.)
    layer.backward(); layer.backward()                  # the second call first, then the first
    assert [s for s, _ in seen] == [True, True] and seen[0][1] is x2 and seen[1][1] is x1
    assert torch.equal(x2.g, torch.full((2,), 10.)) and torch.equal(x1.g, torch.full((2,), 6.))


def shared_weight_problem():
    gen = torch.Generator().manual_seed(7)
    x, targ = torch.randn(6, 3, generator=gen, **f64), torch.randn(6, generator=gen, **f64)
    w, b = torch.randn(3, 3, generator=gen, **f64), torch.randn(3, generator=gen, **f64)
    w_out, b_out = torch.randn(3, 1, generator=gen, **f64), torch.randn(1, generator=gen, **f64)
    return x, targ, w, b, w_out, b_out


def test_a_layer_used_twice_accumulates_the_gradients_of_both_uses():
    x, targ, w, b, w_out, b_out = shared_weight_problem()
    leaves = [t.clone().requires_grad_() for t in (x, w, b)]
    xl, wl, bl = leaves
    mse(lin(relu(lin(relu(lin(xl, wl, bl)), wl, bl)), w_out, b_out), targ).backward()

    shared, r1, r2, head, loss = Lin(w, b), Relu(), Relu(), Lin(w_out, b_out), Mse()
    loss(head(r2(shared(r1(shared(x))))), targ)
    assert len(shared.saved) == 2                       # both calls are kept, not only the last one
    for layer in [loss, head, r2, shared, r1, shared]:
        layer.backward()
    for ours, leaf in zip((x, w, b), leaves, strict=True):
        assert_close(ours.g, leaf.grad, **TOL)
    assert shared.saved == [] and r1.saved == []        # each backward() consumed one saved call


def test_the_plain_notebook_layers_get_a_shared_layer_wrong_which_is_why_module_exists():
    PlainLin, PlainRelu, PlainMse, _ = plain_classes()
    x, targ, w, b, w_out, b_out = shared_weight_problem()
    wl = w.clone().requires_grad_()
    mse(lin(relu(lin(relu(lin(x, wl, b)), wl, b)), w_out, b_out), targ).backward()
    shared, r1, r2, head, loss = PlainLin(w, b), PlainRelu(), PlainRelu(), PlainLin(w_out, b_out), PlainMse()
    loss(head(r2(shared(r1(shared(x))))), targ)
    for layer in [loss, head, r2, shared, r1, shared]:
        layer.backward()
    assert (w.g - wl.grad).abs().max() > 1e-3


def test_a_tensor_fed_to_two_layers_gets_the_sum_of_both_gradients():
    x = torch.randn(4, 3, **f64)
    w1, b1 = torch.randn(3, 1, **f64), torch.randn(1, **f64)
    la, lb = Lin(w1, b1), Lin(w1.clone(), b1.clone())
    a, b = la(x), lb(x)
    a.g, b.g = torch.ones_like(a), 2 * torch.ones_like(b)
    lb.backward(); la.backward()
    assert_close(x.g, 3 * torch.ones(4, 1, **f64) @ w1.t(), **TOL)


def test_model_backward_twice_does_not_double_the_gradients():
    x, targ, params = problem(5, 3, 4)
    ref_loss, ref = grads_by_autograd(x, targ, params)
    model = Model(*params)
    for _ in range(3):
        model(x, targ)
        model.backward()
    for name, t, r in zip(NAMES, (x, *params), ref, strict=True):
        assert_close(t.g, r, **TOL, msg=lambda m: f"{name}.g: {m}")


def test_a_model_call_without_backward_is_forgotten_by_the_next_call():
    x, targ, params = problem(5, 3, 4)
    x_valid, y_valid, _ = problem(7, 3, 4, seed=1)
    model = Model(*params)
    model(x_valid, y_valid)                              # e.g. a validation pass, never differentiated
    model(x, targ)
    assert all(len(m.saved) == 1 for m in [*model.layers, model.loss])
    model.backward()
    _, ref = grads_by_autograd(x, targ, params)
    assert_close(params[0].g, ref[1], **TOL)


def test_a_stale_gradient_of_another_shape_is_refused_not_broadcast():
    w, b = torch.randn(3, 2), torch.randn(2)
    layer = Lin(w, b)
    out = layer(torch.randn(4, 3))
    out.g = torch.ones(4, 2)
    b.g = torch.zeros(1)                                 # would broadcast to (2,) silently
    with pytest.raises(ValueError, match=r"cannot add a gradient of shape \(2,\) to the .g of shape \(1,\)"):
        layer.backward()


def test_shape_mismatch_between_the_layers_names_both_shapes():
    w1, b1, w2, b2 = init_params(5, 4)
    for cls in (Model, TorchModel):
        with pytest.raises(ValueError, match=r"w1 has shape \(5, 4\) and w2 has shape \(3, 1\)"):
            cls(w1, b1, torch.randn(3, 1), b2)
        with pytest.raises(ValueError, match=r"w1 has shape \(5, 4\) and b1 has shape \(3,\)"):
            cls(w1, torch.randn(3), w2, b2)
        with pytest.raises(ValueError, match=r"w2 has shape \(4, 2\); the MSE loss needs one output"):
            cls(w1, b1, torch.randn(4, 2), torch.randn(2))
    with pytest.raises(ValueError, match=r"w has shape \(5, 4\) and b has shape \(3,\)"):
        Lin(w1, torch.randn(3))
    # layers chained by hand: the second layer's weight does not fit the first layer's output
    l1, l2 = Lin(w1, b1), Lin(torch.randn(3, 1), torch.randn(1))
    with pytest.raises(ValueError, match=r"inp has shape \(2, 4\) and w has shape \(3, 1\)"):
        l2(Relu()(l1(torch.randn(2, 5))))
    with pytest.raises(ValueError, match=r"inp has shape \(2, 4\) and w has shape \(3, 1\)"):
        LinFunction.apply(torch.randn(2, 4), torch.randn(3, 1), torch.randn(1))
    with pytest.raises(ValueError, match=r"targ must have shape \(2,\), got \(2, 1\)"):
        Mse()(torch.randn(2, 1), torch.randn(2, 1))


def test_upstream_gradient_of_the_wrong_shape_names_both_shapes():
    layer = Lin(torch.randn(3, 2), torch.randn(2))
    out = layer(torch.randn(4, 3))
    out.g = torch.ones(2, 4)
    with pytest.raises(ValueError, match=r"out.g must be a tensor of out's shape \(4, 2\), got \(2, 4\)"):
        layer.backward()


def test_bad_dtypes_are_refused():
    with pytest.raises(TypeError, match="expected a floating-point tensor"):
        Lin(torch.ones(3, 2, dtype=torch.int64), torch.ones(2))
    with pytest.raises(TypeError, match="same dtype"):
        Model(torch.randn(3, 2, **f64), torch.randn(2, **f64), torch.randn(2, 1), torch.randn(1))


def test_torch_model_registers_copies_of_the_four_parameters():
    params = init_params(5, 4)
    tm = TorchModel(*params)
    assert [(n, tuple(p.shape)) for n, p in tm.named_parameters()] == \
        [("w1", (5, 4)), ("b1", (4,)), ("w2", (4, 1)), ("b2", (1,))]
    with torch.no_grad():
        tm.w1.add_(1.0)
    assert not torch.equal(tm.w1.detach(), params[0])     # a copy: training it leaves the caller's tensor alone
