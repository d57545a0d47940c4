"""backprop.gpt and backprop.gpt_model (chapters 15 and 16): every block's backward and the whole model's against
autograd in float64, on the cases the issue names (T = 1, one head, several layers, a batch of one) and more; Adam
against torch.optim.Adam; the hand-written training against autograd's; the data (chapter 14's split, as streams) and the sampler."""
import itertools

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from backprop.data import VOCAB, load_names, split_names
from backprop.gpt import (attention_backward, attention_forward, block_backward, block_forward, block_shapes,
                          crossentropy_backward, encoder_backward, encoder_forward, gelu_backward, gelu_forward,
                          layernorm_backward, layernorm_forward, linear_backward, linear_forward)
from backprop.gpt_model import (adam_step, autograd_train_step, evaluate, get_batch, gpt_backward, gpt_forward, init_gpt,
                                names_stream, sample_names, train_step)
from backprop.losses import cross_entropy

TOL = dict(rtol=1e-10, atol=1e-12)   # float64; the atol is for the keys' bias, whose gradient is 0 up to rounding


def streams():
    "(train, valid) streams of chapter 16: chapter 14's split of the names."
    return tuple(names_stream(part) for part in split_names(load_names(), valid_frac=0.1, seed=42))


def rand(*shape, gen):
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def autograd_grads(f, inputs, dout):
    leaves = [t.clone().requires_grad_(t.is_floating_point()) for t in inputs]
    f(*leaves).backward(dout)
    return [t.grad for t in leaves]


# ---- each block alone ----

SHAPES = [(1, 1, 4), (2, 5, 8), (3, 1, 6), (1, 7, 12), (4, 16, 8)]    # (B, T, C): T = 1 and a batch of one among them


@pytest.mark.parametrize("B,T,C", SHAPES)
def test_layernorm_and_linear_and_gelu_backwards_equal_autograd(B, T, C):
    gen = torch.Generator().manual_seed(B * 100 + T * 10 + C)
    x, w, b, dout = rand(B, T, C, gen=gen), rand(C, gen=gen), rand(C, gen=gen), rand(B, T, C, gen=gen)
    out, mean, rstd = layernorm_forward(x, w, b)
    assert_close(out, F.layer_norm(x, (C,), w, b), **TOL)
    for ours, ref in zip(layernorm_backward(dout, x, w, mean, rstd),
                         autograd_grads(lambda *a: layernorm_forward(*a)[0], [x, w, b], dout), strict=True):
        assert_close(ours, ref, **TOL)
    W, bias, d2 = rand(C, 3, gen=gen), rand(3, gen=gen), rand(B, T, 3, gen=gen)
    for ours, ref in zip(linear_backward(d2, x, W), autograd_grads(linear_forward, [x, W, bias], d2), strict=True):
        assert_close(ours, ref, **TOL)
    h = 3 * x
    assert_close(gelu_forward(h), F.gelu(h), **TOL)
    assert_close(gelu_backward(dout, h), autograd_grads(gelu_forward, [h], dout)[0], **TOL)


@pytest.mark.parametrize("B,T,C,n_head", [(1, 1, 4, 1), (2, 1, 8, 2), (2, 5, 8, 1), (2, 5, 8, 2), (1, 9, 12, 3), (3, 16, 32, 4)])
def test_attention_backward_equals_autograd_and_the_forward_equals_torch(B, T, C, n_head):
    gen = torch.Generator().manual_seed(B + T + C + n_head)
    qkv, dout = rand(B, T, 3 * C, gen=gen), rand(B, T, C, gen=gen)
    q, k, v = (t.view(B, T, n_head, -1).transpose(1, 2) for t in qkv.chunk(3, dim=-1))
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
    assert_close(attention_forward(qkv, n_head), expected, **TOL)
    dqkv = attention_backward(dout, qkv, n_head)
    assert_close(dqkv, autograd_grads(lambda t: attention_forward(t, n_head), [qkv], dout)[0], **TOL)
    if T == 1: assert torch.equal(dqkv[..., :2 * C], torch.zeros_like(dqkv[..., :2 * C]))   # P = 1: q and k get nothing


def test_the_causal_mask_hides_the_future_to_the_bit():
    gen = torch.Generator().manual_seed(0)
    qkv = rand(2, 6, 24, gen=gen)
    for t in range(6):
        changed = qkv.clone()
        changed[:, t:] += rand(2, 6 - t, 24, gen=gen)
        assert torch.equal(attention_forward(changed, 2)[:, :t], attention_forward(qkv, 2)[:, :t])


def test_embedding_and_crossentropy_backwards_equal_autograd():
    gen = torch.Generator().manual_seed(1)
    idx = torch.tensor([[0, 1, 1, 3], [1, 4, 0, 1]])
    wte, wpe, dout = rand(5, 4, gen=gen), rand(6, 4, gen=gen), rand(2, 4, 4, gen=gen)
    dwte, dwpe = encoder_backward(dout, idx, 5, 6)
    _, ref_wte, ref_wpe = autograd_grads(encoder_forward, [idx, wte, wpe], dout)
    assert_close(dwte, ref_wte, **TOL); assert_close(dwpe, ref_wpe, **TOL)
    assert torch.equal(dwte[2], torch.zeros(4, dtype=torch.float64)) and torch.equal(dwpe[4:], torch.zeros(2, 4, dtype=torch.float64))
    logits, targets = rand(3, 5, 27, gen=gen) * 3, torch.randint(0, 27, (3, 5), generator=gen)
    forward = lambda z, t: cross_entropy(z.flatten(0, 1), t.flatten())
    assert_close(crossentropy_backward(logits, targets), autograd_grads(forward, [logits, targets], None)[0], **TOL)


def test_the_block_backward_equals_autograd_and_leaves_saved_and_params_unchanged():
    gen = torch.Generator().manual_seed(2)
    p = {name: rand(*shape, gen=gen) for name, shape in block_shapes(8).items()}
    x, dout = rand(2, 5, 8, gen=gen), rand(2, 5, 8, gen=gen)
    _, saved = block_forward(x, p, 2)
    before = {k: t.clone() for k, t in {**saved, **{f"p.{k}": v for k, v in p.items()}}.items()}
    dx, grads = block_backward(dout, saved, p, 2)
    expected = autograd_grads(lambda x, *ps: block_forward(x, dict(zip(p, ps)), 2)[0], [x, *p.values()], dout)
    for ours, ref in zip([dx, *(grads[k] for k in p)], expected, strict=True): assert_close(ours, ref, **TOL)
    after = {**saved, **{f"p.{k}": v for k, v in p.items()}}
    assert all(torch.equal(before[k], after[k]) for k in before)    # the in-place updates touch only new tensors


# ---- the whole model ----

def grads_both(B, T, n_layer, n_head, C, seed):
    gen = torch.Generator().manual_seed(seed)
    p = init_gpt(27, T + 2, n_layer, n_head, C, generator=gen, dtype=torch.float64)
    p = {name: t + 0.3 * torch.randn(t.shape, generator=gen, dtype=t.dtype) for name, t in p.items()}
    idx, targets = torch.randint(0, 27, (2, B, T), generator=gen)
    leaves = {name: t.clone().requires_grad_() for name, t in p.items()}
    loss = gpt_forward(idx, targets, leaves, n_head)[0]
    loss.backward()
    ours_loss, saved = gpt_forward(idx, targets, p, n_head)
    assert_close(ours_loss, loss.detach(), **TOL)
    return gpt_backward(saved, p, n_head), {name: t.grad for name, t in leaves.items()}


# (B, T, n_layer, n_head, C): every combination of a batch of one or not, T = 1 or not, one head or not, 1 or 3 layers
CASES = [(B, T, L, nh, 4 * nh) for B, T, L, nh in itertools.product((1, 3), (1, 6), (1, 3), (1, 2))] + [(2, 16, 4, 4, 16)]


@pytest.mark.parametrize("B,T,n_layer,n_head,C", CASES)
def test_every_parameter_gradient_equals_autograd_in_float64(B, T, n_layer, n_head, C):
    ours, theirs = grads_both(B, T, n_layer, n_head, C, seed=B * 1000 + T * 100 + n_layer * 10 + n_head)
    assert list(ours) == list(theirs) and len(theirs) == 6 + 12 * n_layer
    for name in theirs: assert_close(ours[name], theirs[name], **TOL, msg=name)


def test_the_keys_bias_gets_zero_gradient_up_to_rounding():
    "Why the comparison needs an absolute tolerance: softmax ignores what is added to every key."
    ours, theirs = grads_both(2, 6, 2, 2, 8, seed=5)
    for g in (ours, theirs):
        assert g["h0.attn_b"][8:16].abs().max() < 1e-15 < g["h0.attn_b"][:8].abs().max()


def test_gpt_backward_frees_the_blocks_it_has_used():
    params = init_gpt(n_layer=2, generator=torch.Generator().manual_seed(0))
    idx, targets = get_batch(streams()[0], 4, 16, torch.Generator().manual_seed(0))
    _, saved = gpt_forward(idx, targets, params, 4)
    gpt_backward(saved, params, 4)
    assert saved["blocks"] == []


# ---- training ----

def test_adam_step_equals_torch_optim_adam():
    gen = torch.Generator().manual_seed(3)
    ours = {"a": rand(3, 4, gen=gen), "b": rand(5, gen=gen)}
    theirs = [t.clone().requires_grad_() for t in ours.values()]
    opt = torch.optim.Adam(theirs, lr=0.01, betas=(0.9, 0.99), eps=1e-8)
    state = {}
    for _ in range(5):
        grads = {k: rand(*t.shape, gen=gen) for k, t in ours.items()}
        adam_step(ours, grads, state, 0.01)
        for t, g in zip(theirs, grads.values(), strict=True): t.grad = g.clone()
        opt.step()
    for a, b in zip(ours.values(), theirs, strict=True): assert_close(a, b.detach(), rtol=1e-12, atol=1e-14)


def test_hand_written_training_equals_autograds_in_float64():
    train, _ = streams()
    start = init_gpt(n_layer=2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    hand, auto = {k: v.clone() for k, v in start.items()}, {k: v.clone().requires_grad_() for k, v in start.items()}
    sh, sa, gen = {}, {}, torch.Generator().manual_seed(2)
    for _ in range(8):
        idx, targets = get_batch(train, 8, 16, gen)
        assert abs(train_step(hand, sh, idx, targets, 4, 1e-2) - autograd_train_step(auto, sa, idx, targets, 4, 1e-2)) <= 1e-10
    for name in hand: assert_close(hand[name], auto[name].detach(), rtol=1e-9, atol=1e-12, msg=name)
    assert sh["step"] == sa["step"] == 8


def test_training_in_inference_mode_leaves_the_model_usable_by_autograd():
    "train_step runs in inference_mode; the attention mask it caches must still serve autograd afterwards."
    params = init_gpt(n_layer=1, block_size=11, generator=torch.Generator().manual_seed(0))
    idx, targets = torch.randint(0, 27, (2, 2, 11), generator=torch.Generator().manual_seed(1))
    train_step(params, {}, idx, targets, 4, 1e-3)            # first use of T = 11: the mask is made here
    leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
    autograd_train_step(leaves, {}, idx, targets, 4, 1e-3)
    assert not any(p.is_inference() for p in params.values())


def test_a_short_training_lowers_the_validation_loss():
    train, valid = streams()
    params, state, gen = init_gpt(generator=torch.Generator().manual_seed(0)), {}, torch.Generator().manual_seed(1)
    before = evaluate(params, valid, 4, 16)
    for _ in range(60): train_step(params, state, *get_batch(train, 32, 16, gen), 4, 1e-2)
    assert before > 3.2 and evaluate(params, valid, 4, 16) < before - 0.5


# ---- data and sampling ----

def text(ids): return "".join(VOCAB[i] for i in ids)


def test_names_stream_puts_a_dot_before_each_name_and_after_the_last():
    assert text(names_stream(["emma", "ava"]).tolist()) == ".emma.ava."
    assert names_stream(["a"]).dtype == torch.int64


def test_the_streams_hold_chapter_14s_split_every_name_once_between_dots():
    train_names, valid_names = split_names(load_names(), valid_frac=0.1, seed=42)     # chapter 14's call
    train, valid = streams()
    assert text(train.tolist()) == "." + "".join(n + "." for n in train_names)
    assert text(valid.tolist()) == "." + "".join(n + "." for n in valid_names)
    names = [w for s in (train, valid) for w in text(s.tolist()).split(".") if w]
    assert sorted(names) == sorted(load_names()) and len(names) == 5163 and len(valid_names) == round(5163 * 0.1)


def test_get_batch_targets_are_the_next_tokens():
    stream = torch.arange(50) % 27
    idx, targets = get_batch(stream, 5, 7, torch.Generator().manual_seed(0))
    assert idx.shape == targets.shape == (5, 7) and idx.dtype == torch.int64
    assert torch.equal(targets[:, :-1], idx[:, 1:]) and torch.equal(targets[:, -1], (idx[:, -1] + 1) % 27)


def test_sample_names_are_seeded_words_of_the_vocabulary():
    params = init_gpt(generator=torch.Generator().manual_seed(0))
    a = sample_names(params, 4, 5, max_len=30, generator=torch.Generator().manual_seed(7))
    b = sample_names(params, 4, 5, max_len=30, generator=torch.Generator().manual_seed(7))
    assert a == b and len(a) == 5 and all(set(name) <= set(VOCAB[1:]) and len(name) <= 30 for name in a)
