"""Minibatches, SGD and the training loop of backprop.train (chapter 8), and the command line, backprop.cli (appendix 92)."""
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.testing import assert_close

from backprop.forward import init_params, mlp
from backprop.losses import classifier_forward_and_backward, evaluate_classifier
from backprop.cli import main
from backprop.train import fit, minibatches, plot_loss, random_shift, sgd_step

root = Path(__file__).resolve().parent.parent


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ---- minibatches -------------------------------------------------------------------------------

@pytest.mark.parametrize("n,bs", [(1, 1), (10, 3), (64, 64), (65, 64), (5, 100)])
def test_minibatches_cover_every_row_once(n, bs):
    x = torch.arange(n, dtype=torch.float64)[:, None].repeat(1, 2)
    y = torch.arange(n)
    batches = list(minibatches(x, y, bs, gen()))
    assert [len(yb) for _, yb in batches] == [min(bs, n - i) for i in range(0, n, bs)]
    assert sorted(torch.cat([yb for _, yb in batches]).tolist()) == list(range(n))
    for xb, yb in batches:                                  # rows of x and y stay paired
        assert torch.equal(xb[:, 0].long(), yb)


def test_minibatches_are_seeded_and_shuffled():
    x, y = torch.randn(100, 3), torch.arange(100)
    first = [yb for _, yb in minibatches(x, y, 10, gen(1))]
    again = [yb for _, yb in minibatches(x, y, 10, gen(1))]
    other = [yb for _, yb in minibatches(x, y, 10, gen(2))]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(torch.cat(first), torch.cat(other))
    assert not torch.equal(torch.cat(first), y)             # not the original order


def test_minibatches_bad_input():
    x, y = torch.randn(10, 3), torch.arange(10)
    with pytest.raises(ValueError, match="x has 10 rows but y has 9"):
        next(minibatches(x, y[:9], 4))
    with pytest.raises(ValueError, match="empty"):
        next(minibatches(x[:0], y[:0], 4))
    for bs in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="bs must be a positive int"):
            next(minibatches(x, y, bs))


def test_minibatches_checks_at_the_call_not_at_the_first_batch():
    x, y = torch.randn(10, 3), torch.arange(10)
    with pytest.raises(ValueError, match="minibatches: bs must be a positive int, got 0"):
        minibatches(x, y, 0)                                # no next(): the check runs at the call
    with pytest.raises(TypeError, match="minibatches: x must be a torch.Tensor, got list"):
        minibatches(x.tolist(), y.tolist(), 2)
    with pytest.raises(TypeError, match="minibatches: x must be a torch.Tensor, got int"):
        minibatches(4, x, y)                                # bs first: the arguments shifted


# ---- sgd_step and random_shift -----------------------------------------------------------------

def test_sgd_step_moves_against_the_gradient():
    p = torch.randn(3, 2, dtype=torch.float64)
    p.g = torch.randn(3, 2, dtype=torch.float64)
    expected = p - 0.1 * p.g
    sgd_step([p], 0.1)
    assert_close(p, expected, rtol=0, atol=0)


def test_sgd_step_without_or_with_a_wrong_gradient():
    w, b = torch.randn(3, 2), torch.randn(2)
    w.g = torch.randn(3, 2)
    with pytest.raises(RuntimeError, match="parameter 1 has no .g; run the backward pass"):
        sgd_step([w, b], 0.1)
    b.g = torch.randn(3)
    with pytest.raises(ValueError, match=r"parameter 1 has shape \(2,\) but its .g has shape \(3,\)"):
        sgd_step([w, b], 0.1)


def test_sgd_step_bad_learning_rate_or_dtype_changes_nothing():
    w, b = torch.randn(3, 2), torch.randn(2)
    w.g, b.g = torch.randn(3, 2), torch.randn(2, dtype=torch.float64)
    before = [w.clone(), b.clone()]
    with pytest.raises(TypeError, match=r"sgd_step: all tensors must have the same dtype, got parameter 1: torch.float32, "
                                        r"parameter 1.g: torch.float64"):
        sgd_step([w, b], 0.1)
    b.g = torch.randn(2)
    for lr, error, match in [(float("nan"), ValueError, "lr must be a positive finite number, got nan"),
                             (float("inf"), ValueError, "got inf"), (0, ValueError, "got 0"), (-0.1, ValueError, "got -0.1"),
                             ("0.1", TypeError, "lr must be a number, got str '0.1'"), (None, TypeError, "got NoneType")]:
        with pytest.raises(error, match=match):
            sgd_step([w, b], lr)
    with pytest.raises(TypeError, match="sgd_step: params must be a list or tuple of tensors, got float"):
        sgd_step(0.1, [w, b])                               # arguments swapped
    assert torch.equal(w, before[0]) and torch.equal(b, before[1])   # w was not moved before b's check failed


def test_random_shift_moves_pixels_only():
    x = torch.rand(5, 784, generator=gen())
    shifted = random_shift(x, 2, gen(3))
    assert shifted.shape == x.shape
    assert_close(shifted.sort(1).values, x.sort(1).values, rtol=0, atol=0)   # same pixels per image
    assert torch.equal(random_shift(x, 0, gen()), x)
    moved = sum(not torch.equal(random_shift(x, 2, gen(s)), x) for s in range(10))
    assert moved >= 5
    with pytest.raises(ValueError, match=r"expected flattened 28x28 images of shape \(N, 784\), got \(5, 28, 28\)"):
        random_shift(x.view(5, 28, 28), 2)
    for bad in (-1, 1.5):
        with pytest.raises(ValueError, match=rf"random_shift: max_shift must be an int >= 0, got {bad}"):
            random_shift(x, bad)
    with pytest.raises(TypeError, match="random_shift: xb must be a torch.Tensor, got list"):
        random_shift(x.tolist(), 2)


# ---- fit ---------------------------------------------------------------------------------------

def small_data(dtype=torch.float32, n=640, seed=0):
    g = gen(seed)
    x = torch.randn(n + 100, 784, generator=g, dtype=dtype)
    y = torch.randint(0, 10, (n + 100,), generator=g)
    return x[:n], y[:n], x[n:], y[n:]


def torch_reference(params, data, epochs, lr, bs, decay, max_shift, seed):
    "The training of `fit`, with autograd and torch.optim.SGD, on the same batches and shifts."
    x_train, y_train = data[:2]
    leaves = [p.detach().clone().requires_grad_() for p in params]
    opt = torch.optim.SGD(leaves, lr=lr)
    n_steps = epochs * math.ceil(len(x_train) / bs)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 - k / n_steps if decay else 1.)
    g = gen(seed)
    steps = 0
    for _ in range(epochs):
        for xb, yb in minibatches(x_train, y_train, bs, g):
            if max_shift: xb = random_shift(xb, max_shift, g)
            loss = torch.nn.functional.cross_entropy(mlp(xb, *leaves), yb)
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
            steps += 1
    return [p.detach() for p in leaves], steps


@pytest.mark.parametrize("dtype,tol", [(torch.float64, dict(rtol=1e-10, atol=1e-12)),
                                       (torch.float32, dict(rtol=1e-5, atol=1e-6))])
@pytest.mark.parametrize("decay,max_shift", [(False, 0), (True, 2)])
def test_fit_matches_torch_optim_sgd_step_for_step(dtype, tol, decay, max_shift):
    data = small_data(dtype)
    start = init_params(784, 32, 10, generator=gen(1), dtype=dtype)
    ours = [p.clone() for p in start]
    hist = fit(ours, data, classifier_forward_and_backward, evaluate_classifier, epochs=3, lr=0.1, bs=64,
               decay=decay, max_shift=max_shift, seed=5, verbose=False)
    theirs, steps = torch_reference(start, data, epochs=3, lr=0.1, bs=64, decay=decay, max_shift=max_shift, seed=5)
    assert steps == len(hist["step_loss"]) == 30
    compared = 0
    for o, t, s in zip(ours, theirs, start, strict=True):
        assert_close(o, t, **tol)
        compared += 1
    assert compared == 4
    assert max(float((o - s).abs().max()) for o, s in zip(ours, start)) > 1e-2   # the weights did move


def test_fit_history_and_output(capsys):
    data = small_data()
    params = init_params(784, 16, 10, generator=gen())
    hist = fit(params, data, classifier_forward_and_backward, evaluate_classifier, epochs=2, lr=0.05)
    assert len(hist["step_loss"]) == 2 * 10 and [r["epoch"] for r in hist["epoch"]] == [1, 2]
    assert set(hist["epoch"][0]) == {"epoch", "train_loss", "valid_loss", "valid_acc", "seconds"}
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 3 and lines[0].split() == ["epoch", "train_loss", "valid_loss", "valid_acc", "time"]
    assert "\r" not in out and "█" not in out            # no progress bar written into a log
    fit(params, data, classifier_forward_and_backward, evaluate_classifier, epochs=1, verbose=False)
    assert capsys.readouterr().out == ""


def test_fit_bad_data():
    x_train, y_train, x_valid, y_valid = small_data(n=64)
    args = (classifier_forward_and_backward, evaluate_classifier)
    params = init_params(784, 8, 10, generator=gen())
    bad = x_train.clone(); bad[3, 7] = float("nan"); bad[5, 0] = float("nan")
    with pytest.raises(ValueError, match=r"x_train contains 2 NaN or infinite value\(s\)"):
        fit(params, (bad, y_train, x_valid, y_valid), *args, verbose=False)
    with pytest.raises(ValueError, match="x_valid is empty"):
        fit(params, (x_train, y_train, x_valid[:0], y_valid[:0]), *args, verbose=False)
    with pytest.raises(ValueError, match="x_train has 64 rows but y_train has 63"):
        fit(params, (x_train, y_train[:63], x_valid, y_valid), *args, verbose=False)
    with pytest.raises(ValueError, match=r"data must be \(x_train, y_train, x_valid, y_valid\)"):
        fit(params, (x_train, y_train), *args, verbose=False)
    with pytest.raises(TypeError, match="x_train has dtype torch.int64"):
        fit(params, (x_train.long(), y_train, x_valid, y_valid), *args, verbose=False)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 9\] for 10 classes, got labels from 10 to 10"):
        fit(params, (x_train, torch.full_like(y_train, 10), x_valid, y_valid), *args, verbose=False)


def counting(fwd_bwd):
    "fwd_bwd that counts its calls in .calls."
    def run(xb, yb, *params):
        run.calls += 1
        return fwd_bwd(xb, yb, *params)
    run.calls = 0
    return run


def regression_data(n=64, n_in=20, n_valid=16):
    g = gen(3)
    return (torch.randn(n, n_in, generator=g), torch.randint(0, 10, (n,), generator=g).float(),
            torch.randn(n_valid, n_in, generator=g), torch.randint(0, 10, (n_valid,), generator=g).float())


def spoil(t, value, where=(0,)):
    t = t.clone(); t[where] = value
    return t


@pytest.mark.parametrize("change,error,match", [
    # before: only x was checked for NaN; NaN or Inf elsewhere trained on to a nan loss, and an x_valid that does not
    # fit the model, or a y of the wrong shape, raised only after a whole epoch of steps, with the params already moved
    (lambda d: (d[0], spoil(d[1], float("nan")), *d[2:]), ValueError, r"fit: y_train contains 1 NaN or infinite value\(s\)"),
    (lambda d: (spoil(d[0], float("inf"), (0, 0)), *d[1:]), ValueError, r"fit: x_train contains 1 NaN or infinite value\(s\)"),
    (lambda d: (*d[:2], spoil(d[2], -float("inf"), (1, 2)), d[3]), ValueError, r"fit: x_valid contains 1 NaN or infinite"),
    (lambda d: (*d[:3], spoil(d[3], float("nan"))), ValueError, r"fit: y_valid contains 1 NaN or infinite"),
    (lambda d: (*d[:2], d[2][:, :19], d[3]), ValueError, "fit: x_train has 20 features per row but x_valid has 19"),
    (lambda d: (*d[:2], d[2].double(), d[3]), TypeError, "fit: all tensors must have the same dtype, got x_train: torch.float32, x_valid: torch.float64"),
    (lambda d: (*d[:3], d[3].double()), TypeError, "fit: all tensors must have the same dtype, got y_train: torch.float32, y_valid: torch.float64"),
    (lambda d: (*d[:3], d[3][:, None]), ValueError, r"fit: y_valid must have 1 dimension \(one target per row\), got shape \(16, 1\)"),
    (lambda d: (d[0], d[1][:, None], *d[2:]), ValueError, r"fit: y_train must have 1 dimension \(one target per row\), got shape \(64, 1\)"),
    (lambda d: (d[0], d[1].tolist(), *d[2:]), TypeError, "fit: y_train must be a torch.Tensor, got list"),
], ids=["nan y_train", "inf x_train", "inf x_valid", "nan y_valid", "x_valid 19 features", "x_valid float64",
        "y_valid float64", "y_valid (N, 1)", "y_train (N, 1)", "y_train a list"])
def test_fit_checks_all_four_tensors_before_any_step(change, error, match):
    from backprop.grads import forward_and_backward
    params = init_params(20, 8, generator=gen())
    before = [p.clone() for p in params]
    fwd_bwd = counting(forward_and_backward)
    with pytest.raises(error, match=match):
        fit(params, change(regression_data()), fwd_bwd, epochs=1, verbose=False)
    assert fwd_bwd.calls == 0
    assert all(torch.equal(p, b) for p, b in zip(params, before, strict=True))


def test_fit_params_must_be_tensors():
    with pytest.raises(TypeError, match="fit: params must be a list or tuple of tensors, as init_params returns, got dict"):
        fit({"w1": torch.ones(2)}, regression_data(), verbose=False)


def test_fit_clears_every_gradient_so_a_forgotten_one_is_an_error_not_a_stale_step():
    # before: a fwd_bwd that stopped setting b2.g after the first step trained on, reusing b2.g of step 1
    from backprop.grads import forward_and_backward
    def forgets_b2(xb, yb, *params):
        forgets_b2.calls += 1
        b2_g = params[3].g
        loss = forward_and_backward(xb, yb, *params)
        if forgets_b2.calls > 1: params[3].g = b2_g           # what b2.g was before this call: None, since fit cleared it
        return loss
    forgets_b2.calls = 0
    with pytest.raises(RuntimeError, match=r"sgd_step: parameter 3 has no .g; run the backward pass .* fit clears them before each call"):
        fit(init_params(20, 8, generator=gen()), regression_data(), forgets_b2, epochs=1, bs=16, verbose=False)
    assert forgets_b2.calls == 2


@pytest.mark.parametrize("setting,match", [(dict(bs=0), "fit: bs must be a positive int, got 0"),
                                           (dict(epochs=0), "fit: epochs must be a positive int, got 0"),
                                           (dict(lr=float("nan")), "fit: lr must be a positive finite number, got nan"),
                                           (dict(max_shift=-1), "fit: max_shift must be an int >= 0, got -1")])
def test_fit_bad_settings_change_nothing(setting, match):
    params = init_params(784, 8, 10, generator=gen())
    before = [p.clone() for p in params]
    with pytest.raises(ValueError, match=match):
        fit(params, small_data(n=64), classifier_forward_and_backward, evaluate_classifier, verbose=False, **setting)
    assert all(torch.equal(p, b) for p, b in zip(params, before, strict=True))


def test_plot_loss_bad_history():
    from matplotlib.figure import Figure
    ax = Figure().subplots()
    with pytest.raises(ValueError, match=r"plot_loss: hist lacks the key\(s\) \['step_loss', 'epoch'\]"):
        plot_loss({}, ax=ax)
    with pytest.raises(ValueError, match="plot_loss: hist has no epochs"):
        plot_loss(dict(step_loss=[], epoch=[]), ax=ax)
    with pytest.raises(TypeError, match="plot_loss: hist must be the dict that fit returns, got Axes"):
        plot_loss(ax, {})                                   # arguments swapped


# ---- the command line --------------------------------------------------------------------------

def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "backprop.cli", *args], cwd=root,
                          capture_output=True, text=True, timeout=300)


def test_cli_prints_one_line_per_epoch_then_the_final_accuracy():
    res = run_cli("--epochs", "2", "--hidden", "32")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 4 and lines[0].split()[0] == "epoch"
    assert [int(l.split()[0]) for l in lines[1:3]] == [1, 2]
    assert lines[-1].startswith("final validation accuracy: ") and "\r" not in res.stdout


@pytest.mark.parametrize("argv,match", [(["--epochs", "two"], "invalid int value"),
                                        (["--dtype", "float16"], "invalid choice: 'float16'")])
def test_cli_rejects_a_bad_option(capsys, argv, match):
    "argparse's refusal (exit status 2), in this process: the same as `python -m backprop.cli` gives, without a new Python."
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and match in capsys.readouterr().err


def test_cli_trains_in_float64_when_asked():
    "--dtype float64 trains the weights and the data in float64: the run chapter 13's workers match to the last digit."
    from backprop.losses import train_classifier
    n = torch.get_num_threads()
    try: hist = main(["--epochs", "1", "--hidden", "16", "--dtype", "float64"])
    finally: torch.set_num_threads(n)
    params, ref = train_classifier(epochs=1, hidden=16, verbose=False, dtype=torch.float64)
    assert {p.dtype for p in params} == {torch.float64}
    drop = lambda row: {k: v for k, v in row.items() if k != "seconds"}
    assert drop(hist["epoch"][-1]) == drop(ref["epoch"][-1])


@pytest.mark.parametrize("argv,match", [(["--threads", "0"], "main: --threads must be a positive int, got 0"),
                                        (["--epochs", "0"], "fit: epochs must be a positive int, got 0"),
                                        (["--bs", "0"], "fit: bs must be a positive int, got 0")])
def test_cli_rejects_a_zero_setting_before_training(argv, match):
    n = torch.get_num_threads()
    try:
        with pytest.raises(ValueError, match=match):
            main(argv)
    finally: torch.set_num_threads(n)


def test_importing_the_command_line_does_not_train(fresh_import):
    assert fresh_import("backprop.cli")["stdout"] == ""


def test_default_cli_reaches_95_percent_validation_accuracy():
    "The target of the course's issue 5: the default `python -m backprop.cli`, >= 95 % on the held-out 1,000."
    res = run_cli()
    assert res.returncode == 0, res.stderr
    acc = float(res.stdout.splitlines()[-1].split()[3])
    assert acc >= 0.95, res.stdout
