"""backprop.memory (chapter 18) and bench/memory.py: checkpointed gradients equal autograd's for every number of
segments, the measured peak follows the count of kept activations, what autograd saves for the MLP and for chapter
16's GPT is the predicted storages, the rounded MLP gradients equal autograd's when nothing is rounded, rounding and
scaling behave as float16 does, the dynamic scaler agrees with GradScaler, and the bench's --quick run prints its
tables."""
import sys
from pathlib import Path

import pytest
import torch
from torch.testing import assert_close

from backprop.forward import init_params, mlp, mse
from backprop.gpt_model import gpt_forward, init_gpt
from backprop.losses import cross_entropy
from backprop.memory import (DynamicScaler, LiveBytes, checkpointed_backward, deep_forward, mlp_grads_rounded, round_to,
                             saved_by, activation_bytes, tracking)

root = Path(__file__).resolve().parent.parent


def deep(n_layers=6, D=16, N=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    ws = [torch.randn(D, 1 if i == n_layers - 1 else D, generator=gen, dtype=torch.float64) for i in range(n_layers)]
    params = [p.requires_grad_() for w in ws for p in (w, torch.zeros(w.shape[1], dtype=torch.float64))]
    return params, torch.randn(N, D, generator=gen, dtype=torch.float64), torch.randn(N, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 6])
def test_checkpointed_gradients_equal_autograds_for_every_number_of_segments(k):
    params, x, y = deep()
    loss = mse(deep_forward(x, params), y); loss.backward()
    ref = [p.grad.clone() for p in params]
    for p in params: p.grad = None
    mine = checkpointed_backward(x, y, params, k)
    assert_close(mine, loss.detach(), rtol=1e-12, atol=0)
    n = 0
    for p, r in zip(params, ref, strict=True): assert_close(p.grad, r, rtol=1e-10, atol=1e-12); n += 1
    assert n == 12


def test_the_peak_is_k_minus_1_plus_n_over_k_activations():
    params, x, y = deep(n_layers=16, D=32, N=32)
    unit = 32 * 32 * 8
    live = LiveBytes(params)
    with tracking(live): loss = mse(deep_forward(x, params), y)
    loss.backward()
    assert live.peak // unit == 16                                        # x and the 15 hidden layers' inputs
    for k in (1, 2, 4, 8, 16):                                            # k inputs kept + (n/k - 1) in the last segment
        live = LiveBytes(params); checkpointed_backward(x, y, params, k, live)
        assert live.peak // unit == k - 1 + 16 // k, (k, live.peak / unit)
        assert live.now == 0, "every saved tensor and kept input was released"


def test_saved_by_counts_the_mlps_activations_as_predicted():
    x, y = torch.randn(8, 5), torch.randn(8)
    params = [p.requires_grad_() for p in init_params(5, 3)]
    saved = saved_by(lambda *p: mse(mlp(x, *p), y), *params)
    assert sorted(s[0] for s in saved if not s[2]) == sorted([(8, 5), (8, 3), (8, 3), (8,)])
    assert activation_bytes(saved) == 4 * (8 * 5 + 8 * 3 + 8)


def test_activation_bytes_counts_whole_storages_once():
    "A saved view keeps its whole storage alive: a slice of a larger batch counts the batch; q, k, v of one copy count it once."
    batch, params = torch.randn(20, 5), [p.requires_grad_() for p in init_params(5, 3)]
    saved = saved_by(lambda *p: mse(mlp(batch[:8], *p), torch.randn(8)), *params)
    assert activation_bytes(saved) == 4 * (20 * 5 + 8 * 3 + 8)
    w = torch.randn(4, 6).requires_grad_()
    saved = saved_by(lambda w: sum(t.exp().sum() for t in (w * 2).chunk(3, dim=1)), w)    # exp saves each result: 3 storages
    assert activation_bytes(saved) == 3 * 4 * 2 * 4
    saved = saved_by(lambda w: sum((t * t).sum() for t in (w * 2).chunk(3, dim=1)), w)    # each product saves views of w * 2
    assert activation_bytes(saved) == 4 * 6 * 4


def test_cross_entropy_keeps_only_what_its_backward_reads():
    "Its guard reads the logits detached: a check that recorded autograd's graph made autograd save the logits once more."
    w, t = torch.randn(6, 5).requires_grad_(), torch.randint(0, 5, (6,))
    saved = saved_by(lambda w: cross_entropy(w * 2, t), w)
    assert activation_bytes(saved) == 4 * 6 * (5 + 1) + 8 * 6 * 3    # exp(z - max) and its row sums; the argmax, the rows, t


@pytest.mark.parametrize("B,T,C,n_head,n_layer", [(32, 16, 32, 4, 2), (3, 5, 8, 2, 1), (1, 1, 4, 1, 3), (2, 7, 12, 3, 2)])
def test_the_gpts_activations_are_chapter_18s_prediction(B, T, C, n_head, n_layer):
    "Per position: 26C + 2 + n_head T float32 numbers a block, 3C + 1 and V + 1 after the blocks, 4 int64; the mask T^2 bools."
    V = 27
    gpt = init_gpt(V, T, n_layer, n_head, C, generator=torch.Generator().manual_seed(0))
    ids = torch.randint(0, V, (2, B, T), generator=torch.Generator().manual_seed(1))
    saved = saved_by(lambda *p: gpt_forward(*ids, dict(zip(gpt, p)), n_head), *[p.requires_grad_() for p in gpt.values()])
    floats = n_layer * (26 * C + 2 + n_head * T) + 3 * C + 1 + V + 1
    assert activation_bytes(saved) == B * T * (4 * floats + 4 * 8) + T * T


def test_mlp_grads_rounded_without_rounding_are_autograds():
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(6, 4, generator=gen), torch.randn(6, generator=gen)
    params = list(init_params(4, 3, generator=gen))
    loss, grads, _ = mlp_grads_rounded(x, y, params, None, scale=8., loss_weight=0.5)
    leaves = [p.clone().requires_grad_() for p in params]
    ref = mse(mlp(x, *leaves), y); (ref * 0.5 * 8.).backward()
    assert_close(loss, ref.detach(), rtol=1e-6, atol=1e-7)
    for g, l in zip(grads, leaves, strict=True): assert_close(g, l.grad, rtol=1e-5, atol=1e-6)


def test_round_to_rounds_as_the_16_bit_formats_do():
    t = torch.tensor([1e-8, 3e-8, 1e-5, 70000., 1 + 1e-4])
    assert round_to(t, torch.float16).tolist()[:2] == [0., 2. ** -24]                  # below half the smallest: 0
    assert round_to(t, torch.float16)[3] == float("inf") and round_to(t, torch.float16)[4] == 1.
    assert round_to(t, torch.bfloat16)[0] > 0 and torch.isfinite(round_to(t, torch.bfloat16)).all()
    assert round_to(t, None) is t


def test_the_dynamic_scaler_skips_halves_and_grows():
    s = DynamicScaler(8., growth_interval=2)
    p = [torch.ones(2)]
    assert not s.step(p, [torch.tensor([1., float("inf")])], lr=1.) and s.scale == 4. and torch.equal(p[0], torch.ones(2))
    assert s.step(p, [torch.tensor([4., 8.])], lr=1.) and torch.equal(p[0], torch.tensor([0., -1.]))   # unscaled by 4
    assert s.step(p, [torch.zeros(2)], lr=1.) and s.scale == 8.                                        # 2 good steps: doubled


def test_the_bench_quick_run_prints_every_table_and_agrees_with_gradscaler(capsys):
    sys.path.insert(0, str(root / "bench"))
    try:
        import memory as bench
    finally:
        sys.path.remove(str(root / "bench"))
    result = bench.main(["--quick", "--rounds", "1"])
    out = capsys.readouterr().out
    for heading in ("## Gradient checkpointing", "## Matmul time", "## Static loss scaling", "## Dynamic loss scaling"):
        assert heading in out
    peaks = {r["k"]: r["peak_mib"] for r in result["checkpointing"]}
    assert peaks[2] < peaks[None] and peaks[1] == peaks[None]
    assert result["dynamic"]["agrees_with_gradscaler"] and result["dynamic"]["skipped"] >= 1
    assert result["smallest_matching_exponent"] is not None
