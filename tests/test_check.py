"""backprop.check: check_grads passes correct gradients and names each classic mistake (one test per diagnosis)."""
import pytest
import torch

from backprop.check import FD_TOL, TOLERANCES, check_grads, diagnose, rel_error
from backprop.forward import init_params, lin, mse, relu
from backprop.grads import forward_and_backward, lin_grad, relu_grad

f64 = dict(dtype=torch.float64)


def lin_case(N=8, n_in=5, n_out=3, dtype=torch.float64, seed=0):
    "inp, w, b, the upstream G, and the correct gradients of sum(G * lin(inp, w, b))."
    gen = torch.Generator().manual_seed(seed)
    inp, w, b = (torch.randn(*s, generator=gen, dtype=dtype) for s in [(N, n_in), (n_in, n_out), (n_out,)])
    G = torch.randn(N, n_out, generator=gen, dtype=dtype)
    out = lin(inp, w, b)
    out.g = G
    lin_grad(inp, out, w, b)
    def loss(inp, w, b): return (lin(inp, w, b) * G).sum()
    return loss, [inp, w, b], [inp.g, w.g, b.g], G


def check_one_wrong(grads_change, name, startswith, **case):
    "Replace the gradient `name` by grads_change(correct, G); the report must fail and diagnose it."
    loss, inputs, grads, G = lin_case(**case)
    i = ["inp", "w", "b"].index(name)
    grads[i] = grads_change(grads[i], G, inputs)
    report = check_grads(loss, inputs, grads)
    assert not report.ok
    text = report.diagnoses[name]
    assert text is not None and text.startswith(startswith), text
    others = [n for n in ["inp", "w", "b"] if n != name]
    assert all(report.diagnoses[n] is None for n in others), report
    assert startswith in str(report)
    return text


def test_correct_gradients_pass_both_references_float64():
    loss, inputs, grads, _ = lin_case()
    report = check_grads(loss, inputs, grads)
    assert report.ok
    assert [(r.name, r.reference, r.ok) for r in report.rows] == [
        (n, ref, True) for n in ("inp", "w", "b") for ref in ("autograd", "central diff")]
    assert all(d is None for d in report.diagnoses.values())
    table = str(report)
    for word in ("max abs err", "rel err", "tol", "verdict", "1e-10", "1e-06"):
        assert word in table


def test_float32_compares_with_autograd_and_skips_finite_differences():
    loss, inputs, grads, _ = lin_case(N=200, n_in=30, dtype=torch.float32)
    report = check_grads(loss, inputs, grads)
    assert report.ok
    assert [r.ok for r in report.rows if r.reference == "autograd"] == [True] * 3
    assert all(r.ok is None and "need float64" in r.note for r in report.rows if r.reference == "central diff")
    assert {r.tol for r in report.rows if r.reference == "autograd"} == {TOLERANCES[torch.float32][0]}


def test_the_whole_mlp_passes():
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(6, 4, generator=gen, **f64), torch.randn(6, generator=gen, **f64)
    params = init_params(4, 3, generator=gen, dtype=torch.float64)
    forward_and_backward(x, y, *params)
    def loss(inp, w1, b1, w2, b2): return mse(lin(relu(lin(inp, w1, b1)), w2, b2), y)
    report = check_grads(loss, [x, *params], [t.g for t in (x, *params)])
    assert report.ok and len(report.rows) == 10


def test_missing_transpose_in_w_g_is_diagnosed_transposed():
    text = check_one_wrong(lambda g, G, ins: G.t() @ ins[0], "w", "transposed")
    assert "got shape (3, 5), expected (5, 3)" in text


def test_a_square_transposed_gradient_is_diagnosed_transposed():
    check_one_wrong(lambda g, G, ins: g.t(), "w", "transposed", n_in=4, n_out=4)


def test_wrong_sign():
    check_one_wrong(lambda g, G, ins: -g, "inp", "wrong sign")


@pytest.mark.parametrize("factor,name", [(2.0, "2"), (0.5, "1/2"), (8.0, "8"), (1 / 8, "1/8"), (-2.0, "2")])
def test_constant_factor_is_named(factor, name):
    text = check_one_wrong(lambda g, G, ins: factor * g, "w", "wrong sign and off" if factor < 0 else "off by a constant factor")
    assert f"factor {name}:" in text


def test_missing_one_over_n_names_the_dimension():
    text = check_one_wrong(lambda g, G, ins: 8 * g, "b", "off by a constant factor 8")
    assert "8 = inp.shape[0]" in text


def test_sum_over_the_wrong_axis_with_a_different_shape():
    check_one_wrong(lambda g, G, ins: G.sum(1), "b", "summed over the wrong axis")


def test_sum_over_the_wrong_axis_with_the_same_shape():
    # N == n_out: G.sum(1) has the right shape (4,) but the wrong entries
    check_one_wrong(lambda g, G, ins: G.sum(1), "b", "summed over the wrong axis", N=4, n_out=4)


def test_missing_gradient_none_and_all_zeros():
    check_one_wrong(lambda g, G, ins: None, "inp", "missing: no gradient given")
    check_one_wrong(lambda g, G, ins: torch.zeros_like(g), "w", "missing: all zeros")


def test_wrong_shape_with_right_values():
    text = check_one_wrong(lambda g, G, ins: g.unsqueeze(-1), "b", "wrong shape")
    assert "the values are right" in text


def test_wrong_shape_otherwise():
    text = check_one_wrong(lambda g, G, ins: torch.ones(2, 2, **f64), "b", "wrong shape")
    assert "got shape (2, 2), expected (3,)" in text


def test_wrong_dtype():
    check_one_wrong(lambda g, G, ins: g.float(), "w", "wrong dtype: torch.float32, expected torch.float64")


def test_a_few_wrong_entries_are_counted_and_located():
    def change(g, G, ins):
        g = g.clone(); g[1, 2] += 1.0
        return g
    text = check_one_wrong(change, "w", "wrong values in 1 of 15 entries, first at [1, 2]")
    assert "yours" in text and "expected" in text


def test_relu_mask_at_exact_zero_is_caught_by_autograd():
    z = torch.tensor([[-1.0, 0.0, 2.0, 0.0]], **f64)
    a = relu(z); a.g = torch.ones(1, 4, **f64)
    wrong = (z >= 0).to(z.dtype) * a.g                   # the >= mask: passes the gradient at exactly 0
    def loss(z): return relu(z).sum()
    report = check_grads(loss, [z], [wrong])
    assert not report.ok
    assert report.rows[0].reference == "autograd" and report.rows[0].ok is False
    assert report.diagnoses["z"].startswith("wrong values in 2 of 4 entries")


def test_kinks_are_skipped_for_finite_differences_but_not_for_autograd():
    z = torch.tensor([[-1.0, 0.0, 3e-7, 2.0]], **f64)
    a = relu(z); a.g = torch.ones(1, 4, **f64)
    relu_grad(z, a)
    report = check_grads(lambda z: relu(z).sum(), [z], [z.g])
    assert report.ok
    assert report.rows[1].note.startswith("2 entries skipped")


def test_large_inputs_are_sampled_for_finite_differences():
    loss, inputs, grads, _ = lin_case(N=30, n_in=40, n_out=2)   # inp has 1200 entries
    report = check_grads(loss, inputs, grads, fd_max=100)
    assert report.ok
    assert report.rows[1].note == "100 random entries of 1200"
    grads[0] = grads[0].clone(); grads[0][::2] *= -1          # half the rows wrong: a sample of 100 finds it
    assert not check_grads(loss, inputs, grads, fd_max=100).ok


def test_finite_differences_alone_when_autograd_cannot_differentiate():
    x = torch.tensor([1.0, -2.0, 0.5], **f64)
    def loss(x): return torch.tensor(float((x.detach() ** 2).sum()), **f64)   # through a Python float: no autograd
    assert check_grads(loss, [x], [2 * x]).ok
    report = check_grads(loss, [x], [x])
    assert not report.ok and report.diagnoses["x"].startswith("off by a constant factor 1/2")
    assert report.rows[0].ok is None and "not differentiable" in report.rows[0].note


def test_report_refuses_to_be_a_truth_value():
    loss, inputs, grads, _ = lin_case()
    report = check_grads(loss, inputs, grads)
    with pytest.raises(TypeError, match="test report.ok"):
        assert report


def test_names_fall_back_to_positions():
    loss, inputs, grads, _ = lin_case()
    report = check_grads(lambda *ts: loss(*ts), inputs, grads)
    assert [r.name for r in report.rows][::2] == ["inputs[0]", "inputs[1]", "inputs[2]"]


def test_rel_error_floor_and_symmetry():
    rtol, atol = FD_TOL
    a, b = torch.tensor([1.0, 1e-12, 0.0], **f64), torch.tensor([1.0 + 1e-9, 2e-12, 0.0], **f64)
    r = rel_error(a, b, rtol, atol)
    assert torch.equal(r, rel_error(b, a, rtol, atol))
    assert r[0] < 1e-9 and r[1] == pytest.approx(1e-12 / 1e-2) and r[2] == 0


def test_diagnose_returns_none_for_a_match_and_text_otherwise():
    ref = torch.randn(3, 2, **f64)
    assert diagnose(ref.clone(), ref, *TOLERANCES[torch.float64]) is None
    assert diagnose(ref * 3, ref, *TOLERANCES[torch.float64]).startswith("off by a constant factor 3")


@pytest.mark.parametrize("call,err,msg", [
    (lambda l, i, g: check_grads([l], i, g), TypeError, "loss_fn must be a function, got list"),
    (lambda l, i, g: check_grads(l, i[0], g), TypeError, "inputs must be a list or tuple, got Tensor"),
    (lambda l, i, g: check_grads(l, i, g[:2]), ValueError, r"got 2 gradient\(s\) for 3 input\(s\)"),
    (lambda l, i, g: check_grads(l, [], []), ValueError, "inputs is empty"),
    (lambda l, i, g: check_grads(l, [i[0].long(), *i[1:]], g), TypeError, r"inputs\[0\] has dtype torch.int64"),
    (lambda l, i, g: check_grads(l, i, [g[0], "w.g", g[2]]), TypeError, r"grads\[1\] must be a torch.Tensor or None, got str"),
    (lambda l, i, g: check_grads(lambda a, b, c: lin(a, b, c), i, g), ValueError, r"scalar tensor \(shape \(\)\), got shape \(8, 3\)"),
    (lambda l, i, g: check_grads(lambda a, b, c: 1.0, i, g), ValueError, "scalar tensor .* got float"),
    (lambda l, i, g: check_grads(lambda x: torch.tensor(float(x.detach().sum())), [i[0].float()], [g[0].float()]),
     ValueError, "nothing to compare with"),
])
def test_bad_arguments_are_named(call, err, msg):
    loss, inputs, grads, _ = lin_case()
    with pytest.raises(err, match=msg):
        call(loss, inputs, grads)


def test_missing_transpose_on_a_square_w_in_inp_g_is_diagnosed_transposed():
    # inp.g = G @ w instead of G @ w.t(): the right shape when w is square, and the gradient for the loss with w.t()
    text = check_one_wrong(lambda g, G, ins: G @ ins[1], "inp", "transposed", n_in=3, n_out=3)
    assert "w.t() in place of w" in text


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precisions_use_their_own_tolerance(dtype):
    loss, inputs, grads, _ = lin_case(N=50, n_in=20, n_out=4, dtype=dtype)
    report = check_grads(loss, inputs, grads)
    assert report.ok and report.rows[0].tol == TOLERANCES[dtype][0]
    grads[1] = 2 * grads[1]
    assert check_grads(loss, inputs, grads).diagnoses["w"].startswith("off by a constant factor 2")


def classifier_case(dtype, N, n_in, h, seed):
    "Chapter 9's classifier on random data in `dtype`: the loss of (w1, b1, w2, b2), the parameters, their .g."
    from backprop.losses import classifier_forward_and_backward, cross_entropy
    gen = torch.Generator().manual_seed(seed)
    x, labels = torch.randn(N, n_in, generator=gen).to(dtype), torch.randint(0, 10, (N,), generator=gen)
    params = [p.to(dtype) for p in init_params(n_in, h, 10, generator=gen)]
    classifier_forward_and_backward(x, labels, *params)
    def loss(w1, b1, w2, b2): return cross_entropy(lin(relu(lin(x, w1, b1)), w2, b2), labels)
    return loss, params, [p.g for p in params]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_correct_half_precision_gradients_pass_where_terms_cancel_and_bugs_are_still_named(dtype):
    # the classifier's gradients hold small entries where larger terms cancel: with an absolute floor of 1e-5 a correct
    # gradient failed as "off by a constant factor 1"; the floor now scales with the gradient (appendix 93)
    checked = 0
    for seed in range(5):
        for N, n_in, h in ((8, 5, 4), (64, 50, 30)):
            loss, params, grads = classifier_case(dtype, N, n_in, h, seed)
            report = check_grads(loss, params, grads)
            assert report.ok, report
            wrong = check_grads(loss, params, [grads[0], grads[1], -grads[2], grads[3] / 2])
            assert wrong.diagnoses["w2"].startswith("wrong sign") and wrong.diagnoses["b2"].startswith("off by a constant factor 1/2")
            checked += 1
    assert checked == 10


def test_a_factor_that_rounds_to_1_is_never_named_a_factor():
    ref = torch.linspace(1, 2, 12, dtype=torch.float64).reshape(4, 3)
    for c in (0.9997, 1.0003):
        text = diagnose(c * ref, ref, *TOLERANCES[torch.float64])
        assert text.startswith("wrong values in 12 of 12 entries"), text
    assert diagnose(-0.9997 * ref, ref, *TOLERANCES[torch.float64]) == "wrong sign: yours = -1 × expected"


def doubles_its_input(a):
    with torch.no_grad():
        a.mul_(2)
    return (a * a).sum()


def test_a_loss_that_changes_its_input_in_place_is_refused_and_the_callers_tensor_is_untouched():
    x = torch.randn(4, **f64)
    before = x.clone()
    with pytest.raises(ValueError, match=r"loss_fn changed inputs\[0\] in place"):
        check_grads(doubles_its_input, [x], [4 * x])
    assert torch.equal(x, before) and x._version == 0


def test_a_loss_that_changes_an_input_through_data_later_is_caught_at_the_end():
    calls = [0]
    def sneaky(a, b):
        calls[0] += 1
        if calls[0] == 3: b.data.add_(1.)                # not on the first call, and not counted by the version
        return (a * b).sum()
    a, b = torch.randn(3, **f64), torch.randn(3, **f64)
    b_before = b.clone()
    with pytest.raises(ValueError, match=r"loss_fn changed its copy of inputs\[1\] in place \(through \.data"):
        check_grads(sneaky, [a, b], [b.clone(), a.clone()])
    assert torch.equal(b, b_before)


def test_fd_max_of_one_samples_one_entry():
    loss, inputs, grads, _ = lin_case()
    report = check_grads(loss, inputs, grads, fd_max=1)
    assert report.ok and report.rows[1].note == "1 random entries of 40"


def test_check_grads_leaves_inputs_and_grads_untouched():
    loss, inputs, grads, _ = lin_case()
    before = [t.clone() for t in inputs + grads]
    check_grads(loss, inputs, grads)
    for a, b in zip(inputs + grads, before, strict=True):
        assert torch.equal(a, b) and not a.requires_grad


# ---- central differences are an independent reference (they also check autograd) -----------------

class SlippedLin(torch.autograd.Function):
    "lin with a wrong backward: dJ/dX = dJ/dZ @ w (no .t()), and, if `extra`, 1 added to dJ/dX[0, 0]."
    extra = 0.0
    @staticmethod
    def forward(ctx, inp, w, b):
        ctx.save_for_backward(inp, w)
        return lin(inp, w, b)
    @classmethod
    def backward(cls, ctx, g):
        inp, w = ctx.saved_tensors
        gi = (g @ w.t()).clone() if cls.extra else g @ w
        gi[0, 0] += cls.extra
        return gi, inp.t() @ g, g.sum(0)


class OneEntryOff(SlippedLin):
    extra = 1.0


def slipped_case(fn):
    gen = torch.Generator().manual_seed(3)
    inp, w, b, G = (torch.randn(*s, generator=gen, **f64) for s in [(4, 3), (3, 3), (3,), (4, 3)])
    def loss(inp, w, b): return (fn.apply(inp, w, b) * G).sum()
    with torch.enable_grad():
        leaves = [t.clone().requires_grad_() for t in (inp, w, b)]
        grads = torch.autograd.grad(loss(*leaves), leaves)        # the wrong backward's gradients
    return loss, [inp, w, b], list(grads), G


@pytest.mark.parametrize("fn,wrong", [(SlippedLin, 12), (OneEntryOff, 1)])
def test_a_function_with_a_wrong_backward_is_caught_by_central_differences(fn, wrong):
    # before: the entries where autograd and central differences disagreed were skipped as kinks, so a
    # gradient that repeats the wrong backward passed (or, with every entry skipped, check_grads crashed)
    loss, inputs, grads, _ = slipped_case(fn)
    report = check_grads(loss, inputs, grads)                      # ours = autograd = the same wrong formula
    assert not report.ok
    inp_ag, inp_fd = report.rows[0], report.rows[1]
    assert inp_ag.ok is False and f"autograd disagrees with central differences in {wrong} of 12 entries" in inp_ag.note
    assert inp_fd.ok is False
    assert report.diagnoses["inp"].startswith("autograd disagrees with central differences")
    assert "is loss_fn's own backward wrong?" in report.diagnoses["inp"] and "is loss_fn's own backward wrong?" in str(report)
    assert all(r.ok for r in report.rows[2:]) and report.diagnoses["w"] is None and report.diagnoses["b"] is None


def test_a_right_gradient_against_a_wrong_backward_fails_and_says_yours_agrees():
    loss, inputs, grads, G = slipped_case(SlippedLin)
    grads[0] = G @ inputs[1].t()                                   # the right dJ/dX
    report = check_grads(loss, inputs, grads)
    assert not report.ok and report.rows[1].ok is True
    assert report.diagnoses["inp"].endswith("Yours agrees with central differences.")


def test_kinks_are_found_by_the_finite_differences_alone_without_autograd():
    # a loss autograd cannot differentiate: before, no entry was skipped, and the exact zero failed (1/2 vs 0)
    z = torch.tensor([[-1.0, 0.0, 3e-7, 2.0]], **f64)
    def loss(z): return torch.tensor(float(relu(z.detach()).sum()), **f64)
    report = check_grads(loss, [z], [(z > 0).to(z.dtype)])
    assert report.ok and report.rows[0].ok is None
    assert report.rows[1].ok is True and report.rows[1].note.startswith("2 entries skipped")


def test_an_input_with_every_entry_at_a_kink_is_not_passed_vacuously():
    # before: err.max() of an empty tensor raised RuntimeError
    z, G = torch.zeros(1, 3, **f64), torch.ones(1, 3, **f64)
    a = relu(z); a.g = G
    relu_grad(z, a)
    report = check_grads(lambda z: (relu(z) * G).sum(), [z], [z.g])
    fd = report.rows[1]
    assert fd.ok is None and fd.ok is not True and "nothing compared: all 3 entries are within h of a kink" in fd.note
    assert "skipped (nothing compared" in str(report)
    assert report.rows[0].ok is True                               # autograd still compared every entry
    with pytest.raises(ValueError, match="central differences compared no entry"):
        check_grads(lambda z: torch.tensor(float(relu(z.detach()).sum()), **f64), [z], [z.g])


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_gradient_is_named_not_a_crash(value):
    # before: IndexError in diagnose, since rel > rtol is False for NaN and the mask of wrong entries was empty
    ref = torch.randn(4, 3, **f64)
    g = ref.clone(); g[1, 2] = value
    assert diagnose(g, ref, *TOLERANCES[torch.float64]) == "non-finite values (NaN or Inf) in 1 of 12 entries, first at [1, 2]"
    def one_entry(g, G, ins):
        g = g.clone(); g[0, 1] = value
        return g
    check_one_wrong(one_entry, "w", "non-finite values (NaN or Inf) in 1 of 15 entries, first at [0, 1]")
    loss, inputs, grads, _ = lin_case()
    grads[1] = one_entry(grads[1], None, None)
    report = check_grads(loss, inputs, grads)
    assert [r.ok for r in report.rows[2:4]] == [False, False]           # w vs autograd, w vs central differences
    assert all("non-finite values" in r.note for r in report.rows[2:4])


def test_a_non_finite_reference_is_named():
    ref = torch.randn(3, **f64); ref[2] = float("nan")
    assert diagnose(torch.zeros(3, **f64), ref, *TOLERANCES[torch.float64]).startswith("the reference has non-finite values")


def test_a_non_finite_loss_is_refused():
    with pytest.raises(ValueError, match=r"loss_fn\(\*inputs\) is nan, not a finite number"):
        check_grads(lambda x: x.sum() * float("nan"), [torch.ones(3, **f64)], [torch.ones(3, **f64)])


@pytest.mark.parametrize("factor,hint", [(2.6, None), (3.0, "(3 = w.shape[1])"), (1 / 3, "(3 = w.shape[1])"),
                                         (0.7, None), (1 / 2.6, None), (4.0001, None)])
def test_a_size_is_named_only_for_a_whole_factor_or_its_inverse(factor, hint):
    # before: any factor was rounded, so 2.6 was reported with "(3 = w.shape[1])"
    ref = torch.randn(4, 3, **f64)
    text = diagnose(factor * ref, ref, *TOLERANCES[torch.float64], [("w", (4, 3)), ("x", (1, 1))])
    assert text.startswith("off by a constant factor")
    assert (hint in text) if hint else not text.endswith(")"), text


def test_a_fitted_factor_of_zero_is_missing_not_a_division_by_zero():
    # before: ZeroDivisionError in _factor_name for c == 0 (g orthogonal to ref and near zero)
    ref, g = torch.tensor([1.0, 0.0], **f64), torch.tensor([0.0, 5e-12], **f64)
    assert diagnose(g, ref, *TOLERANCES[torch.float64]).startswith("missing: all zeros, up to rounding")
