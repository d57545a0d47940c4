"""The books' own layer code runs unchanged on our `Module` (chapter 5; issue 13, item 5).

`Relu`, `Lin` and `Mse` below are the layers of the fastai course (part 2, 2022, `nbs/03_backprop.ipynb`,
Apache License 2.0), as fastbook's chapter 17 writes them too, copied verbatim, spacing included, but
subclassing *our* `backprop.layers.Module` instead of the book's own base class. They call no
`super().__init__()`, and their `bwd(self, out, inp)` reads `self.out` (as `Lin` does) and the arguments
that `backward()` passes from `self.args`. They must give chapter 3's gradients on the real digits, get our
clear error for a `backward()` before any call, and read, during `backward()`, the call being differentiated.
"""
import pytest
import torch
from torch.testing import assert_close

from backprop.data import load_mnist_sample, normalise, train_valid_split
from backprop.forward import init_params
from backprop.grads import forward_and_backward
from backprop.layers import Module

F32 = dict(rtol=1e-5, atol=1e-6)       # chapter 3's float32 tolerance: the same sums in another order
F64 = dict(rtol=1e-10, atol=1e-12)


# ---- the book's classes, verbatim, on our Module ----
class Relu(Module):
    def forward(self, inp): return inp.clamp_min(0.)
    def bwd(self, out, inp): inp.g = (inp>0).float() * out.g

class Lin(Module):
    def __init__(self, w, b): self.w,self.b = w,b
    def forward(self, inp): return inp@self.w + self.b
    def bwd(self, out, inp):
        inp.g = self.out.g @ self.w.t()
        self.w.g = inp.t() @ self.out.g
        self.b.g = self.out.g.sum(0)

class Mse(Module):
    def forward (self, inp, targ): return (inp.squeeze() - targ).pow(2).mean()
    def bwd(self, out, inp, targ): inp.g = 2*(inp.squeeze()-targ).unsqueeze(-1) / targ.shape[0]
# ---- end of the book's classes ----


def book_forward_and_backward(x, targ, w1, b1, w2, b2):
    "The 2-layer MLP as a chain of the book's layers, run forward then backward as the book's Model does."
    layers, loss_fn = [Lin(w1, b1), Relu(), Lin(w2, b2)], Mse()
    out = x
    for l in layers: out = l(out)
    loss = loss_fn(out, targ)
    loss_fn.backward()
    for l in reversed(layers): l.backward()
    return loss


def grads(run, x, targ, params):
    "Run `run` on copies; return the loss and the .g of x, w1, b1, w2, b2."
    ts = [t.clone() for t in (x, *params)]
    loss = run(ts[0], targ, *ts[1:])
    return loss, [t.g for t in ts]


def compare(x, targ, params, tol):
    loss, ours = grads(book_forward_and_backward, x, targ, params)
    ref_loss, ref = grads(forward_and_backward, x, targ, params)
    assert_close(loss, ref_loss, **tol)
    compared = 0
    for name, g, r in zip(["x", "w1", "b1", "w2", "b2"], ours, ref, strict=True):
        assert g is not None, f"the book's layers set no {name}.g"
        assert_close(g, r, **tol, msg=lambda m: f"{name}.g: {m}")
        compared += 1
    assert compared == 5


def test_the_books_layers_give_chapter_3s_gradients_on_the_digits():
    x, y = load_mnist_sample()
    x_train, y_train, x_valid, _ = train_valid_split(x, y)
    x_train, _ = normalise(x_train, x_valid)
    params = init_params(784, 50, generator=torch.Generator().manual_seed(0))
    compare(x_train, y_train.float(), params, F32)


def test_the_books_layers_give_chapter_3s_gradients_in_float64():
    gen = torch.Generator().manual_seed(1)
    x, targ = torch.randn(8, 5, generator=gen, dtype=torch.float64), torch.randn(8, generator=gen, dtype=torch.float64)
    compare(x, targ, init_params(5, 4, generator=gen, dtype=torch.float64), F64)


@pytest.mark.parametrize("make,name", [(Relu, "Relu"), (Mse, "Mse"), (lambda: Lin(torch.randn(3, 2), torch.randn(2)), "Lin")])
def test_the_books_layers_get_our_clear_error_for_backward_before_a_call(make, name):
    with pytest.raises(RuntimeError, match=rf"{name}.backward\(\) was called before the layer was called"):
        make().backward()


def test_a_call_sets_args_and_out_as_the_book_expects():
    x, layer = torch.randn(4, 3), Lin(torch.randn(3, 2), torch.randn(2))
    out = layer(x)
    assert layer.out is out and len(layer.args) == 1 and layer.args[0] is x


def test_the_books_lin_used_twice_reads_the_right_out_g_in_each_backward():
    "self.out is restored to the call being differentiated, so the book's Lin gets each inp.g right."
    gen = torch.Generator().manual_seed(2)
    x, w, b = (torch.randn(*s, generator=gen, dtype=torch.float64) for s in [(5, 3), (3, 3), (3,)])
    G = torch.randn(5, 3, generator=gen, dtype=torch.float64)      # the upstream gradient of the second call
    layer = Lin(w, b)
    h = layer(x)
    out = layer(h)                                                  # the same layer, called twice
    out.g = G
    layer.backward()                                                # the second call: sets h.g
    layer.backward()                                                # the first call: reads self.out.g = h.g
    xl = x.clone().requires_grad_()
    ((xl @ w + b) @ w + b).backward(G)
    assert_close(x.g, xl.grad, **F64)
