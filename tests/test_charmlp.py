"""backprop.charmlp (chapter 14): the 26 hand-written gradients against autograd in float64 on random sizes, the
comparison table on planted mistakes, the fused forms, training by hand against autograd, inference with fixed
statistics, and the names as tokens (backprop.data). Bad input is swept in tests/test_bad_input_sweep.py."""
import pytest
import torch
from torch.testing import assert_close

from backprop.charmlp import (BACKWARD, BACKWARD_ORDER, batchnorm_backward_fused, charmlp_autograd, charmlp_backward,
                              charmlp_forward, charmlp_logits, init_charmlp, train_charmlp)
from backprop.check import GradTable, compare_grads
from backprop.data import VOCAB, build_dataset, split_names
from backprop.losses import cross_entropy_grad

F64 = dict(rtol=1e-10, atol=1e-12)


def case(N, d, H, block_size, seed=0, dtype=torch.float64):
    "Random parameters (none 0 or 1) and a batch of N contexts of `block_size` tokens, with repeated tokens."
    gen = torch.Generator().manual_seed(seed)
    params = init_charmlp(d=d, H=H, block_size=block_size, generator=gen, dtype=dtype)
    xb = torch.randint(0, len(VOCAB), (N, block_size), generator=gen)
    xb[-1] = xb[0]                                               # a token used twice: the scatter-add must add
    return params, xb, torch.randint(0, len(VOCAB), (N,), generator=gen)


SIZES = [dict(N=2, d=1, H=1, block_size=1), dict(N=2, d=3, H=4, block_size=3), dict(N=5, d=1, H=1, block_size=3),
         dict(N=7, d=2, H=1, block_size=1), dict(N=32, d=10, H=64, block_size=3), dict(N=3, d=4, H=9, block_size=2)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: "-".join(f"{k}{v}" for k, v in s.items()))
def test_every_gradient_equals_autograd_in_float64(size):
    params, xb, yb = case(**size)
    cache = charmlp_forward(xb, yb, **params)
    grads = charmlp_backward(cache)
    loss, ref = charmlp_autograd(params, xb, yb)
    assert list(grads) == list(ref) == BACKWARD_ORDER and len(grads) == 26
    assert_close(cache["loss"], loss, **F64)
    for name in BACKWARD_ORDER:
        assert_close(grads[name], ref[name], **F64, msg=lambda m: f"{name}: {m}")
    table = compare_grads(grads, ref)
    assert table.ok and [r.status for r in table.rows].count("wrong") == 0


def test_every_parameter_gradient_equals_central_differences():
    "A reference that shares no code with autograd: the loss's forward only (chapter 7's numerical_grad)."
    from backprop.check import numerical_grad
    params, xb, yb = case(N=4, d=2, H=3, block_size=2, seed=3)
    grads = charmlp_backward(charmlp_forward(xb, yb, **params))
    checked = 0
    for name, p in params.items():
        def loss(v): return charmlp_forward(xb, yb, **{**params, name: v})["loss"]
        assert_close(grads["d" + name], numerical_grad(loss, p), rtol=1e-6, atol=1e-8, msg=lambda m: f"d{name}: {m}")
        checked += 1
    assert checked == 7


def test_float32_gradients_are_close_and_the_first_rows_exact():
    params, xb, yb = case(N=32, d=10, H=64, block_size=3, dtype=torch.float32)
    table = compare_grads(charmlp_backward(charmlp_forward(xb, yb, **params)), charmlp_autograd(params, xb, yb)[1])
    assert table.ok
    assert all(r.status == "exact" for r in table.rows[:11])   # dlogp .. db2: the same operations as autograd's


def test_the_loss_is_torchs_and_batch_norm_is_torchs():
    params, xb, yb = case(N=6, d=3, H=5, block_size=3)
    cache = charmlp_forward(xb, yb, **params)
    bn = torch.nn.functional.batch_norm(cache["lin1"], None, None, params["bn_w"], params["bn_b"], training=True, eps=1e-5)
    assert_close(cache["bn"], bn, **F64)
    assert_close(cache["loss"], torch.nn.functional.cross_entropy(cache["logits"], yb), **F64)


def planted(grads, name, fn):
    "A copy of `grads` with `fn` applied to one gradient (None: leave it out)."
    g = dict(grads)
    if fn is None: del g[name]
    else: g[name] = fn(g[name])
    return g


@pytest.mark.parametrize("name, mistake, expected", [
    ("ddiff2", lambda g: g * 32, "off by a constant factor 32: yours = 32 × expected (32 = diff2.shape[0])"),
    ("dw2", lambda g: g.t(), "transposed"),
    ("dbn", lambda g: -g, "wrong sign"),
    ("db2", None, "missing: no gradient named 'db2'"),
    ("dinv", lambda g: g.squeeze(1), "wrong shape"),
    ("dexps", lambda g: g.float(), "wrong dtype: torch.float32, expected torch.float64"),
    ("dlogits", lambda g: g.tolist(), "not a floating-point tensor: list"),
    ("demb_w", lambda g: g.long(), "not a floating-point tensor: torch.int64"),
    ("dh", lambda g: g + 1e-3 * torch.randn_like(g), "wrong values"),
])
def test_the_table_names_planted_mistakes(name, mistake, expected):
    params, xb, yb = case(N=32, d=3, H=8, block_size=3, seed=1)
    grads = charmlp_backward(charmlp_forward(xb, yb, **params))
    ref = charmlp_autograd(params, xb, yb)[1]
    table = compare_grads(planted(grads, name, mistake), ref)
    row = next(r for r in table.rows if r.name == name)
    assert not table.ok and table.first_wrong == name and row.status == "wrong"
    assert row.diagnosis.startswith(expected), row.diagnosis
    assert sum(r.status == "wrong" for r in table.rows) == 1     # one planted mistake, one wrong row
    assert expected.split(":")[0] in str(table)


def test_a_slipped_block_is_the_first_wrong_row_and_the_rows_below_follow():
    params, xb, yb = case(N=16, d=2, H=6, block_size=3, seed=2)
    cache = charmlp_forward(xb, yb, **params)

    def my_mean_backward(dvar, diff2, rstd, dxhat, diff):
        ddiff2 = torch.ones_like(diff2) * dvar               # the 1/N forgotten
        ddiff = rstd * dxhat + 2 * diff * ddiff2
        dmu = -ddiff.sum(0, keepdim=True)
        dlin1 = ddiff + dmu / len(diff)
        return locals()

    table = compare_grads(charmlp_backward(cache, [*BACKWARD[:3], my_mean_backward, BACKWARD[3]]), charmlp_autograd(params, xb, yb)[1])
    status = {r.name: r.status for r in table.rows}
    assert table.first_wrong == "ddiff2" and "16 = diff2.shape[0]" in table.rows[17].diagnosis
    assert all(status[n] != "wrong" for n in BACKWARD_ORDER[:17])
    assert [n for n in BACKWARD_ORDER[17:] if status[n] != "wrong"] == ["dmu", "db1"]   # right by the algebra
    assert "the first wrong row is ddiff2" in str(table)


def test_the_table_lists_names_the_reference_lacks_and_refuses_truthiness():
    params, xb, yb = case(N=4, d=2, H=3, block_size=3)
    grads = charmlp_backward(charmlp_forward(xb, yb, **params))
    ref = charmlp_autograd(params, xb, yb)[1]
    grads["dlogprobs"] = grads.pop("dlogp")
    table = compare_grads(grads, ref)
    assert table.extra == ["dlogprobs"] and table.first_wrong == "dlogp" and "dlogprobs" in str(table)
    assert isinstance(table, GradTable)
    with pytest.raises(TypeError, match="test table.ok"):
        bool(table)


@pytest.mark.parametrize("size", SIZES[:4], ids=lambda s: "-".join(f"{k}{v}" for k, v in s.items()))
def test_the_fused_forms_equal_the_steps(size):
    params, xb, yb = case(**size)
    cache = charmlp_forward(xb, yb, **params)
    grads = charmlp_backward(cache)
    assert_close(batchnorm_backward_fused(grads["dbn"], cache["xhat"], cache["rstd"], params["bn_w"]), grads["dlin1"], **F64)
    logits = cache["logits"]
    cross_entropy_grad(logits, yb)                           # chapter 9's fused cross-entropy backward
    assert_close(logits.g, grads["dlogits"], **F64)


def test_training_by_hand_follows_autograd():
    params, _, _ = case(N=2, d=3, H=8, block_size=3, seed=4)
    X, Y = build_dataset(["emma", "olivia", "ava", "isabella", "sophia", "mia"])
    ours = train_charmlp({k: p.clone() for k, p in params.items()}, X, Y, steps=30, bs=8)
    theirs = train_charmlp({k: p.clone() for k, p in params.items()}, X, Y, steps=30, bs=8, by_hand=False)
    assert ours.shape == (30,) and ours[-5:].mean() < ours[:5].mean()   # it learns
    assert_close(ours, theirs, rtol=1e-10, atol=0)


def test_inference_with_the_statistics_of_a_set_is_the_training_forward_on_it_and_takes_one_context():
    params, xb, yb = case(N=12, d=2, H=5, block_size=3, seed=5)
    cache = charmlp_forward(xb, yb, **params)
    stats = dict(mu=cache["mu"], var=cache["var"])
    assert_close(charmlp_logits(xb, **stats, **params), cache["logits"], **F64)
    one = charmlp_logits(xb[:1], **stats, **params)
    assert one.shape == (1, len(VOCAB)) and torch.isfinite(one).all()
    assert_close(one, cache["logits"][:1], **F64)


def test_build_dataset_on_a_few_names():
    X, Y = build_dataset(["ab", "c"], block_size=2)
    assert X.tolist() == [[0, 0], [0, 1], [1, 2], [0, 0], [0, 3]] and Y.tolist() == [1, 2, 0, 3, 0]
    assert X.dtype == Y.dtype == torch.int64
    X, Y = build_dataset(["zz"], block_size=4)
    assert X.tolist() == [[0, 0, 0, 0], [0, 0, 0, 26], [0, 0, 26, 26]] and Y.tolist() == [26, 26, 0]
    assert "".join(VOCAB[i] for i in build_dataset(["emma"])[1].tolist()) == "emma."


def test_split_names_splits_names_seeded_and_whole():
    names = [f"{a}{b}" for a in "abcdefghij" for b in "xyz"]      # 30 names
    train, valid = split_names(names, valid_frac=0.2, seed=7)
    assert len(valid) == 6 and sorted(train + valid) == sorted(names)
    assert (train, valid) == split_names(names, valid_frac=0.2, seed=7)
    assert valid != split_names(names, valid_frac=0.2, seed=8)[1]


def test_each_exported_function_keeps_its_guards_to_a_line():
    "The chapter shows the math; the checks live in appendix 90, one call at the top of each function."
    import inspect, re
    import backprop.charmlp as charmlp
    guard = re.compile(r"(\braise\b|isinstance\(|\b_?check_\w*\(|\b_check\w*\()")   # readability.py's guard lines
    functions = [getattr(charmlp, n) for n in charmlp.__all__ if inspect.isfunction(getattr(charmlp, n))]
    assert len(functions) == 11
    for fn in functions:
        lines = [l for l in inspect.getsource(fn).splitlines()[1:] if l.strip() and not l.lstrip().startswith("#")]
        guards = [l for l in lines if guard.search(re.sub(r'"[^"]*"', '""', l))]
        assert len(guards) == 1 and "check_" in guards[0] and "appendix 90" in guards[0], (fn.__name__, guards)
