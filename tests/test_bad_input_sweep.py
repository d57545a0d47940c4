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
import importlib
import re
import tempfile
import traceback
from pathlib import Path

import numpy as np
import pytest
import torch

import backprop
from backprop.check import GradReport, check_grads, diagnose, rel_error
from backprop.data import MNIST_SAMPLE, download_mnist, load_mnist, load_mnist_sample, normalise, train_valid_split
from backprop.forward import init_params, lin, mlp, mse, relu
from backprop.grads import forward_and_backward, lin_grad, mse_grad, numerical_grad, relu_grad
from backprop.layers import Lin, LinFunction, Model, Module, Mse, MseFunction, Relu, ReluFunction, TorchModel

MODULES = ["backprop.data", "backprop.forward", "backprop.grads", "backprop.check", "backprop.layers"]
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


def layers_swapped(n_in, n_hidden):
    "init_params' (w1, b1, w2, b2) given in the wrong order: (w2, b2, w1, b1)."
    w1, b1, w2, b2 = init_params(n_in, n_hidden)
    return [w2, b2, w1, b1]
def lin_loss(inp, w, b): return lin(inp, w, b).sum()


def called(layer, *args):
    "The layer after one forward call (its output gets no .g)."
    layer(*args)
    return layer


FLOAT = "expected a floating-point tensor"
SWEEP = {
    # backprop.data
    "backprop.data.load_mnist_sample": [
        bad("value", lambda: load_mnist_sample("/nonexistent/digits.npz"), FileNotFoundError, "no file at /nonexistent/digits.npz"),
        bad("shape", load_wrong_npz, ValueError, "must hold arrays 'images' and 'labels'"),
        bad("value", lambda: load_mnist_sample(123), TypeError, "path must be a file path .* got int"),
    ],
    "backprop.data.train_valid_split": [
        bad("shape", lambda: train_valid_split(T(10, 3), T(9)), ValueError, "x has 10 rows but y has 9"),
        bad("value", lambda: train_valid_split(T(10, 3), T(10), n_valid=0), ValueError, "n_valid must be between 1 and 9, got 0"),
        bad("value", lambda: train_valid_split(T(10, 3), T(10), n_valid=10), ValueError, "n_valid must be between 1 and 9, got 10"),
        bad("order", lambda: train_valid_split(T(10, 3), T(10), 42, 100), ValueError, "n_valid must be between 1 and 9, got 42"),
        bad("dtype", lambda: train_valid_split([1, 2, 3], [1, 2, 3], n_valid=1), TypeError, "x must be a torch.Tensor, got list"),
    ],
    "backprop.data.download_mnist": [
        bad("value", lambda: download_mnist(tempfile.mkdtemp(), url="file:///nonexistent/mnist.npz"), ConnectionError, "could not download file:///nonexistent/mnist.npz"),
    ],
    "backprop.data.load_mnist": [
        bad("value", lambda: load_mnist(MNIST_SAMPLE), ValueError, r"lacks the arrays \['x_test', 'x_train', 'y_test', 'y_train'\]"),
    ],
    "backprop.data.normalise": [
        bad("value", lambda: normalise(torch.ones(3, 2), torch.ones(2, 2)), ValueError, "standard deviation 0.0: a constant"),
        bad("dtype", lambda: normalise(I(3, 2), I(2, 2)), TypeError, "x_train must be a 2-D floating-point tensor"),
        bad("shape", lambda: normalise(T(10, 784), T(5, 783)), ValueError, "x_train has 784 features per row but x_valid has 783"),
        bad("order", lambda: normalise(T(10, 784), T(784)), TypeError, r"x_valid must be a 2-D floating-point tensor .* shape \(784,\)"),
    ],
    # backprop.forward
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
    ],
    "backprop.grads.mse_grad": [
        bad("shape", lambda: mse_grad(T(5, 1), T(5, 1)), ValueError, r"targ must have shape \(5,\), got \(5, 1\)"),
        bad("dtype", lambda: mse_grad(I(5, 1), I(5)), TypeError, FLOAT),
        bad("order", lambda: mse_grad(T(5), T(5, 1)), ValueError, r"out must have 2 dimension\(s\)"),
    ],
    "backprop.grads.relu_grad": [
        bad("dtype", lambda: relu_grad(T(3), with_g(T(3), F64(3))), TypeError, "out.g has dtype torch.float64 but out has dtype torch.float32"),
        bad("shape", lambda: relu_grad(T(4, 2), with_g(T(2, 4), T(2, 4))), ValueError, "must have the same shape"),
        bad("shape", lambda: relu_grad(T(4, 2), with_g(T(4, 2), T(2, 4))), ValueError, r"out.g must be a tensor of out's shape \(4, 2\), got \(2, 4\)"),
        bad("dtype", lambda: relu_grad(I(3), I(3)), TypeError, FLOAT),
        bad("order", lambda: relu_grad(T(4, 2), T(4, 2)), RuntimeError, "out.g is not set.*mse_grad, then lin_grad"),
    ],
    "backprop.grads.lin_grad": [
        bad("dtype", lambda: lin_grad(T(3, 2), with_g(T(3, 2), F64(3, 2)), T(2, 2), T(2)), TypeError, "out.g has dtype torch.float64 but out has dtype torch.float32"),
        bad("shape", lambda: lin_grad(T(4, 3), T(4, 2), T(5, 2), T(2)), ValueError, r"inp has shape \(4, 3\) and w has shape \(5, 2\)"),
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
}

# Bad calls that do not (yet) raise a clear error. Each is reported to the lead: chapters 0-2 are not ours to change.
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


def test_sweep_every_public_function_with_bad_input(capsys):
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
    with capsys.disabled():
        print(f"\nbad-input sweep: {tried} bad calls to {len(names) - len(EXEMPT)} public functions of {len(MODULES)} modules "
              f"({', '.join(f'{n} {k}' for k, n in per_kind.items())}): {tried - len(failures)} raised a clear error")
        print(f"{len(gaps)} known gaps (not raising a clear error yet; {sum('SILENT' in g for g in gaps)} of them silent):")
        print("\n".join(gaps))
    assert tried >= 80
    assert not failures, "\n".join(failures)


def test_the_rule_rejects_torch_internal_errors_and_silent_results():
    "The sweep's own check: a torch error from inside an operation, or a returned value, must not pass."
    assert "not from a check in backprop" in verdict(bad("dtype", lambda: torch.ones(2, 3) @ torch.ones(2, 3), RuntimeError, ""))
    assert verdict(bad("shape", lambda: relu(T(3)), ValueError, "")).startswith("returned silently")
    assert "does not match" in verdict(bad("shape", lambda: relu(I(3)), TypeError, "something else"))
    assert verdict(bad("dtype", lambda: relu(I(3)), TypeError, FLOAT)) is None
