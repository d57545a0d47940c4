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
import backprop.gpt as gpt_blocks
from backprop.check import GradReport, GradRow, GradTable, check_grads, compare_grads, diagnose, rel_error
from backprop.data import (MNIST_SAMPLE, build_dataset, download_mnist, load_mnist, load_mnist_sample, load_names, normalise,
                           split_names, train_valid_split)
from backprop.forward import init_params, lin, mlp, mse, relu
from backprop.matmul import matmul_broadcast, matmul_einsum, matmul_elementwise, matmul_loops
from backprop.grads import assert_same_grads, autograd_grads, forward_and_backward, lin_grad, mse_grad, relu_grad
from backprop.check import numerical_grad
from backprop.layers import Lin, LinFunction, Model, Module, Mse, MseFunction, Relu, ReluFunction, TorchModel
from backprop.cli import main
from backprop.train import evaluate_regression, fit, minibatches, plot_loss, plot_watch, random_shift, sgd_step
from backprop.losses import (classifier_forward_and_backward, cross_entropy, cross_entropy_grad, evaluate_classifier,
                             log_softmax, logsumexp, nll, train_classifier)
from backprop.autograd import Tensor, draw_graph, _result
from backprop.autograd import cross_entropy as ag_cross_entropy, mse as ag_mse
from backprop.fast import balanced_orders, fast_forward_and_backward, matmul_flops, paired_ratio, time_interleaved
from backprop.charmlp import (BACKWARD, batchnorm_backward, batchnorm_backward_fused, charmlp_autograd, charmlp_backward,
                              charmlp_forward, charmlp_logits, cross_entropy_backward, embedding_linear_backward,
                              init_charmlp, tanh_linear_backward, train_charmlp)
from backprop.parallel import (TorchMLP, all_reduce_grads, breaking_point, classifier_shard_step, compute_per_step, ddp_step,
                               overlapped_forward_and_backward,
                               parallel_forward_and_backward, predict_step, ring_allreduce_time, run_workers, scaling,
                               scaling_report, scaling_table, shard, sync_params, time_all_reduce, time_compute, time_steps,
                               timing_table, worker_fault, worker_fit, worker_grads, worker_timing)
from backprop.parallel import main as parallel_main
from backprop.exercises import EXERCISES, grade, hint
import torch.distributed as dist
from backprop.autograd import hvp
from backprop.forward_mode import lin_jvp, mlp_jvp, mse_jvp, relu_jvp
from backprop.memory import DynamicScaler, LiveBytes, activation_bytes, checkpointed_backward, deep_forward, mlp_grads_rounded, round_to, saved_by, segment_bounds, tracking
from backprop.gpt import (attention_backward, attention_forward, block_backward, block_forward, block_shapes,
                          crossentropy_backward, encoder_backward, encoder_forward, gelu_backward, gelu_forward,
                          layernorm_backward, layernorm_forward, linear_backward, linear_forward)
from backprop.gpt_model import (adam_step, autograd_train_step, evaluate, get_batch, gpt_backward, gpt_forward,
                                init_gpt, names_stream, sample_names, train_step)
from backprop.steps import StepModel, backward_by_steps, forward_values, grade_blocks, grade_step, grade_steps, your_blocks

# backprop.parallel's calls that need two workers that disagree are in tests/test_parallel.py, and what a learner's
# function does wrong is graded in tests/test_exercises.py; backprop.guards is reached through the rest.
MODULES = ["backprop.data", "backprop.matmul", "backprop.forward", "backprop.grads", "backprop.check", "backprop.layers",
           "backprop.train", "backprop.losses", "backprop.autograd", "backprop.fast", "backprop.parallel", "backprop.exercises",
           "backprop.charmlp", "backprop.gpt", "backprop.gpt_model", "backprop.forward_mode", "backprop.memory", "backprop.steps",
           "backprop.cli"]
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


def dl2(dout, w2): return dout @ w2.T                   # a right step of appendix 99's "mlp"
def dl1_too_soon(dl2, dw1): return dl2                   # dw1 comes after dl1
dl1_too_soon.__name__ = "dl1"


def entered(context):
    "Enter and leave a context manager (its checks run on entering)."
    with context: pass


def layernorm_backward_x(dout, x, w, mean, rstd): return dout, w, w      # chapter 15's parameters, one renamed


def mlp_values():
    "Every value of appendix 99's 'mlp' forward on a small batch (float64)."
    g = torch.Generator().manual_seed(0)
    inputs = {n: torch.randn(*s, generator=g, dtype=torch.float64)
              for n, s in dict(inp=(4, 3), w1=(3, 2), b1=(2,), w2=(2, 1), b2=(1,), targ=(4,)).items()}
    return forward_values("mlp", inputs)


def mlp_steps(**changed):
    "Right steps of 'mlp' (chapter 3's lines), some replaced."
    steps = dict(dout=lambda out, targ: 2. * (out.squeeze(-1) - targ).unsqueeze(-1) / len(out), dl2=dl2,
                 dw2=lambda dout, l2: l2.T @ dout, db2=lambda dout: dout.sum(0), dl1=lambda dl2, l1: (l1 > 0).double() * dl2,
                 dinp=lambda dl1, w1: dl1 @ w1.T, dw1=lambda dl1, inp: inp.T @ dl1, db1=lambda dl1: dl1.sum(0))
    return {**steps, **changed}


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
def P(*shape): return T(*shape).requires_grad_()           # a torch parameter


def changed_in_place(through):
    "backward() after the data that w * w saved was changed in place, through the wrapped torch tensor or .data."
    d = T(2, 3)
    w = Tensor(d, requires_grad=True)
    loss = (w * w).sum()
    (d if through == "torch" else w.data).mul_(2.)
    return loss.backward()


def backward_twice():
    "backward() called a second time on a graph that the first call freed."
    loss = (param(2, 3) * 2.).sum()
    loss.backward()
    return loss.backward()


def CP(d=2, H=4, block_size=3, dtype=torch.float32):
    "Chapter 14's 7 parameters by name (d=2, H=4, contexts of 3 tokens)."
    return init_charmlp(d=d, H=H, block_size=block_size, generator=torch.Generator().manual_seed(0), dtype=dtype)


def XB(N=5, block_size=3): return torch.randint(0, 27, (N, block_size), generator=torch.Generator().manual_seed(1))
def YB(N=5): return torch.randint(0, 27, (N,), generator=torch.Generator().manual_seed(2))
def CACHE(N=5): return charmlp_forward(XB(N), YB(N), **CP())


def block_args(block, N=5, **change):
    "The named arguments of a backward block, from a forward's cache and the gradients of the blocks before it."
    import inspect
    cache = CACHE(N)
    values = cache | charmlp_backward(cache)
    return {p: values[p] for p in inspect.signature(block).parameters} | change


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


def IDS(*shape, high=27): return torch.randint(0, high, shape, generator=torch.Generator().manual_seed(0))
def gpt1(**kw): return init_gpt(n_layer=1, generator=torch.Generator().manual_seed(0), **kw)
def block8(**changes): return {name: T(*shape) for name, shape in block_shapes(8).items()} | changes


def saved_of(targets=True, C=8, T_=3):
    "What block_forward saves for a (2, T_, C) input."
    return block_forward(T(2, T_, C), {name: T(*shape) for name, shape in block_shapes(C).items()}, 2)[1]


def gpt_saved(params, targets=True):
    "What gpt_forward saves for a batch of 2 sequences of 3 tokens, with or without targets."
    return gpt_forward(IDS(2, 3), IDS(2, 3) if targets else None, params, 4)[1]


def backward_twice_gpt():
    "gpt_backward called a second time on a saved that the first call freed."
    params = gpt1()
    saved = gpt_saved(params)
    gpt_backward(saved, params, 4)
    return gpt_backward(saved, params, 4)


def grad_params(params): return {k: v.requires_grad_() for k, v in params.items()}


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
    "backprop.data.build_dataset": [
        bad("value", lambda: build_dataset(["emma", "zoë"]), ValueError, r"names\[1\] = 'zoë' holds 'ë'; a name is lowercase letters a-z only"),
        bad("value", lambda: build_dataset(["Emma"]), ValueError, r"names\[0\] = 'Emma' holds 'E'"),
        bad("value", lambda: build_dataset(["em.ma"]), ValueError, r"holds '\.'; a name is lowercase letters a-z only \('\.' marks its start and end"),
        bad("dtype", lambda: build_dataset("emma"), TypeError, "names must be a non-empty list of strings, got 'emma'"),
        bad("value", lambda: build_dataset([]), TypeError, "names must be a non-empty list of strings"),
        bad("dtype", lambda: build_dataset(["emma", 3]), TypeError, r"names\[1\] is 3; every name must be a non-empty string"),
        bad("value", lambda: build_dataset(["emma"], block_size=0), ValueError, "block_size must be a positive int, got 0"),
        bad("order", lambda: build_dataset(3, ["emma"]), TypeError, "names must be a non-empty list of strings, got 3"),
    ],
    "backprop.data.split_names": [
        bad("value", lambda: split_names(["ab", "cd"], valid_frac=1.5), ValueError, "valid_frac must be a fraction between 0 and 1, got 1.5"),
        bad("value", lambda: split_names(["ab", "cd", "ef"], valid_frac=0.01), ValueError, r"leaves 0 for validation; each side needs at least one name"),
        bad("dtype", lambda: split_names(["ab", "cd"], valid_frac=0.5, seed=1.5), TypeError, "seed must be an int, got 1.5"),
        bad("value", lambda: split_names(["ab", "c d"]), ValueError, r"names\[1\] = 'c d' holds ' '"),
        bad("order", lambda: split_names(0.1, ["ab", "cd"]), TypeError, "names must be a non-empty list of strings, got 0.1"),
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
    "backprop.grads.autograd_grads": [
        bad("order", lambda: autograd_grads(F64(3), lambda x: x.sum()), TypeError, "f must be a function of the inputs, got Tensor"),
        bad("value", lambda: autograd_grads(lambda x: x.sum()), ValueError, "no input given"),
        bad("dtype", lambda: autograd_grads(lambda x: x.sum(), I(3)), TypeError, r"inps\[0\] has dtype torch.int64"),
        bad("dtype", lambda: autograd_grads(lambda x: x * 2, F64(3), upstream=I(3)), TypeError, "upstream has dtype torch.int64"),
    ],
    "backprop.grads.assert_same_grads": [
        bad("value", lambda: assert_same_grads([], [], [], torch.float32), ValueError, "a comparison of nothing must not pass"),
        bad("shape", lambda: assert_same_grads([F64(3)], [F64(3), F64(3)], ["a", "b"], torch.float64), ValueError,
            "got 1 gradients, 2 expected and 2 names"),
        bad("order", lambda: assert_same_grads(F64(3), F64(3), ["a"], torch.float64), TypeError, "must be lists or tuples"),
        bad("dtype", lambda: assert_same_grads([F64(3)], [F64(3)], ["a"], torch.float16), ValueError, "no tolerance for dtype torch.float16"),
        bad("value", lambda: assert_same_grads([None], [F64(3)], ["w"], torch.float64), AssertionError, r"w.g is None"),
    ],
    "backprop.check.numerical_grad": [
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
    "backprop.check.GradTable": [
        bad("order", lambda: GradTable([], [GradRow("dx", "(2,)", "exact", 0.)]), TypeError, "rows must be a non-empty list of GradRow, got list"),
        bad("dtype", lambda: GradTable([GradRow("dx", "(2,)", "exact", 0.)], extra="dy"), TypeError, "extra must be a list of names, got 'dy'"),
    ],
    "backprop.check.compare_grads": [
        bad("dtype", lambda: compare_grads([T(2)], {"dx": T(2)}), TypeError, "compare_grads: mine must be a dict of name -> tensor, got list"),
        bad("value", lambda: compare_grads({"dx": T(2)}, {}), ValueError, "ref is empty; there is nothing to compare with"),
        bad("dtype", lambda: compare_grads({"dx": T(2)}, {"dx": I(2)}), TypeError, r"ref\['dx'\] must be a floating-point tensor \(the reference\), got torch.int64"),
        bad("order", lambda: compare_grads({"dx": T(2)}, T(2)), TypeError, "compare_grads: ref must be a dict of name -> tensor, got Tensor"),
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
    "backprop.cli.main": [
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
        # issue 26: in-place changes, meta tensors, torch @ Tensor; chapter 17's ops
        bad("order", lambda: changed_in_place("torch"), RuntimeError, r"backward of '\*': its input 0, of shape \(2, 3\), was modified by an inplace operation"),
        bad("order", lambda: changed_in_place("data"), RuntimeError, r"modified by an inplace operation after the forward pass \(version 0, now 1\)"),
        bad("value", lambda: Tensor(torch.ones(2, 3, device="meta")), ValueError, r"Tensor: data is a meta tensor of shape \(2, 3\)"),
        bad("dtype", lambda: T(2, 3) @ param(3, 2), TypeError, r"matmul: got a torch.Tensor; wrap it as Tensor\(t\)"),
        bad("dtype", lambda: (param(2, 3) * 2.).backward(gradient=Tensor(F64(2, 3))), TypeError, "backward: all tensors must have the same dtype"),
        bad("shape", lambda: (param(2, 3) * 2.).backward(gradient=Tensor(T(3, 2))), ValueError, r"gradient has shape \(3, 2\); it must have the output's shape \(2, 3\)"),
        bad("shape", lambda: param(2, 3, 4).t(), ValueError, r"t: expected a 2-D Tensor, got shape \(2, 3, 4\)"),
        bad("shape", lambda: param(2, 3).reshape(4, 2), ValueError, r"reshape: shape \(4, 2\) has 8 entries; x \(2, 3\) has 6"),
        bad("shape", lambda: param(2, 3).expand(2, 4), ValueError, r"expand: x \(2, 3\) cannot be expanded to \(2, 4\)"),
        bad("dtype", lambda: param(2, 3).reshape(2., 3), TypeError, "reshape: the shape must be ints >= 0"),
        bad("dtype", lambda: param(2, 3).to(torch.int64), TypeError, "to: dtype must be a floating-point torch.dtype"),
        bad("order", lambda: _result(T(2), (param(2),), "torch_only", lambda g: (g.data,)).sum().backward(create_graph=True), RuntimeError,
            r"closure of 'torch_only' returned a torch.Tensor, not a backprop.autograd.Tensor: .* no second derivative"),
    ],
    "backprop.autograd.hvp": [
        bad("shape", lambda: hvp(lambda w: (w * w).sum(), [T(3)], [T(2)]), ValueError, r"hvp: params\[0\]_t has shape \(2,\); a tangent must have the shape of params\[0\], \(3,\)"),
        bad("dtype", lambda: hvp(lambda w: (w * w).sum(), [T(3)], [F64(3)]), TypeError, r"params\[0\]_t has dtype torch.float64"),
        bad("value", lambda: hvp(lambda w: (w * w).sum(), [T(3)], []), ValueError, "one vector per parameter: 1 params, 0 vs"),
        bad("value", lambda: hvp(lambda: Tensor(1.), [], []), ValueError, "params is empty"),
        bad("order", lambda: hvp([T(3)], lambda w: (w * w).sum(), [T(3)]), TypeError, "hvp: f must be a function"),
        bad("shape", lambda: hvp(lambda w: w * w, [T(3)], [T(3)]), RuntimeError, "only for scalar outputs"),
        bad("dtype", lambda: hvp(lambda w: (w * w).sum(), [I(3)], [I(3)]), TypeError, FLOAT),
    ],
    # backprop.memory (chapter 18)
    "backprop.memory.saved_by": [
        bad("order", lambda: saved_by(T(3), lambda x: x * 2), TypeError, "saved_by: fn must be a function of args, got Tensor"),
    ],
    "backprop.memory.checkpointed_backward": [
        bad("value", lambda: checkpointed_backward(T(4, 3), T(4), [P(3, 1), P(1)], 2), ValueError, "k = 2 segments for 1 layers; at most one segment per layer"),
        bad("value", lambda: checkpointed_backward(T(4, 3), T(4), [P(3, 1), P(1)], 0), ValueError, "k, the number of segments, must be a positive int, got 0"),
        bad("shape", lambda: checkpointed_backward(T(4, 3), T(4), [P(3, 2), P(2)], 1), ValueError, "the last layer must have 1 output for the MSE, got 2"),
        bad("shape", lambda: checkpointed_backward(T(4, 3), T(4), [P(2, 1), P(1)], 1), ValueError, r"layer 1: inp has shape \(4, 3\) and w has shape \(2, 1\)"),
        bad("shape", lambda: checkpointed_backward(T(4, 3), T(4, 1), [P(3, 1), P(1)], 1), ValueError, r"targ must have 1 dimension"),
        bad("value", lambda: checkpointed_backward(T(4, 3), T(4), [P(3, 1)], 1), ValueError, "params must be a list .* of an even number of tensors, got 1"),
        bad("order", lambda: checkpointed_backward(T(4, 3), T(4), [T(3, 1), T(1)], 1), ValueError, "every parameter must require grad"),
    ],
    "backprop.memory.round_to": [
        bad("dtype", lambda: round_to(F64(3), torch.float16), TypeError, "round_to: t must be float32"),
        bad("dtype", lambda: round_to(T(3), torch.int8), TypeError, "dtype must be torch.float16, torch.bfloat16 or None"),
        bad("order", lambda: round_to(torch.float16, T(3)), TypeError, "round_to: t must be a torch.Tensor"),
    ],
    "backprop.memory.mlp_grads_rounded": [
        bad("value", lambda: mlp_grads_rounded(T(4, 3), T(4), list(init_params(3, 2)), torch.float16, scale=0.), ValueError, "the loss scale must be a finite number > 0, got 0.0"),
        bad("value", lambda: mlp_grads_rounded(T(4, 3), T(4), list(init_params(3, 2)), torch.float16, scale=float("inf")), ValueError, "loss scale must be a finite number > 0, got inf"),
        bad("value", lambda: mlp_grads_rounded(T(4, 3), T(4), list(init_params(3, 2)), None, scale=-2.), ValueError, "a negative one reverses the step"),
        bad("shape", lambda: mlp_grads_rounded(T(4, 5), T(4), list(init_params(3, 2)), None), ValueError, r"inp has shape \(4, 5\) and w has shape \(3, 2\)"),
        bad("shape", lambda: mlp_grads_rounded(T(4, 3), T(5), list(init_params(3, 2)), None), ValueError, r"targ must have shape \(4,\)"),
        bad("value", lambda: mlp_grads_rounded(T(4, 3), T(4), list(init_params(3, 2))[:3], None), ValueError, r"params must be \[w1, b1, w2, b2\]"),
    ],
    "backprop.memory.DynamicScaler": [
        bad("value", lambda: DynamicScaler(0.), ValueError, "DynamicScaler: the loss scale must be a finite number > 0, got 0.0"),
        bad("value", lambda: DynamicScaler(float("nan")), ValueError, "finite number > 0, got nan"),
        bad("value", lambda: DynamicScaler(2.**16, 0), ValueError, "growth_interval must be a positive int, got 0"),
        bad("dtype", lambda: DynamicScaler("65536"), ValueError, "got '65536'"),
    ],

    "backprop.forward_mode.lin_jvp": [
        bad("shape", lambda: lin_jvp(T(4, 3), T(3, 2), T(2), T(4, 3), T(2, 3), T(2)), ValueError, r"lin_jvp: w_t has shape \(2, 3\); a tangent must have the shape of w, \(3, 2\)"),
        bad("shape", lambda: lin_jvp(T(4, 3), T(3, 2), T(2), T(3), T(3, 2), T(2)), ValueError, r"inp_t has shape \(3,\)"),
        bad("dtype", lambda: lin_jvp(T(4, 3), T(3, 2), T(2), F64(4, 3), T(3, 2), T(2)), TypeError, "inp_t has dtype torch.float64; a tangent must have the dtype of inp"),
        bad("order", lambda: lin_jvp(T(4, 3), T(3, 2), T(2), T(3, 2), T(4, 3), T(2)), ValueError, r"inp_t has shape \(3, 2\)"),
        bad("value", lambda: lin_jvp(T(4, 3), T(3, 2), T(2), T(4, 3), T(3, 2), None), TypeError, "b_t must be a torch.Tensor, got NoneType"),
    ],
    "backprop.forward_mode.relu_jvp": [
        bad("shape", lambda: relu_jvp(T(4, 3), T(3, 4)), ValueError, r"relu_jvp: inp_t has shape \(3, 4\)"),
        bad("dtype", lambda: relu_jvp(T(4, 3), I(4, 3)), TypeError, FLOAT),
    ],
    "backprop.forward_mode.mse_jvp": [
        bad("shape", lambda: mse_jvp(T(4, 1), T(4), T(4)), ValueError, r"mse_jvp: out_t has shape \(4,\); a tangent must have the shape of out, \(4, 1\)"),
        bad("order", lambda: mse_jvp(T(4, 1), T(4, 1), T(4)), ValueError, r"targ must have shape \(4,\)"),
    ],
    "backprop.forward_mode.mlp_jvp": [
        bad("value", lambda: mlp_jvp(T(4, 3), init_params(3, 2), list(init_params(3, 2))), ValueError, "tangents must be a list of 5 tensors .* got 4 of them"),
        bad("order", lambda: mlp_jvp(T(4, 3), [T(4, 3), *init_params(3, 2)], [T(4, 3), *init_params(3, 2)]), ValueError, "params must be a list of 4 tensors"),
        bad("shape", lambda: mlp_jvp(T(4, 3), init_params(3, 2), [T(4, 2), *init_params(3, 2)]), ValueError, r"lin_jvp: inp_t has shape \(4, 2\)"),
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

        bad("dtype", lambda: time_interleaved({"a": lambda: None}, 2, seed=1.5), TypeError, r"time_interleaved: seed must be an int, got 1.5"),
        bad("dtype", lambda: time_interleaved({"a": lambda: None}, 2, seed=True), TypeError, r"time_interleaved: seed must be an int, got True"),
    ],
    "backprop.fast.balanced_orders": [
        bad("value", lambda: balanced_orders(0), ValueError, r"balanced_orders: n must be a positive int, got 0"),
        bad("dtype", lambda: balanced_orders(2.0), ValueError, r"balanced_orders: n must be a positive int, got 2.0"),
        bad("dtype", lambda: balanced_orders("3"), ValueError, r"balanced_orders: n must be a positive int, got '3'"),
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
    # backprop.charmlp (chapter 14)
    "backprop.charmlp.charmlp_forward": [
        bad("shape", lambda: charmlp_forward(XB(5, 4), YB(), **CP()), ValueError, r"the block size does not match w1: 4 tokens of width 2 make 8 numbers per row, but w1 has 6 rows \(made for block_size 3\)"),
        bad("value", lambda: charmlp_forward(XB().index_fill(0, torch.tensor([1]), 27), YB(), **CP()), ValueError, r"xb holds token ids from \d+ to 27; expected ids in \[0, 27\)"),
        bad("value", lambda: charmlp_forward(XB(), YB().index_fill(0, torch.tensor([0]), -1), **CP()), ValueError, r"yb holds token ids from -1 to \d+; expected ids in \[0, 27\)"),
        bad("shape", lambda: charmlp_forward(XB(1), YB(1), **CP()), ValueError, "batch norm in training mode needs a batch of at least 2 rows: the variance of one row is 0"),
        bad("dtype", lambda: charmlp_forward(XB(), YB().float(), **CP()), TypeError, "yb must hold token ids as int64, got torch.float32"),
        bad("dtype", lambda: charmlp_forward(XB(), YB(), **CP() | {"w2": CP()["w2"].double()}), TypeError, "w2 is torch.float64 but .* is torch.float32; use one dtype"),
        bad("shape", lambda: charmlp_forward(XB(), YB(4), **CP()), ValueError, r"yb has shape \(4,\), expected \(N\) with N = 5 \(the batch size, as in xb\)"),
        bad("order", lambda: charmlp_forward(YB(), XB(), **CP()), ValueError, r"xb must have shape \(N, B\), 2 dimension\(s\), got \(5,\)"),
        bad("value", lambda: charmlp_forward(XB(), YB(), **CP(), eps=0), ValueError, "eps must be a small positive number"),
    ],
    "backprop.charmlp.init_charmlp": [
        bad("value", lambda: init_charmlp(d=0), ValueError, "init_charmlp: d must be a positive int, got 0"),
        bad("dtype", lambda: init_charmlp(H=4.5), ValueError, "init_charmlp: H must be a positive int, got 4.5"),
        bad("dtype", lambda: init_charmlp(dtype=torch.int64), TypeError, "dtype must be a floating-point torch dtype"),
        bad("order", lambda: init_charmlp(10, 64, 3, torch.float32), TypeError, "generator must be a torch.Generator or None, got dtype"),
    ],
    "backprop.charmlp.cross_entropy_backward": [
        bad("shape", lambda: cross_entropy_backward(**block_args(cross_entropy_backward, maxes=T(5))), ValueError, r"maxes must have shape \(N, 1\), 2 dimension\(s\), got \(5,\)"),
        bad("value", lambda: cross_entropy_backward(**block_args(cross_entropy_backward, yb=L(0, 1, 2, 3, 27))), ValueError, r"yb holds token ids from 0 to 27"),
        bad("order", lambda: cross_entropy_backward(**block_args(cross_entropy_backward, probs=CACHE()["logp"].t())), ValueError, r"probs has shape \(27, 5\), expected \(N, V\) with N = 5"),
    ],
    "backprop.charmlp.tanh_linear_backward": [
        bad("shape", lambda: tanh_linear_backward(T(5, 27), T(5, 3), CP()["w2"]), ValueError, r"h has shape \(5, 3\), expected \(N, H\) with H = 4 \(the hidden width, as in w2\)"),
        bad("dtype", lambda: tanh_linear_backward(T(5, 27).double(), T(5, 4), CP()["w2"]), TypeError, "dlogits is torch.float64 but w2 is torch.float32; use one dtype"),
        bad("order", lambda: tanh_linear_backward(T(5, 4), T(5, 27), CP()["w2"]), ValueError, r"dlogits has shape \(5, 4\), expected \(N, V\) with V = 27 \(the vocabulary size, as in w2\)"),
    ],
    "backprop.charmlp.batchnorm_backward": [
        bad("shape", lambda: batchnorm_backward(**block_args(batchnorm_backward, var=T(4))), ValueError, r"var must have shape \(1, H\), 2 dimension\(s\), got \(4,\)"),
        bad("shape", lambda: batchnorm_backward(**block_args(batchnorm_backward, rstd=T(2, 4))), ValueError, r"rstd has shape \(2, 4\), expected \(1, H\): a statistic of the batch, kept with keepdim=True, so dimension 0 is 1"),
        bad("value", lambda: batchnorm_backward(**block_args(batchnorm_backward, eps=-1e-5)), ValueError, "eps must be a small positive number"),
    ],
    "backprop.charmlp.embedding_linear_backward": [
        bad("value", lambda: embedding_linear_backward(**block_args(embedding_linear_backward, xb=XB().index_fill(0, torch.tensor([0]), 30))), ValueError, r"xb holds token ids from \d+ to 30"),
        bad("dtype", lambda: embedding_linear_backward(**block_args(embedding_linear_backward, xb=XB().int())), TypeError, "xb must hold token ids as int64, got torch.int32"),
        bad("shape", lambda: embedding_linear_backward(**block_args(embedding_linear_backward, emb=T(5, 2, 3))), ValueError, r"emb has shape \(5, 2, 3\), expected \(N, B, D\) with D = 2 \(the embedding width d, as in emb_w\)"),
    ],
    "backprop.charmlp.charmlp_backward": [
        bad("value", lambda: charmlp_backward({k: v for k, v in CACHE().items() if k != "diff2"}), ValueError, r"cache lacks \['diff2'\]; pass the dict that charmlp_forward returns"),
        bad("dtype", lambda: charmlp_backward(CP()), ValueError, r"cache lacks \["),
        bad("order", lambda: charmlp_backward(BACKWARD, CACHE()), TypeError, "cache must be a dict of name -> tensor, got list"),
        bad("value", lambda: charmlp_backward(CACHE(), [lambda dfoo: {}, *BACKWARD]), ValueError, r"<lambda> needs \['dfoo'\], which is neither a value of the forward nor a gradient of an earlier block"),
        bad("value", lambda: charmlp_backward(CACHE(), [BACKWARD[1]]), ValueError, r"tanh_linear_backward needs \['dlogits'\]"),
    ],
    "backprop.charmlp.charmlp_autograd": [
        bad("value", lambda: charmlp_autograd({k: v for k, v in CP().items() if k != "b1"}, XB(), YB()), ValueError, r"params must have the keys .*; missing \['b1'\], unexpected \[\]"),
        bad("order", lambda: charmlp_autograd(XB(), YB(), CP()), TypeError, "params must be a dict of name -> tensor, got Tensor"),
        bad("shape", lambda: charmlp_autograd(CP(), XB(1), YB(1)), ValueError, "needs a batch of at least 2 rows"),
    ],
    "backprop.charmlp.batchnorm_backward_fused": [
        bad("shape", lambda: batchnorm_backward_fused(T(5, 4), T(5, 4), T(4), T(4)), ValueError, r"rstd must have shape \(1, H\), 2 dimension\(s\), got \(4,\)"),
        bad("order", lambda: batchnorm_backward_fused(T(5, 4), T(1, 4), T(5, 4), T(4)), ValueError, r"xhat has shape \(1, 4\), expected \(N, H\) with N = 5|rstd has shape \(5, 4\)"),
        bad("dtype", lambda: batchnorm_backward_fused(I(5, 4), T(5, 4), T(1, 4), T(4)), TypeError, "dbn has dtype torch.int64; expected a floating-point tensor"),
    ],
    "backprop.charmlp.train_charmlp": [
        bad("value", lambda: train_charmlp(CP(), XB(), YB(), bs=1), ValueError, "bs must be an int >= 2, got 1"),
        bad("value", lambda: train_charmlp(CP(), XB(), YB(), lr=-0.1), ValueError, "lr must be a positive finite number, got -0.1"),
        bad("dtype", lambda: train_charmlp(CP(), XB(), YB(), by_hand="yes"), TypeError, "by_hand must be True .* or False"),
        bad("shape", lambda: train_charmlp(CP(), XB(), YB(4)), ValueError, r"yb has shape \(4,\), expected \(N\) with N = 5"),
        bad("order", lambda: train_charmlp(XB(), YB(), CP()), TypeError, "params must be a dict of name -> tensor, got Tensor"),
        bad("value", lambda: train_charmlp(CP(), XB(), YB(), steps=0), ValueError, "steps must be a positive int, got 0"),
    ],
    "backprop.charmlp.charmlp_logits": [
        bad("shape", lambda: charmlp_logits(XB(1), mu=T(4), var=T(1, 4), **CP()), ValueError, r"mu must have shape \(1, H\), 2 dimension\(s\), got \(4,\)"),
        bad("value", lambda: charmlp_logits(XB(1).index_fill(1, torch.tensor([0]), 27), mu=T(1, 4), var=T(1, 4), **CP()), ValueError, r"xb holds token ids from \d+ to 27"),
        bad("shape", lambda: charmlp_logits(XB(2, 2), mu=T(1, 4), var=T(1, 4), **CP()), ValueError, "the block size does not match w1"),
    ],
    "backprop.exercises.hint": [
        bad("value", lambda: hint("layer_norm"), ValueError, r"hint: there is no exercise 'layer_norm'; did you mean 'layernorm'"),
        bad("dtype", lambda: hint(3), TypeError, r"hint: the first argument is the exercise's name, a string"),
        bad("dtype", lambda: hint("cumsum", "2"), TypeError, r"hint: n is the number of a hint, an int from 1 to 3"),
        bad("dtype", lambda: hint("cumsum", True), TypeError, r"got True"),
        bad("value", lambda: hint("layernorm", 4), ValueError, r"hint: n is the number of a hint, from 1 to 3 \(or None: the next one\); got 4"),
    ],
    # backprop.gpt (chapter 15)
    "backprop.gpt.encoder_forward": [
        bad("value", lambda: encoder_forward(L(1, 27).view(1, 2), T(27, 8), T(16, 8)), ValueError, r"idx holds ids from 1 to 27; the vocabulary has 27 tokens"),
        bad("shape", lambda: encoder_forward(IDS(1, 17), T(27, 8), T(16, 8)), ValueError, r"T = 17 positions, more than block_size = 16"),
        bad("dtype", lambda: encoder_forward(T(2, 3), T(27, 8), T(16, 8)), TypeError, r"idx must be an int64 tensor of token ids"),
        bad("shape", lambda: encoder_forward(IDS(2, 3), T(27, 8), T(16, 4)), ValueError, r"wpe must have shape \(16, 8\), got \(16, 4\)"),
        bad("order", lambda: encoder_forward(T(27, 8), IDS(2, 3), T(16, 8)), TypeError, r"encoder_forward: wte has dtype torch\.int64"),
    ],
    "backprop.gpt.encoder_backward": [
        bad("shape", lambda: encoder_backward(T(6, 8), IDS(2, 3), 27, 16), ValueError, r"dout must have 3 dimension"),
        bad("shape", lambda: encoder_backward(T(2, 3, 8), IDS(2, 4), 27, 16), ValueError, r"idx must have shape \(2, 3\), got \(2, 4\)"),
        bad("value", lambda: encoder_backward(T(2, 3, 8), IDS(2, 3), 0, 16), ValueError, r"vocab_size must be a positive int, got 0"),
        bad("order", lambda: encoder_backward(IDS(2, 3), T(2, 3, 8), 27, 16), TypeError, r"dout has dtype torch\.int64"),
    ],
    "backprop.gpt.layernorm_forward": [
        bad("shape", lambda: layernorm_forward(T(2, 3, 8), T(4), T(8)), ValueError, r"w must have shape \(8,\), got \(4,\)"),
        bad("dtype", lambda: layernorm_forward(T(2, 3, 8), F64(8), T(8)), TypeError, r"w has dtype torch\.float64 but the other tensors have torch\.float32"),
        bad("shape", lambda: layernorm_forward(T(6, 8), T(8), T(8)), ValueError, r"inp must have 3 dimension"),
    ],
    "backprop.gpt.layernorm_backward": [
        bad("shape", lambda: layernorm_backward(T(2, 3, 8), T(2, 3, 8), T(8), T(2, 3), T(2, 3, 1)), ValueError, r"mean must have shape \(2, 3, 1\), got \(2, 3\)"),
        bad("shape", lambda: layernorm_backward(T(2, 3, 4), T(2, 3, 8), T(8), T(2, 3, 1), T(2, 3, 1)), ValueError, r"dout must have shape \(2, 3, 8\)"),
        bad("order", lambda: layernorm_backward(T(2, 3, 8), T(2, 3, 8), T(2, 3, 1), T(8), T(2, 3, 1)), ValueError, r"w must have shape \(8,\), got \(2, 3, 1\)"),
    ],
    "backprop.gpt.linear_forward": [
        bad("shape", lambda: linear_forward(T(2, 3, 4), T(6, 4), T(6)), ValueError, r"w must be \(C_in, C_out\) with C_in = 4.*got shape \(6, 4\)"),
        bad("shape", lambda: linear_forward(T(2, 3, 4), T(4, 6), T(4)), ValueError, r"b must have shape \(6,\), got \(4,\)"),
        bad("dtype", lambda: linear_forward(T(2, 3, 4), F64(4, 6), T(6)), TypeError, r"w has dtype torch\.float64"),
    ],
    "backprop.gpt.linear_backward": [
        bad("shape", lambda: linear_backward(T(2, 3, 4), T(2, 3, 4), T(4, 6)), ValueError, r"dout must have shape \(2, 3, 6\), got \(2, 3, 4\)"),
        bad("order", lambda: linear_backward(T(2, 3, 6), T(4, 6), T(2, 3, 4)), ValueError, r"inp must have 3 dimension"),
    ],
    "backprop.gpt.attention_forward": [
        bad("value", lambda: attention_forward(T(2, 3, 24), 3), ValueError, r"n_embd C = 8 is not divisible by n_head = 3"),
        bad("shape", lambda: attention_forward(T(2, 3, 10), 1), ValueError, r"its last dimension must be 3C, got shape \(2, 3, 10\)"),
        bad("value", lambda: attention_forward(T(2, 3, 24), 0), ValueError, r"n_head must be a positive int, got 0"),
        bad("order", lambda: attention_forward(2, T(2, 3, 24)), TypeError, r"qkv must be a torch\.Tensor, got int"),
    ],
    "backprop.gpt.attention_backward": [
        bad("shape", lambda: attention_backward(T(2, 3, 24), T(2, 3, 24), 2), ValueError, r"dout must have shape \(2, 3, 8\), got \(2, 3, 24\)"),
        bad("dtype", lambda: attention_backward(F64(2, 3, 8), T(2, 3, 24), 2), TypeError, r"dout has dtype torch\.float64"),
    ],
    "backprop.gpt.gelu_forward": [
        bad("dtype", lambda: gelu_forward(I(2, 3)), TypeError, FLOAT),
        bad("value", lambda: gelu_forward([1.0, 2.0]), TypeError, r"inp must be a torch\.Tensor, got list"),
    ],
    "backprop.gpt.gelu_backward": [
        bad("shape", lambda: gelu_backward(T(2, 3), T(2, 4)), ValueError, r"dout must have shape \(2, 4\), got \(2, 3\)"),
        bad("dtype", lambda: gelu_backward(I(2, 4), T(2, 4)), TypeError, r"must be a torch\.Tensor of shape|dout has dtype torch\.int64"),
    ],
    "backprop.gpt.crossentropy_backward": [
        bad("value", lambda: crossentropy_backward(T(2, 3, 27), IDS(2, 3, high=28).fill_(27)), ValueError, r"targets holds ids from 27 to 27; the vocabulary has 27"),
        bad("shape", lambda: crossentropy_backward(T(2, 3, 27), IDS(2, 4)), ValueError, r"targets must have shape \(2, 3\), got \(2, 4\)"),
        bad("shape", lambda: crossentropy_backward(T(6, 27), IDS(2, 3)), ValueError, r"logits must have 3 dimension"),
        bad("order", lambda: crossentropy_backward(IDS(2, 3), T(2, 3, 27)), TypeError, r"logits has dtype torch\.int64"),
    ],
    "backprop.gpt.block_shapes": [
        bad("value", lambda: block_shapes(0), ValueError, r"block_shapes: C must be a positive int, got 0"),
        bad("dtype", lambda: block_shapes(2.5), ValueError, r"block_shapes: C must be a positive int, got 2\.5"),
    ],
    "backprop.gpt.block_forward": [
        bad("value", lambda: block_forward(T(2, 3, 8), {k: v for k, v in block8().items() if k != "fc_b"}, 2), ValueError, r"p has the wrong keys: missing 'fc_b'"),
        bad("shape", lambda: block_forward(T(2, 3, 8), block8(attn_w=T(8, 8)), 2), ValueError, r"p\['attn_w'\] must have shape \(8, 24\), got \(8, 8\)"),
        bad("value", lambda: block_forward(T(2, 3, 8), block8(), 3), ValueError, r"n_embd C = 8 is not divisible by n_head = 3"),
        bad("dtype", lambda: block_forward(F64(2, 3, 8), block8(), 2), TypeError, r"p\['ln1_w'\] has dtype torch\.float32 but the other tensors have torch\.float64"),
    ],
    "backprop.gpt.block_backward": [
        bad("shape", lambda: block_backward(T(2, 3, 8), saved_of(C=8, T_=4), block8(), 2), ValueError, r"saved\['x'\] must have shape \(2, 3, 8\), got \(2, 4, 8\)"),
        bad("value", lambda: block_backward(T(2, 3, 8), {"x": T(2, 3, 8)}, block8(), 2), ValueError, r"saved has the wrong keys: missing 'ln1_mean', 'ln1_rstd', 'ln1' and 7 more"),
        bad("order", lambda: block_backward(saved_of(), T(2, 3, 8), block8(), 2), TypeError, r"dout must be a torch\.Tensor, got dict"),
    ],
    # backprop.gpt_model (chapter 16)
    "backprop.gpt_model.names_stream": [
        bad("value", lambda: names_stream(["emma", "Ava"]), ValueError, r"names_stream: names\[1\] = 'Ava' holds 'A'; a name is lowercase letters a-z only"),
        bad("dtype", lambda: names_stream(IDS(5)), TypeError, r"names_stream: names must be a non-empty list of strings, got tensor"),
        bad("value", lambda: names_stream([]), TypeError, r"names_stream: names must be a non-empty list of strings"),
        bad("order", lambda: names_stream(".emma.ava."), TypeError, r"names_stream: names must be a non-empty list of strings, got '\.emma\.ava\.'"),
    ],
    "backprop.gpt_model.get_batch": [
        bad("shape", lambda: get_batch(IDS(1, 10).view(-1), 4, 16), ValueError, r"the stream has 10 tokens; a window of block_size = 16"),
        bad("dtype", lambda: get_batch(T(100), 4, 16), TypeError, r"stream must be a 1-D int64 tensor of token ids"),
        bad("value", lambda: get_batch(IDS(1, 100).view(-1), 0, 16), ValueError, r"batch_size must be a positive int, got 0"),
        bad("order", lambda: get_batch(4, IDS(1, 100).view(-1), 16), ValueError, r"batch_size must be a positive int, got tensor"),
    ],
    "backprop.gpt_model.init_gpt": [
        bad("value", lambda: init_gpt(n_embd=30, n_head=4), ValueError, r"n_embd C = 30 is not divisible by n_head = 4"),
        bad("dtype", lambda: init_gpt(dtype=torch.int64), TypeError, r"dtype must be a floating-point torch dtype"),
        bad("value", lambda: init_gpt(n_layer=0), ValueError, r"n_layer must be a positive int, got 0"),
    ],
    "backprop.gpt_model.gpt_forward": [
        bad("shape", lambda: gpt_forward(IDS(1, 17), None, gpt1(), 4), ValueError, r"gpt_forward: the sequences have T = 17 positions, more than block_size = 16"),
        bad("shape", lambda: gpt_forward(IDS(2, 3), IDS(2, 4), gpt1(), 4), ValueError, r"targets must have shape \(2, 3\), got \(2, 4\)"),
        bad("value", lambda: gpt_forward(IDS(2, 3), None, {k: v for k, v in gpt1().items() if k != "head_b"}, 4), ValueError, r"params has no 'head_b'"),
        bad("value", lambda: gpt_forward(IDS(2, 3), None, gpt1(), 5), ValueError, r"n_embd C = 32 is not divisible by n_head = 5"),
        bad("order", lambda: gpt_forward(gpt1(), IDS(2, 3), IDS(2, 3), 4), TypeError, r"params must be the dict of tensors that init_gpt returns, got Tensor"),
    ],
    "backprop.gpt_model.gpt_backward": [
        bad("value", lambda: gpt_backward(gpt_saved(gpt1(), targets=False), gpt1(), 4), ValueError, r"saved comes from a forward without targets"),
        bad("value", backward_twice_gpt, ValueError, r"saved holds 0 blocks but params has 1 layers: a saved serves one backward"),
        bad("shape", lambda: gpt_backward(gpt_saved(gpt1()), gpt1(n_embd=16), 4), ValueError, r"saved\['x'\] must have 16 channels in its last dimension"),
    ],
    "backprop.gpt_model.adam_step": [
        bad("shape", lambda: adam_step(gpt1(), gpt1(n_embd=16), {}, 1e-3), ValueError, r"grads\['wte'\] must have shape \(27, 32\), got \(27, 16\)"),
        bad("value", lambda: adam_step(gpt1(), gpt1(), {}, -1e-3), ValueError, r"lr must be a number in \(0\.0, inf\), got -0\.001"),
        bad("value", lambda: adam_step(gpt1(), gpt1(), {}, 1e-3, betas=(0.9,)), ValueError, r"betas must be two numbers"),
        bad("order", lambda: adam_step(gpt1(), gpt1(), 1e-3, {}), TypeError, r"params, grads and state must be dicts"),
    ],
    "backprop.gpt_model.train_step": [
        bad("value", lambda: train_step(grad_params(gpt1()), {}, IDS(2, 3), IDS(2, 3), 4, 1e-3), ValueError, r"the parameters require a gradient: use autograd_train_step"),
        bad("value", lambda: train_step(gpt1(), {}, IDS(2, 3), None, 4, 1e-3), ValueError, r"targets is None; a training step needs the next tokens"),
        bad("value", lambda: train_step(gpt1(), {}, IDS(2, 3), IDS(2, 3), 4, 0), ValueError, r"lr must be a number in \(0\.0, inf\), got 0"),
    ],
    "backprop.gpt_model.autograd_train_step": [
        bad("value", lambda: autograd_train_step(gpt1(), {}, IDS(2, 3), IDS(2, 3), 4, 1e-3), ValueError, r"every parameter must require a gradient"),
        bad("order", lambda: autograd_train_step(grad_params(gpt1()), 1e-3, IDS(2, 3), IDS(2, 3), 4, {}), TypeError, r"state must be a dict"),
    ],
    "backprop.gpt_model.evaluate": [
        bad("shape", lambda: evaluate(gpt1(), IDS(1, 10).view(-1), 4, 16), ValueError, r"the stream has 10 tokens; a window of block_size = 16"),
        bad("value", lambda: evaluate(gpt1(), IDS(1, 100).view(-1), 4, 20), ValueError, r"the sequences have T = 20 positions, more than block_size = 16"),
    ],
    "backprop.gpt_model.sample_names": [
        bad("value", lambda: sample_names(gpt1(), 4, n=0), ValueError, r"n must be a positive int, got 0"),
        bad("dtype", lambda: sample_names(gpt1(), 4, generator=0), TypeError, r"generator must be a torch\.Generator or None, got int"),
        bad("order", lambda: sample_names(4, gpt1()), TypeError, r"params must be the dict of tensors that init_gpt returns, got int"),
    ],
    "backprop.train.plot_watch": [
        bad("order", lambda: plot_watch("a title", {}), ValueError, r"plot_watch: log must be the dict that chapter 8's watch fills"),
        bad("value", lambda: plot_watch({"acts": [], "dead": [[0.]], "update/data": [[0.]]}), ValueError, r"log\['acts'\] must be a non-empty list"),
        bad("value", lambda: plot_watch({"acts": [T(4, 3)], "dead": [[0.]], "update/data": [[0.]]}), ValueError, r"must carry its gradient \.g of shape \(4, 3\)"),
        bad("dtype", lambda: plot_watch({"acts": [I(4, 3)], "dead": [[0.]], "update/data": [[0.]]}), TypeError, FLOAT),
        bad("shape", lambda: plot_watch({"acts": [with_g(T(4, 3), T(4, 3))], "dead": [[0.], [0., 1.]], "update/data": [[0.]]}), ValueError,
            r"log\['dead'\] must hold one row per step, at least one, all of one length"),
    ],
    # backprop.steps (appendix 99): a learner's steps, bound by their parameters' names
    "backprop.steps.grade_step": [
        bad("value", lambda: grade_step("mpl", dl2), ValueError, r"grade_step: there is no model 'mpl'; did you mean 'mlp'\?"),
        bad("order", lambda: grade_step(dl2, "mlp"), TypeError, r"grade_step: the first argument is the model's name, a string such as 'mlp'; got function"),
        bad("dtype", lambda: grade_step("mlp", dl2(T(2, 1), T(3, 1))), TypeError, r"grade_step: a step is a function, .* got Tensor: pass the function itself"),
        bad("value", lambda: grade_step("mlp", dl1_too_soon), ValueError, r"grade_step: dl1\(dl2, dw1\): dw1 is not available yet: step dw1 computes it, after dl1"),
        bad("shape", lambda: grade_step("mlp", lambda dout, w2: dout), ValueError, r"grade_step: <lambda> is not a step of this model"),
        bad("dtype", lambda: grade_step("mlp", dl2, seed="0"), TypeError, r"grade_step: seed must be an int, got '0' \(str\)"),
    ],
    "backprop.steps.grade_blocks": [
        bad("dtype", lambda: grade_blocks([dl2]), TypeError, r"grade_blocks: namespace must be a dict of your step functions by name, such as globals\(\); got list"),
        bad("value", lambda: grade_blocks({}, seed=-1), ValueError, r"grade_blocks: seed must be an int from 0 to 4,294,967,295, got -1"),
        bad("order", lambda: grade_blocks(0, {}), TypeError, r"grade_blocks: namespace must be a dict of your step functions by name, such as globals\(\); got int"),
        bad("shape", lambda: grade_blocks({}, seed=1.5), TypeError, r"grade_blocks: seed must be an int, got 1.5 \(float\)"),
    ],
    "backprop.steps.your_blocks": [
        bad("dtype", lambda: entered(your_blocks([dl2])), TypeError, r"your_blocks: namespace must be a dict of your functions by name, such as globals\(\); got list"),
        bad("value", lambda: entered(your_blocks({})), ValueError, r"your_blocks: crossentropy_backward is not written yet; grade_blocks shows which blocks are right"),
        bad("order", lambda: entered(your_blocks({**vars(gpt_blocks), "layernorm_backward": layernorm_backward_x})), TypeError,
            r"your_blocks: your layernorm_backward\(dout, x, w, mean, rstd\) must take chapter 15's parameters, in its order: layernorm_backward\(dout, inp, w, mean, rstd\)"),
        bad("shape", lambda: entered(your_blocks({**vars(gpt_blocks), "linear_backward": T(2)})), ValueError, r"your_blocks: linear_backward is a Tensor, not a function"),
    ],
    "backprop.steps.grade_steps": [
        bad("value", lambda: grade_steps("nope", {}), ValueError, r"grade_steps: there is no model 'nope'"),
        bad("value", lambda: grade_steps("mlp", {}, seed=2**40), ValueError, r"grade_steps: seed must be an int from 0 to 4,294,967,295"),
        bad("order", lambda: grade_steps({}, "mlp"), TypeError, r"grade_steps: the first argument is the model's name"),
        bad("dtype", lambda: grade_steps("mlp", [dl2]), TypeError, r"grade_steps: namespace must be a dict of your step functions by name, such as globals\(\); got list"),
    ],
    "backprop.steps.forward_values": [
        bad("value", lambda: forward_values("mlp", dict(inp=T(4, 3))), ValueError, r"forward_values: w1, b1, w2, b2, targ missing from the values"),
        bad("value", lambda: forward_values("mlp", {**{n: T(1) for n in ("inp", "w1", "b1", "w2", "b2", "targ")}, "l1": T(1)}), ValueError, r"forward_values: l1 not an input of the forward"),
        bad("dtype", lambda: forward_values("mlp", [T(4, 3)]), TypeError, r"forward_values: values must be a dict \(name -> value\), got list"),
        bad("order", lambda: forward_values({}, "mlp"), TypeError, r"forward_values: the first argument is the model's name"),
    ],
    "backprop.steps.backward_by_steps": [
        bad("value", lambda: backward_by_steps("mlp", mlp_steps(db1=None), mlp_values()), TypeError, r"backward_by_steps: a step is a function, such as def db1"),
        bad("value", lambda: backward_by_steps("mlp", {k: v for k, v in mlp_steps().items() if k != "dw1"}, mlp_values()), ValueError, r"backward_by_steps: step dw1 is not written yet"),
        bad("shape", lambda: backward_by_steps("mlp", mlp_steps(db2=lambda dout: dout), mlp_values()), ValueError, r"backward_by_steps: db2 returned db2 as torch.float64 of shape \(4, 1\); expected a float tensor of shape \(1,\)"),
        bad("value", lambda: backward_by_steps("mlp", mlp_steps(), {"l1": T(1)}), ValueError, r"backward_by_steps: inp, w1, b1, w2, b2, targ, l2, out, loss missing from the values"),
        bad("order", lambda: backward_by_steps("mlp", mlp_values(), mlp_steps()), TypeError, r"backward_by_steps: namespace \(your steps, e.g. globals\(\)\) and values .* look swapped"),
        bad("shape", lambda: backward_by_steps("mlp", mlp_steps(), mlp_values(), upstream=T(3)), ValueError, r"backward_by_steps: upstream must be the gradient of loss, a tensor of its shape"),
    ],
    "backprop.steps.StepModel": [
        bad("value", lambda: StepModel("y = x * w\nz = y.sum()", ["dz"], None, [{}]), ValueError, r"StepModel: step dz returns dz, which is given"),
        bad("value", lambda: StepModel("y = x *", ["dy"], None, [{}]), ValueError, r"StepModel: line 1 of the forward is not Python"),
        bad("order", lambda: StepModel(["dy"], "y = x * w", None, [{}]), TypeError, r"StepModel: forward must be a string of lines `name = expression`, got list"),
        bad("dtype", lambda: StepModel("y = x * w\nz = y.sum()", ["dy"], None, [{}]), TypeError, r"StepModel: make must be a function make\(gen, \*\*sizes\)"),
        bad("shape", lambda: StepModel("y = x * w\nz = y.sum()", ["dy"], lambda g: {}, []), ValueError, r"StepModel: cases must be a non-empty list of dicts"),
    ],
}

# Bad calls that do not (yet) raise a clear error from backprop's own checks. Each is reported to the lead,
# who fixes it in the chapter's notebook; then it starts raising, this sweep fails, and it moves to SWEEP.
KNOWN_GAPS = {}  # none left: every bad call of the sweep raises a clear error

EXEMPT = {
    "backprop.memory.LiveBytes": "a counter of bytes (chapter 18's instrument): add/remove take whatever tensors autograd saves",
    "backprop.memory.activation_bytes": "sums the records that saved_by returns; it is never called with anything else",
    "backprop.memory.tracking": "a context of saved_tensors_hooks around a LiveBytes; its only argument is that counter",
    "backprop.memory.deep_forward": "chapter 18's plain forward (h @ w + b, relu); checkpointed_backward checks its arguments",
    "backprop.memory.segment_bounds": "arithmetic on two counts that checkpointed_backward has already checked",
    "backprop.check.Row": "a plain record (dataclass) of one comparison, filled by check_grads; it takes any values",
    "backprop.check.GradRow": "a plain record (dataclass) of one named gradient, filled by compare_grads; it takes any values",
    "backprop.steps.Line": "a plain record (dataclass) of one parsed line of a forward, made by StepModel from checked text",
    "backprop.steps.HiddenCase": "a plain record (dataclass) of one hidden case's values and gradients, made by the grader",
    "backprop.steps.StepRow": "a plain record (dataclass) of one row of grade_steps' table",
    "backprop.steps.StepTable": "a plain record (dataclass) of what grade_steps found",
    "backprop.fast.release_scratch": "takes no arguments",
}


# --- issue 26: the newer modules (backprop.parallel, backprop.exercises) and what check and matmul check now ---------
# Every call runs in this process: a function that needs a process group gets one of this process alone (gloo over
# 127.0.0.1, made and destroyed around the call, ~10 ms); run_workers and the command line refuse their bad settings
# before any process starts. What needs two workers that disagree is in tests/test_parallel.py.

@contextlib.contextmanager
def _world_of_one():
    store = dist.TCPStore("127.0.0.1", 0, 1, is_master=True, wait_for_workers=False)
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try: yield
    finally: dist.destroy_process_group()


def on_one_worker(call):
    "call() on the only worker of a process group of this process."
    with _world_of_one():
        return call()


def spawned(call):
    "call() as on a system without fork, where run_workers spawns its workers (new Pythons), as it does with nccl."
    import multiprocessing
    real = multiprocessing.get_all_start_methods
    multiprocessing.get_all_start_methods = lambda: ["spawn"]
    try:
        return call()
    finally:
        multiprocessing.get_all_start_methods = real


def local_worker_fn():
    "run_workers spawning a function defined inside another one, which a new Python cannot import."
    def worker(rank, world_size): return rank
    return run_workers(worker, 2, backend="gloo")


def quiet_parallel_main(argv, world_size=None):
    "backprop.parallel's main with `argv`, as torchrun starts it on `world_size` workers (RANK, WORLD_SIZE), quietly."
    import os
    env = {} if world_size is None else {"RANK": "0", "WORLD_SIZE": str(world_size)}
    saved, n = {k: os.environ.get(k) for k in env}, torch.get_num_threads()
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(io.StringIO()): return parallel_main(argv)
    finally:
        for k, v in saved.items():
            if v is None: os.environ.pop(k, None)
            else: os.environ[k] = v
        torch.set_num_threads(n)


def META(*shape): return torch.empty(*shape, device="meta")


def leaf_changing_loss(a):
    "A loss that doubles its input in place, where autograd does not see it."
    with torch.no_grad():
        a.mul_(2)
    return a.sum()


def data_changing_loss(a):
    "A loss that changes its input through .data, which torch's version counter does not count."
    a.data.add_(1.)
    return (a * a).sum()


def no_g_step(inp, targ, *params):
    "A fwd_bwd that returns a loss and sets no .g."
    return torch.zeros((), dtype=inp.dtype)


def clf(n=8, n_in=5, h=4):
    "A batch of n rows of chapter 9's classifier on n_in features: inp, labels, (w1, b1, w2, b2)."
    return T(n, n_in), torch.arange(n) % 10, list(init_params(n_in, h, 10))


def relu_grad_mine(inp, out): inp.g = (inp > 0).to(inp.dtype) * out.g


FAST_MODELS = {"784-256-10, b = 32": (1e-3, 8e5)}
NETS = {"cluster": (1e-5, 1.25e10)}
CUDA_MSG = r"backend 'nccl' runs between CUDA GPUs, and torch finds none|with nccl every worker has a GPU of its own"
TIMEOUT = r"run_workers: timeout must be a number of seconds from 1 to 86,400 \(a day\), got "

ISSUE_26 = {
    # backprop.check: private copies, fd_max, meta and complex inputs; matmul and the losses: meta tensors
    "backprop.check.check_grads": [
        bad("value", lambda: check_grads(leaf_changing_loss, [F64(3)], [None]), ValueError, r"loss_fn changed inputs\[0\] in place; check_grads calls it many times"),
        bad("value", lambda: check_grads(data_changing_loss, [F64(3)], [None]), ValueError, r"loss_fn changed its copy of inputs\[0\] in place \(through \.data"),
        bad("value", lambda: check_grads(lambda a: a.sum(), [F64(3)], [None], fd_max=-1), ValueError, r"fd_max, the most entries to difference per input, must be a positive int, got -1"),
        bad("value", lambda: check_grads(lambda a: a.sum(), [F64(3)], [None], fd_max=0), ValueError, r"fd_max, .* must be a positive int, got 0"),
        bad("dtype", lambda: check_grads(lambda a: a.sum(), [F64(3)], [None], fd_max=2.5), ValueError, r"fd_max, .* must be a positive int, got 2\.5"),
        bad("dtype", lambda: check_grads(lambda a: a.sum(), [F64(3)], [None], fd_max=None), ValueError, r"fd_max, .* must be a positive int, got None"),
        bad("value", lambda: check_grads(lambda a: a.sum(), [META(3)], [None]), ValueError, r"check_grads: inputs\[0\] is a meta tensor \(device='meta'\): it has a shape and a dtype but no values"),
        bad("dtype", lambda: check_grads(lambda a: a.abs().sum(), [torch.ones(3, dtype=torch.complex64)], [None]), TypeError, r"inputs\[0\] has dtype torch\.complex64; expected a floating-point tensor \(float32 or float64\): its numbers are complex"),
    ],
    **{f"backprop.matmul.{f.__name__}": [
        bad("value", lambda f=f: f(META(2, 3), T(3, 2)), ValueError, rf"{f.__name__}: a is a meta tensor \(a shape, no values\); chapter 1's products compute on the CPU"),
        bad("value", lambda f=f: f(T(2, 3), META(3, 2)), ValueError, rf"{f.__name__}: b is a meta tensor"),
    ] for f in (matmul_loops, matmul_elementwise, matmul_broadcast, matmul_einsum)},
    "backprop.forward.mse": [
        bad("value", lambda: mse(META(5, 1), META(5)), ValueError, r"mse: out is a meta tensor \(device='meta'\)"),
        bad("value", lambda: mse(T(5, 1), META(5)), ValueError, r"mse: targ is a meta tensor"),
    ],
    "backprop.grads.mse_grad": [
        bad("value", lambda: mse_grad(META(5, 1), META(5)), ValueError, r"mse_grad: inp is a meta tensor"),
    ],
    "backprop.fast.fast_forward_and_backward": [
        bad("value", lambda: fast_forward_and_backward(META(4, 3), META(4), *[p.to("meta") for p in init_params(3, 2)]), ValueError, r"fast_forward_and_backward: inp is a meta tensor \(device='meta'\)"),
        bad("value", lambda: fast_forward_and_backward(T(4, 3), T(4), *[p.to("meta") for p in init_params(3, 2)]), ValueError, r"fast_forward_and_backward: parameter 1 is a meta tensor"),
    ],
    "backprop.cli.main": [
        bad("value", lambda: quiet_main(["--threads", "10000"]), ValueError, r"main: --threads must be at most \d+, the CPU cores this process may use, got 10000"),
        bad("value", lambda: quiet_main(["--seed", "99999999999999999999999"]), ValueError, r"main: --seed must be an int from 0 to 4,294,967,295, got 99999999999999999999999"),
        bad("value", lambda: quiet_main(["--seed", "-1"]), ValueError, r"main: --seed must be an int from 0 to 4,294,967,295, got -1"),
    ],
    # backprop.parallel: processes, bounds, the same batch and model on every worker
    "backprop.parallel.run_workers": [
        bad("value", lambda: run_workers(worker_grads, 10**9), ValueError, r"run_workers: (world_size must be at most \d+ \(4 workers per CPU core|with nccl).* got 1,000,000,000"),
        bad("value", lambda: run_workers(worker_grads, 0), ValueError, r"run_workers: world_size must be a positive int, got 0"),
        bad("dtype", lambda: run_workers(worker_grads, 2.0), ValueError, r"run_workers: world_size must be a positive int, got 2\.0"),
        bad("order", lambda: run_workers(2, worker_grads), TypeError, r"run_workers: fn must be a function fn\(rank, world_size, \*args\), got int"),
        bad("value", lambda: run_workers(worker_grads, 2, timeout=0), ValueError, TIMEOUT + "0$"),
        bad("value", lambda: run_workers(worker_grads, 2, timeout=-5), ValueError, TIMEOUT + "-5$"),
        bad("value", lambda: run_workers(worker_grads, 2, timeout=float("nan")), ValueError, TIMEOUT + "nan$"),
        bad("value", lambda: run_workers(worker_grads, 2, timeout=float("inf")), ValueError, TIMEOUT + "inf$"),
        bad("value", lambda: run_workers(worker_grads, 2, timeout=1e-4), ValueError, TIMEOUT + r"0\.0001$"),
        bad("value", lambda: run_workers(worker_grads, 2, timeout=10**7), ValueError, TIMEOUT + "10000000$"),
        bad("dtype", lambda: run_workers(worker_grads, 2, timeout="10"), ValueError, TIMEOUT + "'10'$"),
        bad("dtype", lambda: run_workers(worker_grads, 2, timeout=True), ValueError, TIMEOUT + "True$"),
        bad("value", lambda: run_workers(worker_grads, 2, backend="mpi"), ValueError, r"run_workers: backend must be None \(nccl where CUDA is, else gloo\), 'gloo' or 'nccl', got 'mpi'"),
        bad("value", lambda: run_workers(worker_grads, torch.cuda.device_count() + 1, backend="nccl"), ValueError, CUDA_MSG),
        bad("value", lambda: spawned(lambda: run_workers(lambda rank, world_size: rank, 2, backend="gloo")), ValueError, r"run_workers: the workers are spawned \(new Pythons\), which get fn and args by pickle, and fn cannot be pickled .*a lambda"),
        bad("value", lambda: spawned(local_worker_fn), ValueError, r"and fn cannot be pickled .*local object"),
        bad("value", lambda: spawned(lambda: run_workers(worker_grads, 2, (x for x in []), backend="gloo")), ValueError, r"and args cannot be pickled"),
    ],
    "backprop.parallel.main": [
        bad("value", lambda: quiet_parallel_main(["--timeout", "0"]), ValueError, r"main: --timeout must be a number of seconds from 1 to 86,400 \(a day\), got 0\.0"),
        bad("value", lambda: quiet_parallel_main(["--timeout", "-5"]), ValueError, r"main: --timeout must be a number of seconds .* got -5\.0"),
        bad("value", lambda: quiet_parallel_main(["--timeout", "nan"]), ValueError, r"main: --timeout must be a number of seconds .* got nan"),
        bad("value", lambda: quiet_parallel_main(["--timeout", "inf"]), ValueError, r"main: --timeout must be a number of seconds .* got inf"),
        bad("value", lambda: quiet_parallel_main(["--threads", "10000"]), ValueError, r"main: --threads must be at most \d+, the CPU cores"),
        bad("value", lambda: quiet_parallel_main(["--threads", "0"]), ValueError, r"main: --threads must be a positive int, got 0"),
        bad("value", lambda: quiet_parallel_main(["--seed", "99999999999999999999999"]), ValueError, r"main: --seed must be an int from 0 to 4,294,967,295"),
        bad("value", lambda: quiet_parallel_main(["--bs", "0"]), ValueError, r"main: --bs must be a positive int, got 0"),
        bad("shape", lambda: quiet_parallel_main(["--bs", "1"], world_size=2), ValueError, r"main: --bs 1 cannot be split across 2 workers: each needs at least one row"),
        bad("shape", lambda: quiet_parallel_main(["--bs", "3999"], world_size=2), ValueError,
            r"main: --bs 3999 leaves a last batch of 1 row\(s\) in every epoch \(4,000 training digits = 1 x 3999 \+ 1\), which cannot be split across 2 workers"),
    ],
    "backprop.parallel.shard": [
        bad("value", lambda: shard(2, 0, 3), ValueError, r"a batch of 2 row\(s\) cannot be split across 3 workers"),
        bad("value", lambda: shard(8, 3, 3), ValueError, "rank 3 is not a worker of a world of 3"),
        bad("value", lambda: shard(8, -1, 3), ValueError, "rank must be an int >= 0"),
        bad("order", lambda: shard(8, 3, 0), ValueError, "world_size must be a positive int, got 0"),
        bad("dtype", lambda: shard(8.0, 0, 2), ValueError, "n, the batch size, must be a positive int"),
    ],
    "backprop.parallel.all_reduce_grads": [
        bad("order", lambda: all_reduce_grads([torch.ones(2)]), RuntimeError, "all_reduce_grads: torch.distributed is not initialised"),
        bad("dtype", lambda: on_one_worker(lambda: all_reduce_grads([torch.ones(2, dtype=torch.int64)])), TypeError, r"all_reduce_grads: tensors\[0\] has dtype torch\.int64; expected a floating-point tensor"),
        bad("value", lambda: on_one_worker(lambda: all_reduce_grads([torch.ones(2, requires_grad=True)])), ValueError, r"tensors\[0\] is a leaf that requires grad, and the sums are written into it in place"),
        bad("shape", lambda: on_one_worker(lambda: all_reduce_grads([torch.ones(2), torch.ones(1).expand(3)])), ValueError, r"tensors\[1\] is an expanded view \(a stride of 0"),
        bad("dtype", lambda: on_one_worker(lambda: all_reduce_grads([torch.ones(2), torch.ones(2, dtype=torch.float64)])), TypeError, "the tensors share one flat buffer, so they must have one dtype and device"),
        bad("value", lambda: on_one_worker(lambda: all_reduce_grads(torch.ones(2))), TypeError, "tensors must be a list of tensors, got Tensor"),
        bad("value", lambda: on_one_worker(lambda: all_reduce_grads([torch.ones(2)], float("nan"))), ValueError, r"weight must be a finite number \(n_p / N\), got nan"),
        bad("order", lambda: on_one_worker(lambda: all_reduce_grads([torch.ones(2), None])), TypeError, r"a None is a \.g that fwd_bwd did not set"),
    ],
    "backprop.parallel.parallel_forward_and_backward": [
        bad("order", lambda: parallel_forward_and_backward(*clf()[:2], *clf()[2]), RuntimeError, "parallel_forward_and_backward: torch.distributed is not initialised"),
        bad("value", lambda: on_one_worker(lambda: parallel_forward_and_backward(*clf()[:2], *clf()[2], fwd_bwd=no_g_step)), TypeError,
            r"all_reduce_grads: tensors must be one or more tensors, got \['Tensor', 'NoneType', .*a None is a \.g that fwd_bwd did not set"),
        bad("shape", lambda: on_one_worker(lambda: parallel_forward_and_backward(T(8, 5), L(*range(7)), *clf()[2], fwd_bwd=classifier_forward_and_backward)), ValueError, r"targ must be a tensor with one row per row of inp \(8\), got 7 row\(s\)"),
        bad("value", lambda: on_one_worker(lambda: parallel_forward_and_backward(T(8, 5), L(*range(8)))), TypeError, "params must be one or more tensors"),
        bad("dtype", lambda: on_one_worker(lambda: parallel_forward_and_backward(I(8, 5), L(*range(8)), *clf()[2])), TypeError, r"parallel_forward_and_backward: inp has dtype torch\.int64"),
    ],
    "backprop.parallel.overlapped_forward_and_backward": [
        bad("order", lambda: overlapped_forward_and_backward(*clf()[:2], *clf()[2]), RuntimeError, "torch.distributed is not initialised"),
        bad("dtype", lambda: on_one_worker(lambda: overlapped_forward_and_backward(T(8, 5), T(8), *clf()[2])), TypeError, "targ must be a 1-D int64 tensor of class labels"),
        bad("value", lambda: on_one_worker(lambda: overlapped_forward_and_backward(T(8, 5), torch.full((8,), 10), *clf()[2])), ValueError, r"labels must be in \[0, 9\] for 10 classes"),
    ],
    "backprop.parallel.classifier_shard_step": [
        bad("value", lambda: classifier_shard_step(T(8, 5), torch.full((8,), 10), 8, *clf()[2]), ValueError, r"classifier_shard_step: labels must be in \[0, 9\] for 10 classes, got 10 to 10"),
        bad("dtype", lambda: classifier_shard_step(T(8, 5), T(8), 8, *clf()[2]), TypeError, r"y must be the shard's labels, an int64 tensor of shape \(8,\), got torch\.float32"),
        bad("value", lambda: classifier_shard_step(*clf()[:2], 4, *clf()[2]), ValueError, r"N is the whole batch's number of rows, an int at least the shard's 8, got 4"),
        bad("shape", lambda: classifier_shard_step(T(8, 6), L(*range(8)), 8, *clf()[2]), ValueError, r"inp has shape \(8, 6\) and w has shape \(5, \d+\)"),
        bad("order", lambda: classifier_shard_step(*clf()[:2], *clf()[2], 8), ValueError, r"classifier_shard_step: w must have 2 dimension\(s\), got shape \(4,\)"),
    ],
    "backprop.parallel.sync_params": [
        bad("order", lambda: sync_params(clf()[2]), RuntimeError, "sync_params: torch.distributed is not initialised"),
        bad("value", lambda: on_one_worker(lambda: sync_params([1.0, 2.0])), TypeError, r"sync_params: params must be one or more tensors .* got \['float', 'float'\]"),
    ],
    "backprop.parallel.worker_grads": [
        bad("shape", lambda: on_one_worker(lambda: worker_grads(0, 1, [(classifier_forward_and_backward, T(8, 5), L(*range(7)), clf()[2])])), ValueError, r"targ must be a tensor with one row per row of inp \(8\)"),
    ],
    "backprop.parallel.worker_fit": [
        bad("value", lambda: on_one_worker(lambda: worker_fit(0, 1, (NAN(8, 784), L(*range(8)), T(4, 784), L(*range(4))), list(init_params(784, 4, 10)))), ValueError, r"fit: x_train contains 6272 NaN"),
    ],
    "backprop.parallel.worker_timing": [
        bad("value", lambda: worker_timing(5, 2, *clf()), ValueError, "shard: rank 5 is not a worker of a world of 2"),
    ],
    "backprop.parallel.worker_fault": [
        bad("value", lambda: worker_fault(0, 1, "crash"), ValueError, r"worker_fault: fault must be 'raise' or 'shapes', got 'crash'"),
    ],
    "backprop.parallel.TorchMLP": [
        bad("order", lambda: TorchMLP(*layers_swapped(3, 2)), ValueError, r"TorchMLP: w1 has shape \(2, 1\) and b1 has shape \(1,\)|TorchMLP: w1 has shape \(2, 1\) and w2 has shape \(3, 2\)"),
        bad("dtype", lambda: TorchMLP(I(3, 2), T(2), T(2, 1), T(1)), TypeError, FLOAT),
        bad("shape", lambda: TorchMLP(*init_params(3, 2))(T(4, 5)), ValueError, r"inp has shape \(4, 5\) and w has shape \(3, 2\)"),
    ],
    "backprop.parallel.ddp_step": [
        bad("shape", lambda: ddp_step(TorchMLP(*init_params(3, 2, 10)), T(4, 5), L(0, 1, 2, 3)), ValueError, r"lin: inp has shape \(4, 5\) and w has shape \(3, 2\)"),
    ],
    "backprop.parallel.time_steps": [
        bad("value", lambda: time_steps({}), TypeError, r"time_steps: steps must be a non-empty dict of name -> step\(wait_times\)"),
        bad("dtype", lambda: time_steps({"a": 1}), TypeError, r"got \{'a': 'int'\}"),
        bad("value", lambda: time_steps({"a": lambda w: None}, rounds=0), ValueError, "time_steps: rounds must be a positive int, got 0"),
    ],
    "backprop.parallel.time_all_reduce": [
        bad("value", lambda: time_all_reduce(0, 1, [1024, 3]), ValueError, r"sizes must be a non-empty list of sizes in bytes, each a positive multiple of 4 \(one float32\), got \[1024, 3\]"),
        bad("value", lambda: time_all_reduce(0, 1, [1024], reps=0), ValueError, "time_all_reduce: reps must be a positive int, got 0"),
    ],
    "backprop.parallel.time_compute": [
        bad("shape", lambda: time_compute(forward_and_backward, T(4, 5), T(4), init_params(3, 2)), ValueError, r"inp has shape \(4, 5\) and w has shape \(3, 2\)"),
        bad("value", lambda: time_compute(forward_and_backward, T(4, 3), T(4), init_params(3, 2), reps=0), ValueError, "time_compute: reps must be a positive int, got 0"),
        bad("order", lambda: time_compute(T(4, 3), forward_and_backward, T(4), init_params(3, 2)), TypeError, r"time_compute: fwd_bwd must be a function"),
    ],
    "backprop.parallel.timing_table": [
        bad("dtype", lambda: timing_table([1.0, 2.0]), TypeError, r"timing_table: timing must be the dict that worker_timing returns"),
        bad("value", lambda: timing_table({"a step": 1.0}), TypeError, r"timing_table: timing must be the dict that worker_timing returns"),
    ],
    "backprop.parallel.compute_per_step": [
        bad("value", lambda: compute_per_step(classifier_forward_and_backward, T(64, 784), torch.arange(64) % 10, hidden=(0,)), ValueError, "init_params: n_hidden must be a positive int, got 0"),
    ],
    "backprop.parallel.ring_allreduce_time": [
        bad("value", lambda: ring_allreduce_time(0, 1e6, 1e-5, 1e10), ValueError, r"ring_allreduce_time: P, the number of workers, must be a positive int, got 0"),
        bad("dtype", lambda: ring_allreduce_time(2.0, 1e6, 1e-5, 1e10), ValueError, r"ring_allreduce_time: P, the number of workers, must be a positive int, got 2\.0"),
        bad("value", lambda: ring_allreduce_time(2, -1, 1e-5, 1e10), ValueError, r"ring_allreduce_time: nbytes must be a finite number >= 0, got -1"),
        bad("value", lambda: ring_allreduce_time(2, 1e6, 1e-5, 0), ValueError, r"ring_allreduce_time: beta must be a finite number > 0, got 0"),
        bad("dtype", lambda: ring_allreduce_time(2, torch.tensor(1e6), 1e-5, 1e10), ValueError, r"ring_allreduce_time: nbytes must be a finite number >= 0, got tensor"),
    ],
    "backprop.parallel.predict_step": [
        bad("value", lambda: predict_step(2, 1e-3, 1e6, 1e-5, 0), ValueError, r"predict_step: beta must be a finite number > 0, got 0"),
        bad("value", lambda: predict_step(0, 1e-3, 1e6, 1e-5, 1e10), ValueError, r"predict_step: P, the number of workers, must be a positive int, got 0"),
        bad("value", lambda: predict_step(2, 0, 1e6, 1e-5, 1e10), ValueError, r"predict_step: t_compute must be a finite number > 0, got 0"),
        bad("value", lambda: predict_step(2, 1e-3, 1e6, float("inf"), 1e10), ValueError, r"predict_step: alpha must be a finite number >= 0, got inf"),
        bad("dtype", lambda: predict_step(2, 1e-3, 1e6, 1e-5, 1e10, overlap="yes"), TypeError, r"predict_step: overlap must be True or False, got 'yes'"),
    ],
    "backprop.parallel.scaling": [
        bad("value", lambda: scaling(0, 1e-3, 8e5, 1e-5, 1.25e10), ValueError, r"scaling: P, the number of workers, must be a positive int, got 0"),
        bad("value", lambda: scaling(2, -1e-3, 8e5, 1e-5, 1.25e10), ValueError, r"scaling: t_compute must be a finite number > 0, got -0\.001"),
        bad("value", lambda: scaling(2, 1e-3, 8e5, 1e-5, 0), ValueError, r"scaling: beta must be a finite number > 0, got 0"),
        bad("value", lambda: scaling(2, 1e-3, 8e5, float("nan"), 1.25e10), ValueError, r"scaling: alpha must be a finite number >= 0, got nan"),
    ],
    "backprop.parallel.breaking_point": [
        bad("value", lambda: breaking_point(0, 8e5, 1e-5, 1.25e10), ValueError, r"breaking_point: t_compute must be a finite number > 0, got 0"),
        bad("value", lambda: breaking_point(1e-3, 8e5, 1e-5, 1.25e10, most=0), ValueError, r"breaking_point: most must be a positive int, got 0"),
    ],
    "backprop.parallel.scaling_table": [
        bad("value", lambda: scaling_table({}, 1e-5, 1.25e10, [1, 2]), TypeError, r"scaling_table: models must be a non-empty dict of name -> \(t_compute, nbytes\)"),
        bad("value", lambda: scaling_table(FAST_MODELS, 1e-5, 1.25e10, [0, 2]), ValueError, r"scaling_table: Ps must be a non-empty list of worker counts"),
    ],
    "backprop.parallel.scaling_report": [
        bad("dtype", lambda: scaling_report(FAST_MODELS, NETS, 4), ValueError, r"scaling_report: Ps must be a non-empty list of worker counts \(positive ints\), got 4"),
        bad("value", lambda: scaling_report(FAST_MODELS, NETS, [1, 2], overlap="784-1024-10, b = 32"), ValueError, r"overlap must be None or the name of one of the models"),
        bad("shape", lambda: scaling_report({"m": (1e-3,)}, NETS, [1, 2]), TypeError, r"scaling_report: models\['m'\] must be \(t_compute, nbytes\), got \(0\.001,\)"),
        bad("value", lambda: scaling_report(FAST_MODELS, {"net": (1e-5, -1.)}, [1, 2]), ValueError, r"scaling_report: beta must be a finite number > 0, got -1\.0"),
    ],
    # backprop.exercises: grade's arguments (what a learner's function does wrong is a verdict, tests/test_exercises.py)
    "backprop.exercises.grade": [
        bad("dtype", lambda: grade("relu", relu_grad_mine, seed=1.5), TypeError, r"grade: seed must be an int, got 1\.5 \(float\)"),
        bad("dtype", lambda: grade("relu", relu_grad_mine, seed="1"), TypeError, r"grade: seed must be an int, got '1' \(str\)"),
        bad("dtype", lambda: grade("relu", relu_grad_mine, seed=None), TypeError, r"grade: seed must be an int, got None \(NoneType\)"),
        bad("dtype", lambda: grade("relu", relu_grad_mine, seed=True), TypeError, r"grade: seed must be an int, got True \(bool\)"),
        bad("dtype", lambda: grade("relu", relu_grad_mine, seed=torch.tensor(1)), TypeError, r"grade: seed must be an int, got tensor\(1\) \(Tensor\)"),
        bad("value", lambda: grade("relu", relu_grad_mine, seed=-1), ValueError, r"grade: seed must be an int from 0 to 4,294,967,295, got -1"),
        bad("value", lambda: grade("relu", relu_grad_mine, seed=2**70), ValueError, r"grade: seed must be an int from 0 to 4,294,967,295, got 1180591620717411303424"),
        bad("value", lambda: grade("rleu", relu_grad_mine), ValueError, r"grade: there is no exercise 'rleu'; did you mean 'relu'"),
        bad("order", lambda: grade(relu_grad_mine, "relu"), TypeError, r"grade: the first argument is the exercise's name, a string"),
        bad("value", lambda: grade("relu", relu_grad_mine(T(2), with_g(T(2), T(2)))), TypeError, r"grade: the second argument must be your gradient function itself"),
        bad("shape", lambda: grade("relu", lambda inp: None), TypeError, r"cannot be called as relu_grad\(inp, out\)"),
    ],
}
for _name, _entries in ISSUE_26.items():
    SWEEP.setdefault(_name, []).extend(_entries)

EXEMPT_26 = {
    "backprop.parallel.default_backend": "takes no arguments",
    "backprop.parallel.WorkerError": "an exception class: its argument is the message",
    "backprop.parallel.RemoteTraceback": "an exception class: its argument is a worker's traceback, as text",
    "backprop.parallel.worker_ddp": ("chapter 13's DDP comparison, run by run_workers; its arguments go to TorchMLP and shard, "
                                     "swept above, but building a DDP imports torch._dynamo (seconds); tests/test_parallel.py runs it"),
    "backprop.exercises.Exercise": "a record (dataclass) of one exercise, made by the grader's _add",
    "backprop.exercises.Case": "a record (dataclass) of one hidden case, filled by grade",
    "backprop.exercises.Grade": "a record (dataclass) of what grade found, made by grade",
    "backprop.exercises.Finding": "a record (namedtuple) of one diagnosis of a wrong gradient, made by grade",
    **{f"backprop.exercises.{ex.forward.__name__}": "an exercise's forward, which grade calls with the arguments of its hidden cases"
       for ex in EXERCISES.values()},
}
EXEMPT.update(EXEMPT_26)


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
