r"""The bad-input sweep: every public function of the package, called with wrong shapes, wrong dtypes, wrong
argument order or bad values, must raise an exception whose message names the problem.

The rule, for each bad call in SWEEP:
  1. it raises (a returned value is a silent result, and fails);
  2. the exception has the expected type and its message matches the expected pattern;
  3. it was raised by a `raise` statement in the backprop package itself, not deep inside torch,
     numpy or the standard library (those messages name torch's internals, not the caller's mistake).

HOW TO ADD A MODULE OR A FUNCTION (the lead, as chapters land):
  * a new module: add its name to MODULES below. Every callable in its __all__ then needs an entry,
    and `test_every_public_function_has_a_sweep_entry` fails naming each one that has none;
  * a new function: one line in SWEEP, e.g.
        "backprop.train.sgd_step": [bad("dtype", lambda: sgd_step(...bad args...), TypeError, r"regex naming the problem")],
    with `bad(kind, call, ExceptionType, regex)`; kind is "shape", "dtype", "order" or "value";
  * a call that does not yet raise a clear error: `gap(kind, call, "what happens")` in KNOWN_GAPS. The
    sweep prints them, and fails once one of them starts raising a clear error (move it to SWEEP then);
  * a public name that takes no arguments worth sweeping: EXEMPT, with the reason.
"""
import contextlib
import importlib
import io
import re
import tempfile
import traceback
from pathlib import Path

import numpy as np
import pytest
import torch

import backprop
from backprop.check import GradReport, check_grads, diagnose, rel_error
from backprop.data import MNIST_SAMPLE, download_mnist, load_mnist, load_mnist_sample, load_names, normalise, train_valid_split
from backprop.forward import init_params, lin, mlp, mse, relu
from backprop.matmul import matmul_broadcast, matmul_einsum, matmul_elementwise, matmul_loops
from backprop.grads import forward_and_backward, lin_grad, mse_grad, numerical_grad, relu_grad
from backprop.layers import Lin, LinFunction, Model, Module, Mse, MseFunction, Relu, ReluFunction, TorchModel
from backprop.train import evaluate_regression, fit, main, minibatches, plot_loss, random_shift, sgd_step
from backprop.losses import (classifier_forward_and_backward, cross_entropy, cross_entropy_grad, evaluate_classifier,
                             log_softmax, logsumexp, nll, train_classifier)
from backprop.autograd import Tensor, draw_graph
from backprop.autograd import cross_entropy as ag_cross_entropy, mse as ag_mse
from backprop.fast import fast_forward_and_backward, matmul_flops, paired_ratio, time_interleaved

# backprop.parallel and backprop.exercises sweep their bad input in tests/test_parallel.py (workers, process
# groups) and tests/test_exercises.py (a learner's functions); backprop.guards is reached through the rest.
MODULES = ["backprop.data", "backprop.matmul", "backprop.forward", "backprop.grads", "backprop.check", "backprop.layers",
           "backprop.train", "backprop.losses", "backprop.autograd", "backprop.fast"]
KINDS = ("shape", "dtype", "order", "value")
PACKAGE_DIR = Path(backprop.__file__).resolve().parent


def bad(kind, call, error, match):
    assert kind in KINDS, kind
    return dict(kind=kind, call=call, error=error, match=match)


def gap(kind, call, what):
    assert kind in KINDS, kind
    return dict(kind=kind, call=call, what=what)


def T(*shape, dtype=torch.float32): return torch.randn(*shape, generator=torch.Generator().manual_seed(0), dtype=dtype)
def I(*shape): return torch.ones(*shape, dtype=torch.int64)
def F64(*shape): return T(*shape, dtype=torch.float64)


def with_g(t, g):
    t.g = g
    return t


def load_wrong_npz():
    "load_mnist_sample on an .npz file without 'images' and 'labels' (in a folder removed afterwards)."
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "digits.npz"
        np.savez(path, x=np.zeros((2, 4)))
        return load_mnist_sample(path)


def load_foreign_npz(**arrays):
    "load_mnist_sample on an .npz file with the right names and the wrong contents (in a folder removed afterwards)."
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "digits.npz"
        np.savez(path, **arrays)
        return load_mnist_sample(path)


def layers_swapped(n_in, n_hidden):
    "init_params' (w1, b1, w2, b2) given in the wrong order: (w2, b2, w1, b1)."
    w1, b1, w2, b2 = init_params(n_in, n_hidden)
    return [w2, b2, w1, b1]
def lin_loss(inp, w, b): return lin(inp, w, b).sum()


def called(layer, *args):
    "The layer after one forward call (its output gets no .g)."
    layer(*args)
    return layer


def L(*labels): return torch.tensor(labels, dtype=torch.int64)
def NAN(*shape): return torch.full(shape, float("nan"))


def tiny_data(n=8, n_valid=4, n_in=3):
    "(x_train, y_train, x_valid, y_valid) of a few random rows, for fit."
    return T(n, n_in), T(n), T(n_valid, n_in), T(n_valid)


def tiny_fit(params=None, data=None, **kw):
    "fit on tiny_data, one quiet epoch unless told otherwise: a fraction of a second."
    kw = dict(epochs=1, bs=4, verbose=False) | kw
    return fit(init_params(3, 2) if params is None else params, tiny_data() if data is None else data, **kw)


def first_batch(*args, **kw):
    "The first batch of minibatches: its checks run when the generator is first advanced."
    return next(minibatches(*args, **kw))


def quiet_main(argv):
    "train.main with `argv`, its printing swallowed, restoring torch's thread count that main sets."
    n = torch.get_num_threads()
    try:
        with contextlib.redirect_stdout(io.StringIO()): return main(argv)
    finally: torch.set_num_threads(n)


def axes():
    "A matplotlib Axes on a Figure that is never shown (no pyplot, no window)."
    from matplotlib.figure import Figure
    return Figure().subplots()


def param(*shape): return Tensor(T(*shape), requires_grad=True)


def backward_twice():
    "backward() called a second time on a graph that the first call freed."
    loss = (param(2, 3) * 2.).sum()
    loss.backward()
    return loss.backward()


def no_g_params():
    "init_params' tensors before any backward pass: none has .g."
    return list(init_params(3, 2))


def wrong_g_params():
    "init_params' tensors whose .g is transposed (w1.g of shape (2, 3) for w1 of shape (3, 2))."
    ps = list(init_params(3, 2))
    for p in ps: p.g = torch.zeros_like(p)
    ps[0].g = ps[0].t()
    return ps


def f64_g_params():
    "init_params' float32 tensors whose .g is float64."
    ps = list(init_params(3, 2))
    for p in ps: p.g = torch.zeros_like(p, dtype=torch.float64)
    return ps


def three_layers(n_in=3, h1=4, h2=2):
    "(w1, b1, w2, b2, w3, b3) of a 3-layer MLP n_in -> h1 -> h2 -> 1."
    return [T(n_in, h1), T(h1), T(h1, h2), T(h2), T(h2, 1), T(1)]


FLOAT = "expected a floating-point tensor"


def _matmul_bad_calls(f):
    "The same six bad calls for each of chapter 1's matrix products, whose checks are one function."
    return [bad("shape", lambda: f(T(2, 3), T(5, 2)), ValueError, r"a has shape \(2, 3\) and b has shape \(5, 2\)"),
            bad("shape", lambda: f(T(3), T(3, 2)), ValueError, r"a must be a matrix \(2 dimensions\), got shape \(3,\)"),
            bad("dtype", lambda: f(I(2, 3), T(3, 2)), TypeError, FLOAT),
            bad("dtype", lambda: f(T(2, 3), F64(3, 2)), TypeError, "same dtype"),
            bad("order", lambda: f(T(3, 2), T(3, 2)), ValueError, r"a.shape\[1\] must equal b.shape\[0\]"),
            bad("value", lambda: f([[1.]], T(1, 1)), TypeError, "a must be a torch.Tensor, got list")]


SWEEP = {
    # backprop.data
    "backprop.data.load_mnist_sample": [
        bad("value", lambda: load_mnist_sample("/nonexistent/digits.npz"), FileNotFoundError, "no file at /nonexistent/digits.npz"),
        bad("shape", load_wrong_npz, ValueError, "must hold arrays 'images' and 'labels'"),
        bad("value", lambda: load_mnist_sample(123), TypeError, "path must be a file path .* got int"),
        bad("dtype", lambda: load_foreign_npz(images=np.random.rand(4, 28, 28), labels=np.arange(4)), ValueError, r"images must be uint8 pixels of shape \(N, 28, 28\) or \(N, 784\), got float64"),
        bad("shape", lambda: load_foreign_npz(images=np.zeros((4, 28, 28), np.uint8), labels=np.arange(3)), ValueError, r"labels must be integers of shape \(4,\), one per image, got int64 of shape \(3,\)"),
        bad("value", lambda: load_foreign_npz(images=np.zeros((4, 784), np.uint8), labels=np.array([0, 3, 10, 2])), ValueError, r"labels must be digits 0 to 9, got values from 0 to 10"),
    ],
    "backprop.data.train_valid_split": [
        bad("shape", lambda: train_valid_split(T(10, 3), T(9)), ValueError, "x has 10 rows but y has 9"),
        bad("value", lambda: train_valid_split(T(10, 3), T(10), n_valid=0), ValueError, "n_valid must be an int between 1 and 9, got 0"),
        bad("value", lambda: train_valid_split(T(10, 3), T(10), n_valid=10), ValueError, "n_valid must be an int between 1 and 9, got 10"),
        bad("order", lambda: train_valid_split(T(10, 3), T(10), 42, 100), ValueError, "n_valid must be an int between 1 and 9, got 42"),
        bad("dtype", lambda: train_valid_split(T(10, 3), T(10), n_valid=3.0), ValueError, "n_valid must be an int between 1 and 9, got 3.0"),
        bad("dtype", lambda: train_valid_split(T(10, 3), T(10), n_valid=3, seed=None), TypeError, "seed must be an int, got None"),
        bad("dtype", lambda: train_valid_split([1, 2, 3], [1, 2, 3], n_valid=1), TypeError, "x must be a torch.Tensor, got list"),
    ],
    "backprop.data.download_mnist": [
        bad("value", lambda: download_mnist(tempfile.mkdtemp(), url="file:///nonexistent/mnist.npz"), ConnectionError, "could not download file:///nonexistent/mnist.npz"),
    ],
    "backprop.data.load_mnist": [
        bad("value", lambda: load_mnist(MNIST_SAMPLE), ValueError, r"lacks the arrays \['x_test', 'x_train', 'y_test', 'y_train'\]"),
    ],
    "backprop.data.load_names": [
        bad("value", lambda: load_names("/nonexistent/names.txt"), FileNotFoundError, "no file at /nonexistent/names.txt"),
        bad("dtype", lambda: load_names(MNIST_SAMPLE), ValueError, r"mnist_5k.npz is not a text file \(not UTF-8\)"),
        bad("value", lambda: load_names(Path(backprop.__file__).parent / "DATA.md"), ValueError, r"line 1 of .*DATA.md is '# The data shipped with backprop'; every line must be one name"),
        bad("dtype", lambda: load_names(["anna"]), TypeError, "path must be a file path .* got list"),
    ],
    "backprop.data.normalise": [
        bad("value", lambda: normalise(torch.ones(3, 2), torch.ones(2, 2)), ValueError, "standard deviation 0.0: a constant"),
        bad("dtype", lambda: normalise(I(3, 2), I(2, 2)), TypeError, "x_train must be a 2-D floating-point tensor"),
        bad("shape", lambda: normalise(T(10, 784), T(5, 783)), ValueError, "x_train has 784 features per row but x_valid has 783"),
        bad("order", lambda: normalise(T(10, 784), T(784)), TypeError, r"x_valid must be a 2-D floating-point tensor .* shape \(784,\)"),
    ],
    # backprop.forward
    **{f"backprop.matmul.{f.__name__}": _matmul_bad_calls(f)
       for f in (matmul_loops, matmul_elementwise, matmul_broadcast, matmul_einsum)},
    "backprop.forward.lin": [
        bad("shape", lambda: lin(T(4, 3), T(5, 2), T(2)), ValueError, r"inp has shape \(4, 3\) and w has shape \(5, 2\)"),
        bad("shape", lambda: lin(T(4, 5), T(5, 2), T(3)), ValueError, r"b must have shape \(2,\)"),
        bad("shape", lambda: lin(T(4, 5), T(5, 2), T(1, 2)), ValueError, r"b must have 1 dimension"),
        bad("dtype", lambda: lin(I(4, 3), T(3, 2), T(2)), TypeError, FLOAT),
        bad("dtype", lambda: lin(F64(4, 3), T(3, 2), T(2)), TypeError, "same dtype"),
        bad("order", lambda: lin(T(3, 2), T(4, 3), T(2)), ValueError, r"inp has shape \(3, 2\) and w has shape \(4, 3\)"),
        bad("value", lambda: lin([[1.0]], T(1, 1), T(1)), TypeError, "inp must be a torch.Tensor, got list"),
    ],
    "backprop.forward.relu": [
        bad("dtype", lambda: relu(I(3)), TypeError, FLOAT),
        bad("value", lambda: relu([1.0, -1.0]), TypeError, "inp must be a torch.Tensor, got list"),
    ],
    "backprop.forward.mse": [
        bad("shape", lambda: mse(T(5, 1), T(5, 1)), ValueError, r"targ must have shape \(5,\), got \(5, 1\)"),
        bad("shape", lambda: mse(T(5, 2), T(5)), ValueError, r"out must have shape \(N, 1\)"),
        bad("dtype", lambda: mse(T(5, 1), I(5)), TypeError, FLOAT),
        bad("dtype", lambda: mse(T(5, 1), F64(5)), TypeError, "same dtype"),
        bad("order", lambda: mse(T(5), T(5, 1)), ValueError, r"out must have 2 dimension\(s\), got shape \(5,\)"),
    ],
    "backprop.forward.init_params": [
        bad("value", lambda: init_params(0, 50), ValueError, "n_in must be a positive int, got 0"),
        bad("dtype", lambda: init_params(784, "50"), ValueError, "n_hidden must be a positive int, got '50'"),
        bad("order", lambda: init_params(784, 50, torch.Generator()), ValueError, "n_out must be a positive int"),
        bad("dtype", lambda: init_params(3, 2, dtype=torch.int64), TypeError, "dtype must be a floating-point torch dtype"),
        bad("value", lambda: init_params(3, 2, generator=5), TypeError, "generator must be a torch.Generator or None, got int"),
    ],
    "backprop.forward.mlp": [
        bad("shape", lambda: mlp(T(2, 5), *init_params(784, 50)), ValueError, r"inp has shape \(2, 5\) and w has shape \(784, 50\)"),
        bad("dtype", lambda: mlp(F64(2, 3), *init_params(3, 2)), TypeError, "same dtype"),
        bad("order", lambda: mlp(T(2, 3), *layers_swapped(3, 2)), ValueError, r"inp has shape \(2, 3\) and w has shape \(2, 1\)"),
    ],
    # backprop.grads
    "backprop.grads.numerical_grad": [
        bad("order", lambda: numerical_grad(F64(3), lambda x: x.sum()), TypeError, "f must be a function of x returning a scalar, got Tensor"),
        bad("dtype", lambda: numerical_grad(lambda x: x.sum(), I(3)), TypeError, FLOAT),
        bad("dtype", lambda: numerical_grad(lambda x: (x ** 2).sum(), torch.ones(3)), TypeError, "central differences need float64"),
        bad("value", lambda: numerical_grad(5, F64(3)), TypeError, "f must be a function of x returning a scalar, got int"),
        bad("shape", lambda: numerical_grad(lambda x: x * 2, F64(3)), ValueError, r"f\(x\) must return a scalar, got a tensor of shape \(3,\)"),
        bad("value", lambda: numerical_grad(lambda x: x.sum(), F64(3), h=0), ValueError, "h, the step, must be a positive number, got 0"),
        bad("dtype", lambda: numerical_grad(lambda x: x.sum(), F64(3), h="a"), ValueError, "h, the step, must be a positive number, got 'a'"),
    ],
    "backprop.grads.mse_grad": [
        bad("shape", lambda: mse_grad(T(5, 1), T(5, 1)), ValueError, r"targ must have shape \(5,\), got \(5, 1\)"),
        bad("dtype", lambda: mse_grad(I(5, 1), I(5)), TypeError, FLOAT),
        bad("order", lambda: mse_grad(T(5), T(5, 1)), ValueError, r"inp must have 2 dimension\(s\)"),
    ],
    "backprop.grads.relu_grad": [
        bad("dtype", lambda: relu_grad(T(3), with_g(T(3), F64(3))), TypeError, "out.g has dtype torch.float64 but out has dtype torch.float32"),
        bad("shape", lambda: relu_grad(T(4, 2), with_g(T(2, 4), T(2, 4))), ValueError, "must have the same shape"),
        bad("dtype", lambda: relu_grad(F64(4, 2), with_g(T(4, 2), T(4, 2))), TypeError, "relu_grad: all tensors must have the same dtype, got inp: torch.float64, out: torch.float32"),
        bad("shape", lambda: relu_grad(T(4, 2), with_g(T(4, 2), T(2, 4))), ValueError, r"out.g must be a tensor of out's shape \(4, 2\), got \(2, 4\)"),
        bad("dtype", lambda: relu_grad(I(3), I(3)), TypeError, FLOAT),
        bad("order", lambda: relu_grad(T(4, 2), T(4, 2)), RuntimeError, "out.g is not set.*mse_grad, then lin_grad"),
    ],
    "backprop.grads.lin_grad": [
        bad("dtype", lambda: lin_grad(T(3, 2), with_g(T(3, 2), F64(3, 2)), T(2, 2), T(2)), TypeError, "out.g has dtype torch.float64 but out has dtype torch.float32"),
        bad("shape", lambda: lin_grad(T(4, 3), T(4, 2), T(5, 2), T(2)), ValueError, r"inp has shape \(4, 3\) and w has shape \(5, 2\)"),
        bad("dtype", lambda: lin_grad(T(4, 3), with_g(F64(4, 2), F64(4, 2)), T(3, 2), T(2)), TypeError, "lin_grad: all tensors must have the same dtype, got inp: torch.float32, w: torch.float32, out: torch.float64"),
        bad("shape", lambda: lin_grad(T(4, 5), T(4, 3), T(5, 2), T(2)), ValueError, r"out has shape \(4, 3\); .* must be \(4, 2\)"),
        bad("dtype", lambda: lin_grad(I(4, 3), T(4, 2), T(3, 2), T(2)), TypeError, FLOAT),
        bad("order", lambda: lin_grad(T(4, 3), T(4, 2), T(3, 2), T(2)), RuntimeError, "out.g is not set"),
        bad("order", lambda: lin_grad(T(4, 3), T(3, 2), with_g(T(4, 2), T(4, 2)), T(2)), ValueError, r"inp has shape \(4, 3\) and w has shape \(4, 2\)"),
    ],
    "backprop.grads.forward_and_backward": [
        bad("shape", lambda: forward_and_backward(T(4, 3), T(4, 1), *init_params(3, 2)), ValueError, r"targ must have shape \(4,\)"),
        bad("dtype", lambda: forward_and_backward(I(4, 3), T(4), *init_params(3, 2)), TypeError, FLOAT),
        bad("order", lambda: forward_and_backward(T(4), T(4, 3), *init_params(3, 2)), ValueError, r"inp must have 2 dimension\(s\)"),
        bad("order", lambda: forward_and_backward(T(4, 3), T(4), *layers_swapped(3, 2)), ValueError, r"inp has shape \(4, 3\) and w has shape \(2, 1\)"),
    ],
    # backprop.check
    "backprop.check.rel_error": [
        bad("shape", lambda: rel_error(T(3), T(3, 1), 1e-5, 1e-6), ValueError, r"a \(3,\) .* and b \(3, 1\) .* must have the same shape"),
        bad("dtype", lambda: rel_error(I(3), T(3), 1e-5, 1e-6), TypeError, FLOAT),
        bad("order", lambda: rel_error(1e-5, 1e-6, T(3), T(3)), TypeError, "a must be a torch.Tensor, got float"),
        bad("value", lambda: rel_error(T(3), T(3), 0, 1e-6), ValueError, "rtol must be a number > 0, got 0"),
    ],
    "backprop.check.diagnose": [
        bad("dtype", lambda: diagnose([1.0], T(3), 1e-5, 1e-6), TypeError, "g must be a torch.Tensor or None, got list"),
        bad("order", lambda: diagnose(T(3), 1e-5, T(3), 1e-6), TypeError, "ref must be a torch.Tensor, got float"),
        bad("value", lambda: diagnose(T(3), T(3), 1e-5, -1.0), ValueError, "atol must be a number >= 0"),
    ],
    "backprop.check.GradReport": [
        bad("order", lambda: GradReport({}, []), TypeError, "rows must be a non-empty list of Row, got dict"),
    ],
    "backprop.check.check_grads": [
        bad("order", lambda: check_grads([T(2, 3)], lin_loss, [None]), TypeError, "loss_fn must be a function, got list"),
        bad("shape", lambda: check_grads(lin_loss, [T(2, 3), T(3, 1), T(1)], [None, None]), ValueError, r"got 2 gradient\(s\) for 3 input\(s\)"),
        bad("shape", lambda: check_grads(lambda a: a * 2, [F64(3)], [None]), ValueError, r"scalar tensor \(shape \(\)\), got shape \(3,\)"),
        bad("dtype", lambda: check_grads(lambda a: a.sum(), [I(3)], [None]), TypeError, FLOAT),
        bad("value", lambda: check_grads(lambda a: a.sum(), F64(3), F64(3)), TypeError, "inputs must be a list or tuple, got Tensor"),
        bad("value", lambda: check_grads(lambda a: a.sum(), [F64(3)], ["g"]), TypeError, r"grads\[0\] must be a torch.Tensor or None, got str"),
        bad("value", lambda: check_grads(lambda a: a.sum() * float("nan"), [F64(3)], [F64(3)]), ValueError, r"loss_fn\(\*inputs\) is nan, not a finite number"),
        bad("value", lambda: check_grads(lambda a: torch.tensor(float(a.detach().abs().sum()), dtype=torch.float64), [F64(3) * 0], [F64(3)]),
            ValueError, "central differences compared no entry"),
    ],
    # backprop.layers
    "backprop.layers.Module": [
        bad("order", lambda: Module().backward(), RuntimeError, r"backward\(\) was called before the layer was called"),
        bad("value", lambda: Module()(T(3)), NotImplementedError, r"must define forward\(\*args\)"),
    ],
    "backprop.layers.Lin": [
        bad("shape", lambda: Lin(T(3, 2), T(3)), ValueError, r"b has shape \(3,\); b must have shape \(2,\)"),
        bad("shape", lambda: Lin(T(3, 2), T(2))(T(4, 5)), ValueError, r"inp has shape \(4, 5\) and w has shape \(3, 2\)"),
        bad("dtype", lambda: Lin(I(3, 2), T(2)), TypeError, FLOAT),
        bad("order", lambda: Lin(T(2), T(3, 2)), ValueError, r"w must have 2 dimension\(s\), got shape \(2,\)"),
        bad("order", lambda: Lin(T(3, 2), T(2)).backward(), RuntimeError, "before the layer was called"),
        bad("order", lambda: called(Lin(T(3, 2), T(2)), T(4, 3)).backward(), RuntimeError, "out.g is not set"),
    ],
    "backprop.layers.Relu": [
        bad("dtype", lambda: Relu()(I(3)), TypeError, FLOAT),
        bad("order", lambda: Relu().backward(), RuntimeError, "before the layer was called"),
    ],
    "backprop.layers.Mse": [
        bad("shape", lambda: Mse()(T(4, 1), T(4, 1)), ValueError, r"targ must have shape \(4,\), got \(4, 1\)"),
        bad("order", lambda: Mse()(T(4), T(4, 1)), ValueError, r"out must have 2 dimension\(s\)"),
    ],
    "backprop.layers.Model": [
        bad("shape", lambda: Model(T(3, 2), T(2), T(3, 1), T(1)), ValueError, r"w2.shape\[0\] must equal w1.shape\[1\]"),
        bad("shape", lambda: Model(*init_params(3, 2))(T(4, 5), T(4)), ValueError, r"inp has shape \(4, 5\) and w has shape \(3, 2\)"),
        bad("dtype", lambda: Model(*[t.double() for t in init_params(3, 2)[:2]], *init_params(3, 2)[2:]), TypeError, "same dtype"),
        bad("order", lambda: Model(*layers_swapped(3, 2)), ValueError, r"w1 has shape \(2, 1\) and w2 has shape \(3, 2\)"),
        bad("order", lambda: Model(*init_params(3, 2)).backward(), RuntimeError, "before the model was called"),
        bad("order", lambda: (lambda m: (m(T(4, 3), T(4)), m.backward(), m.backward()))(Model(*init_params(3, 2))), RuntimeError,
            r"backward\(\) already ran for this forward pass; call the model again"),
    ],
    "backprop.layers.LinFunction": [
        bad("shape", lambda: LinFunction.apply(T(4, 3), T(5, 2), T(2)), ValueError, r"inp has shape \(4, 3\) and w has shape \(5, 2\)"),
        bad("dtype", lambda: LinFunction.apply(I(4, 3), T(3, 2), T(2)), TypeError, FLOAT),
    ],
    "backprop.layers.ReluFunction": [bad("dtype", lambda: ReluFunction.apply(I(3)), TypeError, FLOAT)],
    "backprop.layers.MseFunction": [
        bad("shape", lambda: MseFunction.apply(T(4, 1), T(4, 1)), ValueError, r"targ must have shape \(4,\)"),
        bad("order", lambda: MseFunction.apply(T(4), T(4, 1)), ValueError, r"out must have 2 dimension\(s\)"),
    ],
    "backprop.layers.TorchModel": [
        bad("shape", lambda: TorchModel(*init_params(3, 2))(T(4, 5), T(4)), ValueError, r"inp has shape \(4, 5\)"),
        bad("dtype", lambda: TorchModel(*[t.double() for t in init_params(3, 2)[:2]], *init_params(3, 2)[2:]), TypeError, "same dtype"),
        bad("order", lambda: TorchModel(*layers_swapped(3, 2)), ValueError, r"w1 has shape \(2, 1\) and w2 has shape \(3, 2\)"),
    ],
    # backprop.train
    "backprop.train.minibatches": [
        bad("shape", lambda: first_batch(T(10, 3), T(9), 4), ValueError, "x has 10 rows but y has 9"),
        bad("value", lambda: first_batch(T(0, 3), T(0), 4), ValueError, "x and y are empty"),
        bad("value", lambda: first_batch(T(10, 3), T(10), 0), ValueError, "bs must be a positive int, got 0"),
        bad("dtype", lambda: first_batch(T(10, 3), T(10), 2.0), ValueError, "bs must be a positive int, got 2.0"),
        bad("order", lambda: first_batch(T(10, 3), T(10), torch.Generator()), ValueError, "bs must be a positive int, got <torch._C.Generator"),
        bad("value", lambda: minibatches(T(10, 3), T(10), 0), ValueError, r"minibatches: bs must be a positive int, got 0"),
        bad("dtype", lambda: first_batch([[1.0]] * 4, [1.0] * 4, 2), TypeError, r"minibatches: x must be a torch\.Tensor, got list"),
        bad("order", lambda: first_batch(4, T(10, 3), T(10)), TypeError, r"minibatches: x must be a torch\.Tensor, got int"),
    ],
    "backprop.train.sgd_step": [
        bad("order", lambda: sgd_step(no_g_params(), 0.1), RuntimeError, r"parameter 0 has no .g; run the backward pass"),
        bad("shape", lambda: sgd_step(wrong_g_params(), 0.1), ValueError, r"parameter 0 has shape \(3, 2\) but its .g has shape \(2, 3\)"),
        bad("order", lambda: sgd_step(0.1, no_g_params()), TypeError, r"sgd_step: params must be a list or tuple of tensors, got float"),
        bad("dtype", lambda: sgd_step(f64_g_params(), 0.1), TypeError, r"sgd_step: all tensors must have the same dtype, got parameter 0: torch"),
        bad("dtype", lambda: sgd_step([with_g(T(2), T(2))], "0.1"), TypeError, r"sgd_step: lr must be a number, got str '0\.1'"),
        bad("value", lambda: sgd_step([with_g(T(2), T(2))], float("nan")), ValueError, r"sgd_step: lr must be a positive finite number, got nan"),
    ],
    "backprop.train.evaluate_regression": [
        bad("shape", lambda: evaluate_regression(T(4, 5), T(4), init_params(3, 2)), ValueError, r"inp has shape \(4, 5\) and w has shape \(3, 2\)"),
        bad("shape", lambda: evaluate_regression(T(4, 3), T(4, 1), init_params(3, 2)), ValueError, r"targ must have shape \(4,\), got \(4, 1\)"),
        bad("dtype", lambda: evaluate_regression(T(4, 3), I(4), init_params(3, 2)), TypeError, FLOAT),
        bad("order", lambda: evaluate_regression(T(4, 3), T(4), layers_swapped(3, 2)), ValueError, r"inp has shape \(4, 3\) and w has shape \(2, 1\)"),
        bad("value", lambda: evaluate_regression(T(4, 3), T(4), init_params(3, 2, 10)), ValueError, r"out must have shape \(N, 1\) with N >= 1, got \(4, 10\)"),
    ],
    "backprop.train.random_shift": [
        bad("shape", lambda: random_shift(T(2, 783), 2), ValueError, r"expected flattened 28x28 images of shape \(N, 784\), got \(2, 783\)"),
        bad("shape", lambda: random_shift(T(2, 28, 28), 2), ValueError, r"shape \(N, 784\), got \(2, 28, 28\)"),
        bad("order", lambda: random_shift(T(784), 2), ValueError, r"got \(784,\)"),
        bad("value", lambda: random_shift(T(2, 784), -1), ValueError, r"random_shift: max_shift must be an int >= 0, got -1"),
        bad("dtype", lambda: random_shift(T(2, 784), 1.5), ValueError, r"random_shift: max_shift must be an int >= 0, got 1\.5"),
        bad("dtype", lambda: random_shift([[0.0] * 784], 2), TypeError, r"random_shift: xb must be a torch\.Tensor, got list"),
    ],
    "backprop.train.fit": [
        bad("value", lambda: tiny_fit(data=tiny_data()[:3]), ValueError, r"data must be \(x_train, y_train, x_valid, y_valid\)"),
        bad("shape", lambda: tiny_fit(data=(T(8, 3), T(7), T(4, 3), T(4))), ValueError, "x_train has 8 rows but y_train has 7"),
        bad("shape", lambda: tiny_fit(data=(T(8), T(8), T(4, 3), T(4))), ValueError, r"x_train must have 2 dimension\(s\), got shape \(8,\)"),
        bad("value", lambda: tiny_fit(data=(T(0, 3), T(0), T(4, 3), T(4))), ValueError, "x_train is empty"),
        bad("shape", lambda: tiny_fit(data=(T(8, 3), T(8), T(4, 3), T(5))), ValueError, "x_valid has 4 rows but y_valid has 5"),
        bad("value", lambda: tiny_fit(data=(NAN(8, 3), T(8), T(4, 3), T(4))), ValueError, r"x_train contains 24 NaN or infinite value\(s\)"),
        bad("value", lambda: tiny_fit(data=(T(8, 3), NAN(8), T(4, 3), T(4))), ValueError, r"y_train contains 8 NaN or infinite value\(s\)"),
        bad("value", lambda: tiny_fit(data=(T(8, 3), T(8), T(4, 3) / 0, T(4))), ValueError, r"x_valid contains 12 NaN or infinite value\(s\)"),
        bad("value", lambda: tiny_fit(data=(T(8, 3), T(8), T(4, 3), NAN(4))), ValueError, r"y_valid contains 4 NaN or infinite value\(s\)"),
        bad("shape", lambda: tiny_fit(data=(T(8, 3), T(8), T(4, 2), T(4))), ValueError, "x_train has 3 features per row but x_valid has 2"),
        bad("dtype", lambda: tiny_fit(data=(T(8, 3), T(8), F64(4, 3), T(4))), TypeError, "x_train: torch.float32, x_valid: torch.float64"),
        bad("dtype", lambda: tiny_fit(data=(T(8, 3), T(8), T(4, 3), F64(4))), TypeError, "y_train: torch.float32, y_valid: torch.float64"),
        bad("dtype", lambda: tiny_fit(data=(T(8, 3), [1.0] * 8, T(4, 3), T(4))), TypeError, "y_train must be a torch.Tensor, got list"),
        bad("order", lambda: fit(0.05, tiny_data(), epochs=1, verbose=False), TypeError, "fit: params must be a list or tuple of tensors"),
        bad("value", lambda: tiny_fit(fwd_bwd=lambda xb, yb, *ps: mse(mlp(xb, *ps), yb)), RuntimeError,
            r"parameter 0 has no .g; .* fit clears them before each call"),
        bad("dtype", lambda: tiny_fit(data=(I(8, 3), T(8), T(4, 3), T(4))), TypeError, FLOAT),
        bad("dtype", lambda: tiny_fit(data=(T(8, 3), I(8), T(4, 3), I(4))), TypeError, FLOAT),
        bad("shape", lambda: tiny_fit(data=(T(8, 3), T(8, 1), T(4, 3), T(4, 1))), ValueError, r"y_train must have 1 dimension \(one target per row\), got shape \(8, 1\)"),
        bad("shape", lambda: tiny_fit(data=(T(8, 3), T(8), T(4, 3), T(4, 1))), ValueError, r"y_valid must have 1 dimension \(one target per row\), got shape \(4, 1\)"),
        bad("order", lambda: fit(tiny_data(), init_params(3, 2), epochs=1, verbose=False), ValueError, "x_train has 3 rows but y_train has 2"),
        bad("order", lambda: tiny_fit(layers_swapped(3, 2)), ValueError, r"inp has shape \(4, 3\) and w has shape \(2, 1\)"),
        bad("value", lambda: tiny_fit(bs=0), ValueError, r"fit: bs must be a positive int, got 0"),
        bad("value", lambda: tiny_fit(epochs=0), ValueError, r"fit: epochs must be a positive int, got 0"),
        bad("value", lambda: tiny_fit(lr=float("nan")), ValueError, r"fit: lr must be a positive finite number, got nan"),
    ],
    "backprop.train.main": [
        bad("value", lambda: quiet_main(["--hidden", "0", "--epochs", "1"]), ValueError, "n_hidden must be a positive int, got 0"),
        bad("value", lambda: quiet_main(["--threads", "0"]), ValueError, r"main: --threads must be a positive int, got 0"),
        bad("value", lambda: quiet_main(["--epochs", "0"]), ValueError, r"fit: epochs must be a positive int, got 0"),
        bad("value", lambda: quiet_main(["--bs", "0", "--epochs", "1"]), ValueError, r"fit: bs must be a positive int, got 0"),
    ],
    # backprop.losses
    "backprop.losses.nll": [
        bad("value", lambda: nll(T(4, 3), L(0, 1, 2, 3)), ValueError, r"labels must be in \[0, 2\] for 3 classes, got labels from 0 to 3"),
        bad("value", lambda: nll(T(4, 3), L(0, -1, 2, 1)), ValueError, "got labels from -1 to 2"),
        bad("dtype", lambda: nll(T(4, 3), T(4)), TypeError, "targ has dtype torch.float32; expected int64 class indices"),
        bad("shape", lambda: nll(T(4, 3), I(4, 1)), ValueError, r"targ must have shape \(4,\), one class index per row, got \(4, 1\)"),
        bad("value", lambda: nll(T(0, 3), L()), ValueError, r"the batch is empty \(inp has shape \(0, 3\)\)"),
        bad("value", lambda: nll(NAN(2, 3), L(0, 1)), ValueError, r"inp contains 6 NaN or \+inf value\(s\); log-probabilities are at most 0"),
        bad("order", lambda: nll(L(0, 1), T(2, 3)), TypeError, FLOAT),
        bad("shape", lambda: nll(T(3), L(0, 1, 2)), ValueError, r"inp must have 2 dimension\(s\), got shape \(3,\)"),
        bad("dtype", lambda: nll(T(2, 3), [0, 1]), TypeError, "targ must be a torch.Tensor of class indices, got list"),
    ],
    "backprop.losses.cross_entropy": [
        bad("value", lambda: cross_entropy(T(4, 3), L(0, 1, 2, 3)), ValueError, r"cross_entropy: labels must be in \[0, 2\] for 3 classes"),
        bad("dtype", lambda: cross_entropy(T(4, 3), L(0, 1, 2, 0).float()), TypeError, "expected int64 class indices"),
        bad("dtype", lambda: cross_entropy(T(4, 3), L(0, 1, 2, 0).int()), TypeError, "targ has dtype torch.int32"),
        bad("shape", lambda: cross_entropy(T(4, 3), I(4, 1)), ValueError, r"targ must have shape \(4,\)"),
        bad("value", lambda: cross_entropy(T(0, 10), L()), ValueError, "the batch is empty"),
        bad("value", lambda: cross_entropy(NAN(2, 3), L(0, 1)), ValueError, r"NaN or infinite value\(s\); the loss would be nan"),
        bad("value", lambda: cross_entropy(torch.tensor([[0., float("inf")]]), L(0)), ValueError, r"1 NaN or infinite value\(s\)"),
        bad("order", lambda: cross_entropy(L(0, 1), T(2, 3)), TypeError, FLOAT),
        bad("shape", lambda: cross_entropy(T(2, 3, 4), L(0, 1)), ValueError, r"inp must have 2 dimension\(s\), got shape \(2, 3, 4\)"),
    ],
    "backprop.losses.cross_entropy_grad": [
        bad("value", lambda: cross_entropy_grad(T(4, 3), L(0, 1, 2, 3)), ValueError, r"cross_entropy_grad: labels must be in \[0, 2\]"),
        bad("dtype", lambda: cross_entropy_grad(T(4, 3), T(4)), TypeError, "expected int64 class indices"),
        bad("shape", lambda: cross_entropy_grad(T(4, 3), I(4, 1)), ValueError, r"targ must have shape \(4,\)"),
        bad("value", lambda: cross_entropy_grad(T(0, 3), L()), ValueError, "the batch is empty"),
        bad("value", lambda: cross_entropy_grad(NAN(2, 3), L(0, 1)), ValueError, "NaN or infinite"),
        bad("order", lambda: cross_entropy_grad(L(0, 1), T(2, 3)), TypeError, FLOAT),
    ],
    "backprop.losses.classifier_forward_and_backward": [
        bad("value", lambda: classifier_forward_and_backward(T(4, 3), L(0, 1, 2, 9), *init_params(3, 2)), ValueError, r"labels must be in \[0, 0\] for 1 classes"),
        bad("dtype", lambda: classifier_forward_and_backward(T(4, 3), T(4), *init_params(3, 2, 10)), TypeError, "expected int64 class indices"),
        bad("shape", lambda: classifier_forward_and_backward(T(4, 3), I(4, 1), *init_params(3, 2, 10)), ValueError, r"targ must have shape \(4,\)"),
        bad("shape", lambda: classifier_forward_and_backward(T(4, 5), L(0, 1, 2, 3), *init_params(3, 2, 10)), ValueError, r"inp has shape \(4, 5\) and w has shape \(3, 2\)"),
        bad("order", lambda: classifier_forward_and_backward(L(0, 1, 2, 3), T(4, 3), *init_params(3, 2, 10)), TypeError, FLOAT),
        bad("order", lambda: classifier_forward_and_backward(T(4, 3), L(0, 1, 2, 3), *layers_swapped(3, 2)), ValueError, r"inp has shape \(4, 3\) and w has shape \(2, 1\)"),
        bad("value", lambda: classifier_forward_and_backward(NAN(4, 3), L(0, 1, 2, 3), *init_params(3, 2, 10)), ValueError, "NaN or infinite"),
    ],
    "backprop.losses.evaluate_classifier": [
        bad("value", lambda: evaluate_classifier(T(4, 3), L(0, 1, 2, 10), init_params(3, 2, 10)), ValueError, r"labels must be in \[0, 9\] for 10 classes, got labels from 0 to 10"),
        bad("dtype", lambda: evaluate_classifier(T(4, 3), T(4), init_params(3, 2, 10)), TypeError, "expected int64 class indices"),
        bad("shape", lambda: evaluate_classifier(T(4, 3), I(4, 1), init_params(3, 2, 10)), ValueError, r"targ must have shape \(4,\)"),
        bad("shape", lambda: evaluate_classifier(T(4, 5), L(0, 1, 2, 3), init_params(3, 2, 10)), ValueError, r"inp has shape \(4, 5\)"),
        bad("value", lambda: evaluate_classifier(T(0, 3), L(), init_params(3, 2, 10)), ValueError, "the batch is empty"),
        bad("order", lambda: evaluate_classifier(L(0, 1, 2, 3), T(4, 3), init_params(3, 2, 10)), TypeError, FLOAT),
    ],
    "backprop.losses.train_classifier": [
        bad("value", lambda: train_classifier(hidden=0, verbose=False), ValueError, "n_hidden must be a positive int, got 0"),
        bad("dtype", lambda: train_classifier(hidden="64", verbose=False), ValueError, "n_hidden must be a positive int, got '64'"),
        bad("value", lambda: train_classifier(bs=0, verbose=False), ValueError, r"fit: bs must be a positive int, got 0"),
        bad("value", lambda: train_classifier(epochs=1, max_shift=-1, verbose=False), ValueError, r"fit: max_shift must be an int >= 0, got -1"),
    ],
    # backprop.autograd
    "backprop.autograd.Tensor": [
        bad("dtype", lambda: Tensor(I(2, 3)), TypeError, "Tensor: data has dtype torch.int64; " + FLOAT),
        bad("value", lambda: Tensor([[1.0, 2.0]]), TypeError, "Tensor: data must be a torch.Tensor, got list"),
        bad("value", lambda: Tensor(Tensor(T(2))), TypeError, "data is already a Tensor"),
        bad("shape", lambda: param(2, 3) @ param(2, 3), ValueError, r"matmul: shapes \(2, 3\) @ \(2, 3\) do not fit"),
        bad("shape", lambda: param(3) @ param(3, 2), ValueError, r"matmul: shapes \(3,\) @ \(3, 2\) do not fit; expected \(N, k\) @ \(k, m\)"),
        bad("order", lambda: param(3, 2) @ param(4, 3), ValueError, r"shapes \(3, 2\) @ \(4, 3\) do not fit"),
        bad("dtype", lambda: param(2, 3) @ Tensor(F64(3, 2)), TypeError, "matmul: all tensors must have the same dtype"),
        bad("dtype", lambda: param(2, 3) @ T(3, 2), TypeError, r"matmul: got a torch.Tensor; wrap it as Tensor\(t\)"),
        bad("shape", lambda: param(2, 3) + param(2, 4), ValueError, r"add: shapes \(2, 3\) and \(2, 4\) cannot be broadcast together"),
        bad("shape", lambda: param(2, 3) * param(3, 2), ValueError, r"mul: shapes \(2, 3\) and \(3, 2\) cannot be broadcast"),
        bad("dtype", lambda: param(2, 3) + T(2, 3), TypeError, "add: got a torch.Tensor"),
        bad("dtype", lambda: param(2, 3) * "2", TypeError, "mul: expected a Tensor or a number, got str"),
        bad("dtype", lambda: param(2, 3) - True, TypeError, "sub: expected a Tensor or a number, got bool"),
        bad("dtype", lambda: param(2, 3) ** param(2, 3), TypeError, "pow: the exponent must be a Python number, got Tensor"),
        bad("value", lambda: param(2, 3).sum(dim=2), IndexError, r"sum: dim 2 is out of range for a tensor of shape \(2, 3\)"),
        bad("value", lambda: param(2, 3).mean(dim=-3), IndexError, r"mean: dim -3 is out of range"),
        bad("order", backward_twice, RuntimeError, "backward through the graph a second time"),
        bad("shape", lambda: (param(2, 3) * 2.).backward(), RuntimeError, r"grad can be implicitly created only for scalar outputs, and this output has shape \(2, 3\)"),
        bad("order", lambda: Tensor(T(2, 3)).sum().backward(), RuntimeError, "this tensor does not require grad"),
        bad("shape", lambda: (param(2, 3) * 2.).backward(T(3, 2)), ValueError, r"gradient has shape \(3, 2\); it must have the output's shape \(2, 3\)"),
        bad("dtype", lambda: (param(2, 3) * 2.).backward(F64(2, 3)), TypeError, "backward: all tensors must have the same dtype"),
        bad("dtype", lambda: (param(2, 3) * 2.).backward(I(2, 3)), TypeError, FLOAT),
        bad("dtype", lambda: param(2, 3).sum(dim=0.5), TypeError, r"sum: dim must be None, an int or a tuple of ints, got 0\.5"),
    ],
    "backprop.autograd.mse": [
        bad("shape", lambda: ag_mse(param(4, 1), T(4, 1)), ValueError, r"mse: out has shape \(4, 1\) so targ must have shape \(4,\)"),
        bad("shape", lambda: ag_mse(param(4), T(4)), ValueError, r"out must have 2 dimension\(s\), got shape \(4,\)"),
        bad("dtype", lambda: ag_mse(param(4, 1), I(4)), TypeError, FLOAT),
        bad("dtype", lambda: ag_mse(param(4, 1), F64(4)), TypeError, "same dtype"),
        bad("dtype", lambda: ag_mse(T(4, 1), T(4)), TypeError, "mse: out must be a Tensor, got Tensor"),
        bad("value", lambda: ag_mse(param(4, 1), param(4)), ValueError, "targ requires grad"),
        bad("order", lambda: ag_mse(T(4), param(4, 1)), TypeError, "out must be a Tensor"),
        bad("value", lambda: ag_mse(param(0, 1), T(0)), ValueError, r"out must have shape \(N, 1\) with N >= 1, got \(0, 1\)"),
    ],
    "backprop.autograd.cross_entropy": [
        bad("value", lambda: ag_cross_entropy(param(4, 3), L(0, 1, 2, 3)), ValueError, r"labels must lie in \[0, 3\), got values from 0 to 3"),
        bad("value", lambda: ag_cross_entropy(param(2, 3), L(-1, 0)), ValueError, "got values from -1 to 0"),
        bad("dtype", lambda: ag_cross_entropy(param(4, 3), T(4)), TypeError, "targ must be a torch tensor of integer class labels .* got torch.float32"),
        bad("dtype", lambda: ag_cross_entropy(param(2, 3), [0, 1]), TypeError, "integer class labels .* got list"),
        bad("dtype", lambda: ag_cross_entropy(param(2, 3), Tensor(T(2))), TypeError, r"integer class labels \(int64 or int32\), got Tensor"),
        bad("shape", lambda: ag_cross_entropy(param(4, 3), I(4, 1)), ValueError, r"logits are \(4, 3\) so targ must have shape \(4,\), got \(4, 1\)"),
        bad("value", lambda: ag_cross_entropy(param(0, 3), L()), ValueError, r"logits must have shape \(N, C\) with N >= 1, got \(0, 3\)"),
        bad("shape", lambda: ag_cross_entropy(param(3), L(0, 1, 2)), ValueError, r"got \(3,\)"),
        bad("order", lambda: ag_cross_entropy(L(0, 1), param(2, 3)), TypeError, "logits must be a Tensor, got Tensor"),
        bad("value", lambda: ag_cross_entropy(Tensor(NAN(2, 3), requires_grad=True), L(0, 1)), ValueError, r"cross_entropy: logits contain 6 NaN or infinite value\(s\); the loss wou"),
    ],
    # backprop.fast
    "backprop.fast.fast_forward_and_backward": [
        bad("shape", lambda: fast_forward_and_backward(T(4, 3), T(4), *init_params(3, 2)[:3]), ValueError, r"expected weights and biases in pairs .* got 3 tensor\(s\)"),
        bad("value", lambda: fast_forward_and_backward(T(4, 3), T(4)), ValueError, r"got 0 tensor\(s\)"),
        bad("shape", lambda: fast_forward_and_backward(T(4, 3), T(4), *three_layers()[:2], *init_params(3, 2)[2:]), ValueError, r"layer 2: inp has shape \(4, 4\) and w has shape \(2, 1\)"),
        bad("shape", lambda: fast_forward_and_backward(T(4, 3), T(4), *three_layers(h2=5)[:4], T(2, 1), T(1)), ValueError, r"layer 3: inp has shape \(4, 5\) and w has shape \(2, 1\)"),
        bad("shape", lambda: fast_forward_and_backward(T(4, 5), T(4), *init_params(3, 2)), ValueError, r"layer 1: inp has shape \(4, 5\) and w has shape \(3, 2\)"),
        bad("shape", lambda: fast_forward_and_backward(T(4, 3), T(4, 1), *init_params(3, 2)), ValueError, r"targ must have shape \(4,\), got \(4, 1\)"),
        bad("shape", lambda: fast_forward_and_backward(T(4, 3), T(4), *init_params(3, 2, 10)), ValueError, r"out must have shape \(N, 1\) with N >= 1, got \(4, 10\)"),
        bad("value", lambda: fast_forward_and_backward(T(0, 3), T(0), *init_params(3, 2)), ValueError, r"out must have shape \(N, 1\) with N >= 1, got \(0, 1\)"),
        bad("dtype", lambda: fast_forward_and_backward(I(4, 3), T(4), *init_params(3, 2)), TypeError, FLOAT),
        bad("dtype", lambda: fast_forward_and_backward(F64(4, 3), T(4), *init_params(3, 2)), TypeError, "same dtype"),
        bad("dtype", lambda: fast_forward_and_backward(T(4, 3), I(4), *init_params(3, 2)), TypeError, FLOAT),
        bad("order", lambda: fast_forward_and_backward(T(4), T(4, 3), *init_params(3, 2)), ValueError, r"inp must have 2 dimension\(s\)"),
        bad("order", lambda: fast_forward_and_backward(T(4, 3), T(4), *layers_swapped(3, 2)), ValueError, r"layer 1: inp has shape \(4, 3\) and w has shape \(2, 1\)"),
        bad("value", lambda: fast_forward_and_backward(NAN(4, 3), T(4), *init_params(3, 2)), ValueError, r"fast_forward_and_backward: the loss is nan; inp, targ or a parameter c"),
        bad("value", lambda: fast_forward_and_backward(NAN(4, 3), T(4), *init_params(3, 2), block_rows=1), ValueError, r"fast_forward_and_backward: the loss is nan"),
        bad("value", lambda: fast_forward_and_backward(T(4, 3), T(4), *init_params(3, 2), block_rows=0), ValueError, r"block_rows must be a positive int, got 0"),
        bad("dtype", lambda: fast_forward_and_backward(T(4, 3), T(4), *init_params(3, 2), block_rows=2.0), ValueError, r"block_rows must be a positive int, got 2.0"),
        bad("shape", lambda: fast_forward_and_backward(T(5, 3), T(4), *init_params(3, 2), block_rows=2), ValueError, r"targ must have shape \(5,\), got \(4,\)"),
        bad("shape", lambda: fast_forward_and_backward(T(4, 3), T(4), *init_params(3, 2), input_grad=T(3, 4)), ValueError, r"the input_grad buffer must have inp's shape \(4, 3\), got \(3, 4\)"),
        bad("dtype", lambda: fast_forward_and_backward(T(4, 3), T(4), *init_params(3, 2), input_grad=F64(4, 3)), TypeError, r"the input_grad buffer must have inp's dtype torch.float32, got torch.float64"),
        bad("shape", lambda: fast_forward_and_backward(T(4, 3), T(4), *init_params(3, 2), input_grad=T(3, 4).t()), ValueError, r"the input_grad buffer must be contiguous"),
        bad("value", lambda: (lambda x: fast_forward_and_backward(x, T(4), *init_params(3, 2), input_grad=x))(T(4, 3)), ValueError, r"the input_grad buffer overlaps inp in memory"),
        bad("dtype", lambda: fast_forward_and_backward(T(4, 3), T(4), *init_params(3, 2), input_grad="yes"), TypeError, r"input_grad must be False, True, or a tensor of inp's shape .* got str"),
        bad("value", lambda: (lambda w: fast_forward_and_backward(T(4, 3), T(4), w, T(3), w, T(3), T(3, 1), T(1)))(T(3, 3)), ValueError, r"parameter 3 is the same tensor as parameter 1; tied parameters are not supported"),
        bad("value", lambda: fast_forward_and_backward(T(4, 3).index_fill_(1, torch.tensor([0]), float("-inf")), T(4), torch.ones(3, 2), T(2), T(2, 1), T(1)), ValueError, r"but the input of a ReLU contains NaN or infinite values"),
    ],
    "backprop.autograd.draw_graph": [
        bad("dtype", lambda: draw_graph(T(2, 3) * 2, ax=axes()), TypeError, r"draw_graph: root must be a Tensor, got Tensor \(a torch\.Tensor, not a b"),
        bad("order", lambda: draw_graph(axes(), param(2, 3).sum()), TypeError, r"draw_graph: root must be a Tensor, got Axes"),
    ],
    "backprop.fast.matmul_flops": [
        bad("value", lambda: matmul_flops(-4, [3, 2, 1]), ValueError, r"matmul_flops: n, the number of rows, must be a positive int, got -4"),
        bad("value", lambda: matmul_flops(4, [3]), ValueError, r"matmul_flops: sizes must be a list of at least 2 positive int layer wi"),
        bad("value", lambda: matmul_flops(4, [3, 0, 1]), ValueError, r"matmul_flops: sizes must be a list of at least 2 positive int layer wi"),
        bad("dtype", lambda: matmul_flops(4.5, [3, 2]), ValueError, r"matmul_flops: n, the number of rows, must be a positive int, got 4\.5"),
        bad("order", lambda: matmul_flops([3, 2, 1], 4), ValueError, r"matmul_flops: n, the number of rows, must be a positive int, got \[3, 2"),
        bad("shape", lambda: matmul_flops(4, [3], input_grad=True), ValueError, r"matmul_flops: sizes must be a list of at least 2 positive int layer wi"),
    ],
    "backprop.fast.time_interleaved": [
        bad("dtype", lambda: time_interleaved([lambda: None], 3), TypeError, r"time_interleaved: fns must be a non-empty dict \{name: function of nothing\}, got list"),
        bad("value", lambda: time_interleaved({}, 3), TypeError, r"time_interleaved: fns must be a non-empty dict .* got dict \{\}"),
        bad("dtype", lambda: time_interleaved({"a": 1.5}, 3), TypeError, r"time_interleaved: fns\['a'\] must be a function of nothing, got float"),
        bad("value", lambda: time_interleaved({"a": lambda: None}, 0), ValueError, r"time_interleaved: rounds must be a positive int, got 0"),
        bad("order", lambda: time_interleaved(3, {"a": lambda: None}), TypeError, r"time_interleaved: fns must be a non-empty dict .* got int 3"),
        bad("dtype", lambda: time_interleaved({"a": lambda: None}, 2, clock=1.0), TypeError, r"time_interleaved: clock must be a function that returns seconds, got float"),
    ],
    "backprop.fast.paired_ratio": [
        bad("shape", lambda: paired_ratio([1.0, 2.0], [1.0]), ValueError, r"paired_ratio: times has 2 rounds and base_times 1; they must come from the same rounds"),
        bad("value", lambda: paired_ratio([1.0], [0.0]), ValueError, r"paired_ratio: base_times has a 0 \(round 0\): no ratio to it"),
        bad("value", lambda: paired_ratio([], []), ValueError, r"paired_ratio: times must be a non-empty list of seconds"),
        bad("dtype", lambda: paired_ratio(torch.ones(3), [1.0, 1.0, 1.0]), ValueError, r"paired_ratio: times must be a non-empty list of seconds \(numbers >= 0\), got tensor"),
        bad("value", lambda: paired_ratio([-1.0], [1.0]), ValueError, r"paired_ratio: times must be a non-empty list of seconds \(numbers >= 0\), got \[-1\.0\]"),
    ],
    "backprop.losses.log_softmax": [
        bad("dtype", lambda: log_softmax([[1.0, 2.0]]), TypeError, r"log_softmax: z must be a torch\.Tensor, got list"),
        bad("shape", lambda: log_softmax(T(3, 0)), ValueError, r"log_softmax: z has shape \(3, 0\), no classes; softmax needs at least on"),
        bad("dtype", lambda: log_softmax(I(2, 3)), TypeError, r"log_softmax: z has dtype torch\.int64; expected a floating-point tensor"),
        bad("value", lambda: log_softmax(NAN(2, 3)), ValueError, r"log_softmax: z contains 6 NaN or infinite value\(s\); the loss would be "),
    ],
    "backprop.losses.logsumexp": [
        bad("dtype", lambda: logsumexp([[1.0, 2.0]]), TypeError, r"logsumexp: z must be a torch\.Tensor, got list"),
        bad("shape", lambda: logsumexp(T(3, 0)), ValueError, r"logsumexp: z has shape \(3, 0\), no classes; softmax needs at least one "),
        bad("dtype", lambda: logsumexp(I(2, 3)), TypeError, r"logsumexp: z has dtype torch\.int64; expected a floating-point tensor \("),
        bad("value", lambda: logsumexp(NAN(2, 3)), ValueError, r"logsumexp: z contains 6 NaN or infinite value\(s\); the loss would be na"),
    ],
    "backprop.train.plot_loss": [
        bad("value", lambda: plot_loss({}, ax=axes()), ValueError, r"plot_loss: hist lacks the key\(s\) \['step_loss', 'epoch'\]; expected the "),
        bad("value", lambda: plot_loss(dict(step_loss=[], epoch=[]), ax=axes()), ValueError, r"plot_loss: hist has no epochs; there is nothing to plot"),
        bad("order", lambda: plot_loss(axes(), tiny_fit()), TypeError, r"plot_loss: hist must be the dict that fit returns, got Axes"),
    ],
}

# Bad calls that do not (yet) raise a clear error from backprop's own checks. Each is reported to the lead,
# who fixes it in the chapter's notebook; then it starts raising, this sweep fails, and it moves to SWEEP.
KNOWN_GAPS = {}  # none left: every bad call of the sweep raises a clear error

EXEMPT = {
    "backprop.check.Row": "a plain record (dataclass) of one comparison, filled by check_grads; it takes any values",
}


def public_callables():
    "'module.name' of every callable in the __all__ of each module of MODULES (constants are skipped)."
    names = []
    for modname in MODULES:
        mod = importlib.import_module(modname)
        names += [f"{modname}.{n}" for n in mod.__all__ if callable(getattr(mod, n))]
    return names


def verdict(entry):
    "None if the bad call raised a clear error by the rule above, else what went wrong."
    try:
        result = entry["call"]()
    except Exception as e:
        frame = traceback.extract_tb(e.__traceback__)[-1]
        inside = Path(frame.filename).resolve().is_relative_to(PACKAGE_DIR) and re.search(r"\braise\b", frame.line or "")
        if not inside:
            return f"raised {type(e).__name__} from {frame.filename}:{frame.lineno} ({frame.line!r}), not from a check in backprop: {e}"
        if "error" in entry and not isinstance(e, entry["error"]):
            return f"raised {type(e).__name__}, expected {entry['error'].__name__}: {e}"
        if "match" in entry and not re.search(entry["match"], str(e)):
            return f"message {str(e)!r} does not match {entry['match']!r}"
        return None
    return f"returned silently: {type(result).__name__}"


def test_every_public_function_has_a_sweep_entry():
    names = public_callables()
    assert len(names) >= 25
    missing = [n for n in names if not SWEEP.get(n) and not KNOWN_GAPS.get(n) and n not in EXEMPT]
    assert not missing, ("public functions with no bad-input entry in tests/test_bad_input_sweep.py "
                         f"(add one line each to SWEEP): {', '.join(missing)}")
    stale = [n for n in [*SWEEP, *KNOWN_GAPS, *EXEMPT] if n not in names]
    assert not stale, f"sweep entries for names that are not public callables of MODULES: {', '.join(stale)}"


def test_sweep_every_public_function_with_bad_input(record_property):
    names = public_callables()
    failures, tried, per_kind, gaps = [], 0, dict.fromkeys(KINDS, 0), []
    for name in names:
        for entry in SWEEP.get(name, []):
            tried += 1; per_kind[entry["kind"]] += 1
            problem = verdict(entry)
            if problem: failures.append(f"{name} ({entry['kind']}): {problem}")
        for entry in KNOWN_GAPS.get(name, []):
            if verdict(entry) is None:
                failures.append(f"{name} ({entry['kind']}): the known gap '{entry['what']}' now raises a clear error: move it to SWEEP")
            gaps.append(f"  known gap  {name} ({entry['kind']}): {entry['what']}")
    record_property("summary", "\n".join([
        f"bad-input sweep: {tried} bad calls to {len(names) - len(EXEMPT)} public functions of {len(MODULES)} modules "
        f"({', '.join(f'{n} {k}' for k, n in per_kind.items())}): {tried - len(failures)} raised a clear error",
        f"{len(gaps)} known gaps (not raising a clear error yet; {sum('SILENT' in g for g in gaps)} of them silent)", *gaps]))
    assert tried >= 80
    assert not failures, "\n".join(failures)


def test_the_rule_rejects_torch_internal_errors_and_silent_results():
    "The sweep's own check: a torch error from inside an operation, or a returned value, must not pass."
    assert "not from a check in backprop" in verdict(bad("dtype", lambda: torch.ones(2, 3) @ torch.ones(2, 3), RuntimeError, ""))
    assert verdict(bad("shape", lambda: relu(T(3)), ValueError, "")).startswith("returned silently")
    assert "does not match" in verdict(bad("shape", lambda: relu(I(3)), TypeError, "something else"))
    assert verdict(bad("dtype", lambda: relu(I(3)), TypeError, FLOAT)) is None
