"""The step grader (backprop.steps, appendix 99) grades right.

- Every reference step (tests/step_solutions.py) is graded correct, and quickly; the whole table of a model
  with its reference steps is right, on its own and chained, and backward_by_steps gives autograd's gradients.
- Mutants: a reference step with one classic mistake planted by a textual edit (each edit's old text must occur
  exactly once in that step's source), labelled with the kind of diagnosis it should get. At least 3 per step
  of each exercise's model, and at least 40 in all: every one rejected, at least 95 % named right; the table of
  caught / named is printed (record_property) per model.
- Hypothesis draws random sizes and seeds: the grader never rejects a reference step, and autograd agrees with
  central differences on every gradient of every case.
- The table: a step wrong only because of an upstream one says so and is not blamed; a step waiting for an
  unwritten one says which; a tensor or a function it cannot bind is refused on its row.
- What a learner runs into: stubs, errors with their line, wrong return types, bad calls (guards).
"""
import contextlib
import io
import math
import time

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings, strategies as st

import backprop.steps as S
from backprop import gpt
from backprop.steps import MODELS, StepModel, backward_by_steps, forward_values, grade_step, grade_steps
from step_solutions import SOLUTIONS, SOURCES

EXERCISE_MODELS = ["charmlp", "gpt_encoder", "gpt_layernorm", "gpt_linear", "gpt_attention", "gpt_gelu", "gpt_residual",
                   "gpt_crossentropy"]  # the models of the exercise notebooks

# (model, step, the kind of diagnosis it should get, what the mistake is, [(old, new), ...] edits of the step's source)
MUTANTS = [
    # chapter 3's MLP (appendix 99's demonstration)
    ("mlp", "dout", "factor", "the 2 of the square left out", [("2. * ", "")]),
    ("mlp", "dout", "factor", "the mean's 1/N left out", [(" / out.shape[0]", "")]),
    ("mlp", "dout", "sign", "targ - out", [("(out.squeeze(-1) - targ)", "(targ - out.squeeze(-1))")]),
    ("mlp", "dout", "broadcast", "no squeeze: (N, 1) - (N,) broadcasts to (N, N)", [("(out.squeeze(-1) - targ).unsqueeze(-1)", "(out - targ)")]),
    ("mlp", "dl2", "transposed", "w2 not transposed", [("dout @ w2.T", "dout @ w2")]),
    ("mlp", "dl2", "sign", "wrong sign", [("return dout", "return -dout")]),
    ("mlp", "dl2", "mixed up", "out where dout belongs", [("(dout, w2)", "(out, w2)"), ("return dout", "return out")]),
    ("mlp", "dw2", "transposed", "dout.T @ l2", [("l2.T @ dout", "dout.T @ l2")]),
    ("mlp", "dw2", "mixed up", "l1 where l2 belongs", [("(dout, l2)", "(dout, l1)"), ("l2.T", "l1.T")]),
    ("mlp", "dw2", "factor", "a mean over the batch where a sum belongs", [("l2.T @ dout", "l2.T @ dout / len(dout)")]),
    ("mlp", "db2", "axis", "not summed over the batch", [("dout.sum(0)", "dout")]),
    ("mlp", "db2", "shape", "summed with keepdim", [("dout.sum(0)", "dout.sum(0, keepdim=True)")]),
    ("mlp", "db2", "factor", "a mean where a sum belongs", [("dout.sum(0)", "dout.mean(0)")]),
    ("mlp", "dl1", "kink", "no mask", [("(l1 > 0).to(l1.dtype) * dl2", "dl2.clone()")]),
    ("mlp", "dl1", "left out", "dl2 forgotten", [(" * dl2", "")]),
    ("mlp", "dl1", "kink", "a leaky slope of 0.01 below 0", [("(l1 > 0).to(l1.dtype)", "torch.where(l1 > 0, 1.0, 0.01)")]),
    ("mlp", "dinp", "transposed", "w1 not transposed", [("dl1 @ w1.T", "dl1 @ w1")]),
    ("mlp", "dinp", "sign", "wrong sign", [("return dl1", "return -dl1")]),
    ("mlp", "dinp", "mixed up", "dl2 where dl1 belongs", [("(dl1, w1)", "(dl2, w1)"), ("return dl1", "return dl2")]),
    ("mlp", "dw1", "transposed", "dl1.T @ inp", [("inp.T @ dl1", "dl1.T @ inp")]),
    ("mlp", "dw1", "mixed up", "dl2 where dl1 belongs", [("(dl1, inp)", "(dl2, inp)"), ("@ dl1", "@ dl2")]),
    ("mlp", "dw1", "sign", "wrong sign", [("return inp", "return -inp")]),
    ("mlp", "db1", "axis", "summed over the wrong axis", [("dl1.sum(0)", "dl1.sum(1)")]),
    ("mlp", "db1", "axis", "not summed", [("dl1.sum(0)", "dl1")]),
    ("mlp", "db1", "dtype", "float32", [("dl1.sum(0)", "dl1.sum(0).float()")]),
    # appendix 99's residual block
    ("residual", "residual_backward", "term", "the skip connection's path forgotten", [("dout + dout @ w.T", "dout @ w.T")]),
    ("residual", "residual_backward", "transposed", "w not transposed in dinp", [("dout + dout @ w.T", "dout + dout @ w")]),
    ("residual", "residual_backward", "axis", "db not summed", [("dout.sum(0)", "dout")]),
    ("residual", "residual_backward", "type", "two gradients of three returned", [(", dout.sum(0)", "")]),
    # chapter 14's model: cross-entropy's steps
    ("charmlp", "dlogp", "factor", "the mean's 1/N left out", [(") / N", ")")]),
    ("charmlp", "dlogp", "sign", "the minus of -log p forgotten", [("return -(torch", "return (torch")]),
    ("charmlp", "dlogp", "dtype", "the one-hot made float32", [(".to(logp.dtype)", ".float()")]),
    ("charmlp", "dprobs", "sign", "wrong sign", [("return dlogp", "return -dlogp")]),
    ("charmlp", "dprobs", "mixed up", "exps where probs belongs", [("(dlogp, probs)", "(dlogp, exps)"), ("/ probs", "/ exps")]),
    ("charmlp", "dprobs", "left out", "dlogp forgotten: log's derivative alone", [("dlogp / probs", "1 / probs")]),
    ("charmlp", "dinv", "axis", "summed over the batch, not the row", [(".sum(1, keepdim=True)", ".sum(0, keepdim=True)")]),
    ("charmlp", "dinv", "shape", "keepdim forgotten", [(".sum(1, keepdim=True)", ".sum(1)")]),
    ("charmlp", "dinv", "axis", "not summed along the row", [("(exps * dprobs).sum(1, keepdim=True)", "exps * dprobs")]),
    ("charmlp", "dinv", "mixed up", "probs where exps belongs", [("(exps, dprobs)", "(probs, dprobs)"), ("(exps *", "(probs *")]),
    ("charmlp", "dsums", "sign", "the minus of 1/x's derivative forgotten", [("-sums ** -2", "sums ** -2")]),
    ("charmlp", "dsums", "left out", "dinv forgotten", [(" * dinv", "")]),
    ("charmlp", "dsums", "mixed up", "inv where sums belongs", [("(sums, dinv)", "(inv, dinv)"), ("-sums", "-inv")]),
    ("charmlp", "dsums", "element-wise", "1/x's derivative taken as -1/x: the square forgotten", [("-sums ** -2", "-sums ** -1")]),
    ("charmlp", "dshifted", "element-wise", "exp's derivative forgotten: dexps passed through", [("return exps * dexps", "return dexps.clone()")]),
    ("charmlp", "dexps", "term", "the path through sums forgotten", [("inv * dprobs + dsums", "inv * dprobs")]),
    ("charmlp", "dexps", "sign", "the term from sums subtracted", [("+ dsums", "- dsums")]),
    ("charmlp", "dexps", "left out", "dprobs forgotten", [("inv * dprobs + dsums", "inv + dsums")]),
    ("charmlp", "dshifted", "mixed up", "shifted where exps belongs: exp's derivative taken as its input", [("(exps, dexps)", "(shifted, dexps)"), ("exps * dexps", "shifted * dexps")]),
    ("charmlp", "dshifted", "left out", "dexps forgotten", [("exps * dexps", "exps")]),
    ("charmlp", "dshifted", "sign", "wrong sign", [("return exps", "return -exps")]),
    ("charmlp", "dmaxes", "axis", "not summed along the row", [("-dshifted.sum(1, keepdim=True)", "-dshifted")]),
    ("charmlp", "dmaxes", "shape", "keepdim forgotten", [(".sum(1, keepdim=True)", ".sum(1)")]),
    ("charmlp", "dmaxes", "dtype", "made float32", [("-dshifted.sum(1, keepdim=True)", "-dshifted.sum(1, keepdim=True).float()")]),
    ("charmlp", "dlogits", "sign", "wrong sign", [("return dshifted", "return -dshifted")]),
    ("charmlp", "dlogits", "mixed up", "shifted where dshifted belongs", [("(dshifted, logits", "(shifted, logits"), ("return dshifted", "return shifted")]),
    ("charmlp", "dlogits", "term", "the path through shifted forgotten: only the max's (about 0)", [("return dshifted + ", "return ")]),
    # the second layer and tanh
    ("charmlp", "dh", "transposed", "w2 not transposed", [("dlogits @ w2.T", "dlogits @ w2")]),
    ("charmlp", "dh", "sign", "wrong sign", [("return dlogits", "return -dlogits")]),
    ("charmlp", "dh", "mixed up", "logits where dlogits belongs", [("(dlogits, w2)", "(logits, w2)"), ("return dlogits", "return logits")]),
    ("charmlp", "dw2", "transposed", "dlogits.T @ h", [("h.T @ dlogits", "dlogits.T @ h")]),
    ("charmlp", "dw2", "mixed up", "bn where h belongs", [("(h, dlogits)", "(bn, dlogits)"), ("h.T", "bn.T")]),
    ("charmlp", "dw2", "factor", "a mean over the batch where a sum belongs", [("h.T @ dlogits", "h.T @ dlogits / len(h)")]),
    ("charmlp", "db2", "axis", "not summed over the batch", [("dlogits.sum(0)", "dlogits")]),
    ("charmlp", "db2", "shape", "summed with keepdim", [("dlogits.sum(0)", "dlogits.sum(0, keepdim=True)")]),
    ("charmlp", "db2", "factor", "a mean where a sum belongs", [("dlogits.sum(0)", "dlogits.mean(0)")]),
    ("charmlp", "dbn", "mixed up", "tanh's derivative in its input, not its output", [("(h, dh)", "(bn, dh)"), ("h ** 2", "bn ** 2")]),
    ("charmlp", "dbn", "left out", "dh forgotten", [(" * dh", "")]),
    ("charmlp", "dbn", "sign", "h² - 1", [("(1 - h ** 2)", "(h ** 2 - 1)")]),
    # batch norm
    ("charmlp", "db2", "axis", "summed along the row, not over the batch", [("dlogits.sum(0)", "dlogits.sum(1)")]),
    ("charmlp", "dbn_w", "axis", "summed over the wrong axis", [("(xhat * dbn).sum(0)", "(xhat * dbn).sum(1)")]),
    ("charmlp", "dbn_w", "mixed up", "bn where xhat belongs", [("(xhat, dbn)", "(bn, dbn)"), ("(xhat *", "(bn *")]),
    ("charmlp", "dbn_w", "axis", "not summed", [("(xhat * dbn).sum(0)", "xhat * dbn")]),
    ("charmlp", "dbn_b", "axis", "not summed", [("dbn.sum(0)", "dbn")]),
    ("charmlp", "dbn_b", "axis", "summed over the wrong axis", [("dbn.sum(0)", "dbn.sum(1)")]),
    ("charmlp", "dbn_b", "factor", "a mean where a sum belongs", [("dbn.sum(0)", "dbn.mean(0)")]),
    ("charmlp", "dxhat", "left out", "bn_w forgotten", [("bn_w * dbn", "dbn")]),
    ("charmlp", "dxhat", "sign", "wrong sign", [("return bn_w", "return -bn_w")]),
    ("charmlp", "dxhat", "axis", "summed over the batch, where xhat is not broadcast", [("return bn_w * dbn", "return (bn_w * dbn).sum(0)")]),
    ("charmlp", "dxhat", "mixed up", "bn_b where bn_w belongs", [("(bn_w, dbn)", "(bn_b, dbn)"), ("bn_w * dbn", "bn_b * dbn")]),
    ("charmlp", "drstd", "axis", "summed along the row, not down the column", [(".sum(0, keepdim=True)", ".sum(1, keepdim=True)")]),
    ("charmlp", "drstd", "shape", "keepdim forgotten", [(".sum(0, keepdim=True)", ".sum(0)")]),
    ("charmlp", "drstd", "mixed up", "xhat where diff belongs", [("(diff, dxhat)", "(xhat, dxhat)"), ("(diff *", "(xhat *")]),
    ("charmlp", "dvar", "sign", "the minus of the power's derivative forgotten", [("-0.5 *", "0.5 *")]),
    ("charmlp", "dvar", "factor", "the 1/2 of the square root lost", [("-0.5 *", "-1 *")]),
    ("charmlp", "dvar", "left out", "drstd forgotten", [(" * drstd", "")]),
    ("charmlp", "ddiff2", "factor", "the mean's 1/N left out", [(" / N", "")]),
    ("charmlp", "ddiff2", "factor", "an unbiased variance: 1/(N - 1)", [(" / N", " / (N - 1)")]),
    ("charmlp", "ddiff2", "shape", "not broadcast to diff2's shape", [("torch.ones_like(diff2) * dvar / N", "dvar / N")]),
    ("charmlp", "ddiff", "term", "the path through diff2 forgotten", [(" + 2 * diff * ddiff2", "")]),
    ("charmlp", "ddiff", "term", "the path through xhat forgotten", [("rstd * dxhat + ", "")]),
    ("charmlp", "ddiff", "factor", "the 2 of the square left out of its term", [("2 * diff", "diff")]),
    ("charmlp", "dmu", "sign", "the minus of lin1 - mu forgotten", [("-ddiff", "ddiff")]),
    ("charmlp", "dmu", "axis", "summed along the row", [(".sum(0, keepdim=True)", ".sum(1, keepdim=True)")]),
    ("charmlp", "dmu", "axis", "not summed", [("-ddiff.sum(0, keepdim=True)", "-ddiff")]),
    ("charmlp", "dmu", "shape", "keepdim forgotten", [(".sum(0, keepdim=True)", ".sum(0)")]),
    ("charmlp", "dmu", "factor", "a mean where a sum belongs", [(".sum(0, keepdim=True)", ".mean(0, keepdim=True)")]),
    ("charmlp", "dlin1", "term", "the path through mu forgotten", [(" + dmu / N", "")]),
    ("charmlp", "dlin1", "factor", "the mean's 1/N left out of mu's term", [("dmu / N", "dmu")]),
    ("charmlp", "dlin1", "sign", "mu's term subtracted", [("+ dmu / N", "- dmu / N")]),
    # the first layer and the embedding
    ("charmlp", "dflat", "transposed", "w1 not transposed", [("dlin1 @ w1.T", "dlin1 @ w1")]),
    ("charmlp", "dflat", "mixed up", "lin1 where dlin1 belongs", [("(dlin1, w1)", "(lin1, w1)"), ("return dlin1", "return lin1")]),
    ("charmlp", "dflat", "sign", "wrong sign", [("return dlin1", "return -dlin1")]),
    ("charmlp", "dw1", "transposed", "dlin1.T @ flat", [("flat.T @ dlin1", "dlin1.T @ flat")]),
    ("charmlp", "dw1", "mixed up", "ddiff where dlin1 belongs", [("(flat, dlin1)", "(flat, ddiff)"), ("@ dlin1", "@ ddiff")]),
    ("charmlp", "dw1", "factor", "a mean over the batch where a sum belongs", [("flat.T @ dlin1", "flat.T @ dlin1 / len(flat)")]),
    ("charmlp", "db1", "axis", "not summed", [("dlin1.sum(0)", "dlin1")]),
    ("charmlp", "db1", "shape", "summed with keepdim", [("dlin1.sum(0)", "dlin1.sum(0, keepdim=True)")]),
    ("charmlp", "db1", "dtype", "float32", [("dlin1.sum(0)", "dlin1.sum(0).float()")]),
    ("charmlp", "demb", "shape", "not viewed back to (N, 3, d)", [("dflat.view(emb.shape)", "dflat")]),
    ("charmlp", "demb", "sign", "wrong sign", [("return dflat", "return -dflat")]),
    ("charmlp", "demb", "layout", "viewed as (N, d, 3), then transposed", [("dflat.view(emb.shape)", "dflat.view(len(emb), emb.shape[2], emb.shape[1]).transpose(1, 2)")]),
    ("charmlp", "demb", "mixed up", "flat where dflat belongs", [("(dflat, emb)", "(flat, emb)"), ("return dflat", "return flat")]),
    ("charmlp", "demb_w", "repeats", "an assignment: a row looked up twice keeps one gradient", [
        ("return torch.zeros_like(emb_w).index_add_(0, xb.view(-1), demb.view(-1, emb_w.shape[1]))",
         "g = torch.zeros_like(emb_w)\n    g[xb.view(-1)] = demb.view(-1, emb_w.shape[1])\n    return g")]),
    ("charmlp", "demb_w", "repeats", "+= on an index: a row looked up twice still keeps one gradient", [
        ("return torch.zeros_like(emb_w).index_add_(0, xb.view(-1), demb.view(-1, emb_w.shape[1]))",
         "g = torch.zeros_like(emb_w)\n    g[xb] += demb\n    return g")]),
    ("charmlp", "demb_w", "sign", "wrong sign", [("xb.view(-1), demb", "xb.view(-1), -demb")]),
    ("charmlp", "demb_w", "left out", "demb forgotten: counts, not gradients", [("demb.view(-1, emb_w.shape[1])", "torch.ones_like(demb).view(-1, emb_w.shape[1])")]),
    # the fused forms
    ("charmlp", "dlogits_fused", "factor", "the mean's 1/N left out", [(") / len(yb)", ")")]),
    ("charmlp", "dlogits_fused", "sign", "one-hot minus softmax", [("(torch.softmax(logits, 1) - F.one_hot(yb, 27).double())",
                                                                    "(F.one_hot(yb, 27).double() - torch.softmax(logits, 1))")]),
    ("charmlp", "dlogits_fused", "dtype", "in float32", [("torch.softmax(logits, 1)", "torch.softmax(logits.float(), 1)"), (".double()", ".float()")]),
    ("charmlp", "dlin1_fused", "term", "the variance's term left out", [(" - xhat * (xhat * dbn).sum(0)", "")]),
    ("charmlp", "dlin1_fused", "term", "the mean's term left out", [(" - dbn.sum(0)", "")]),
    ("charmlp", "dlin1_fused", "left out", "bn_w forgotten", [("(dbn, bn_w, rstd, xhat)", "(dbn, rstd, xhat)"), ("bn_w * rstd / N", "rstd / N")]),
    ("charmlp", "dlin1_fused", "factor", "the 1/N left out", [("rstd / N *", "rstd *")]),
    # chapter 15's blocks
    ("gpt_encoder", "encoder_backward", "repeats", "an assignment: a token used twice keeps one row", [
        ("dwte = dout.new_zeros(vocab_size, C).index_add_(0, idx.reshape(-1), dout.reshape(-1, C))",
         "dwte = dout.new_zeros(vocab_size, C)\n    dwte[idx.reshape(-1)] = dout.reshape(-1, C)")]),
    ("gpt_encoder", "encoder_backward", "repeats", "+= on an index: a token used twice still keeps one row", [
        ("dwte = dout.new_zeros(vocab_size, C).index_add_(0, idx.reshape(-1), dout.reshape(-1, C))",
         "dwte = dout.new_zeros(vocab_size, C)\n    dwte[idx] += dout")]),
    ("gpt_encoder", "encoder_backward", "factor", "the positions' gradient averaged over the batch", [("dwpe[:T] = dout.sum(0)", "dwpe[:T] = dout.mean(0)")]),
    ("gpt_encoder", "encoder_backward", "shape", "dwpe only as long as the sequence", [("dwpe = dout.new_zeros(block_size, C)\n    dwpe[:T] = dout.sum(0)", "dwpe = dout.sum(0)")]),
    ("gpt_layernorm", "layernorm_backward", "term", "the mean's term forgotten", [(".sub_(mean_g)", "")]),
    ("gpt_layernorm", "layernorm_backward", "term", "the variance's term forgotten", [(".sub_(xhat.mul_(mean_gx))", "")]),
    ("gpt_layernorm", "layernorm_backward", "axis", "db summed over the batch only", [("dout.sum((0, 1))", "dout.sum(0)")]),
    ("gpt_layernorm", "layernorm_backward", "left out", "w forgotten in the gradient of xhat", [("g = dout * w", "g = dout.clone()")]),
    ("gpt_linear", "linear_backward", "transposed", "w not transposed", [("dout @ w.t()", "dout @ w")]),
    ("gpt_linear", "linear_backward", "transposed", "dw as dout^T inp", [("inp.flatten(0, 1).t() @ dout.flatten(0, 1)", "dout.flatten(0, 1).t() @ inp.flatten(0, 1)")]),
    ("gpt_linear", "linear_backward", "axis", "db summed over the batch only", [("dout.sum((0, 1))", "dout.sum(0)")]),
    ("gpt_linear", "linear_backward", "axis", "db summed over the features, not the positions", [("dout.sum((0, 1))", "dout.sum(-1)")]),
    ("gpt_linear", "linear_backward", "transposed", ".T on the 3-D input: it reverses all three axes", [("inp.flatten(0, 1).t() @ dout.flatten(0, 1)", "inp.T @ dout")]),
    ("gpt_linear", "linear_backward", "order", "dw returned before dinp", [("return dinp, dw,", "return dw, dinp,")]),
    ("gpt_attention", "attention_backward", "factor", "the scale 1/√hs forgotten", [(".mul_(hs ** -0.5)", "")]),
    ("gpt_attention", "attention_backward", "term", "softmax's row term forgotten", [("datt.sub_((datt * att).sum(-1, keepdim=True)).mul_(att)", "datt.mul_(att)")]),
    ("gpt_attention", "attention_backward", "sign", "wrong sign", [("return torch.stack", "return -torch.stack")]),
    ("gpt_attention", "attention_backward", "factor", "the scale applied twice", [(".mul_(hs ** -0.5)", ".mul_(hs ** -1.0)")]),
    ("gpt_attention", "attention_backward", "factor", "scaled by 1/√C, not a head's 1/√hs", [(".mul_(hs ** -0.5)", ".mul_((nh * hs) ** -0.5)")]),
    ("gpt_attention", "attention_backward", "mask", "P recomputed without the causal mask", [
        ("att = _causal_softmax(q, k)", "att = torch.softmax(q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5, -1)")]),
    ("gpt_attention", "attention_backward", "layout", "the merge undone without its transpose", [("dout.view(B, T, nh, hs).transpose(1, 2)", "dout.view(B, nh, T, hs)")]),
    ("gpt_attention", "attention_backward", "layout", "dq, dk, dv put back head by head", [("torch.stack((dq, dk, dv)).permute(1, 3, 0, 2, 4)", "torch.stack((dq, dk, dv), 2).permute(0, 3, 1, 2, 4)")]),
    ("gpt_attention", "attention_backward", "transposed", ".T on the 4-D attention", [("att.transpose(-2, -1) @ dy", "att.T @ dy")]),
    ("gpt_gelu", "gelu_backward", "left out", "dout forgotten", [(".mul_(dout)", "")]),
    ("gpt_gelu", "gelu_backward", "term", "x phi(x) forgotten: the derivative of x Phi(x) taken as Phi(x)", [("return pdf.mul_(inp).add_(cdf).mul_(dout)", "return cdf.mul_(dout)")]),
    ("gpt_gelu", "gelu_backward", "factor", "the 1/sqrt(2 pi) of the pdf inverted", [("(2 * math.pi) ** -0.5", "(2 * math.pi) ** 0.5")]),
    ("gpt_gelu", "gelu_backward", "approximation", "the tanh approximation's derivative (GPT-2's GELU)", [
        ("cdf = torch.erf(inp * 2 ** -0.5).add_(1).mul_(0.5)", "t = torch.tanh((2 / math.pi) ** 0.5 * (inp + 0.044715 * inp ** 3))\n    cdf = 0.5 * (1 + t)"),
        ("pdf = (inp * inp).mul_(-0.5).exp_().mul_((2 * math.pi) ** -0.5)", "pdf = 0.5 * (1 - t ** 2) * (2 / math.pi) ** 0.5 * (1 + 3 * 0.044715 * inp ** 2)")]),
    ("gpt_residual", "residual_backward", "missing", "the skip's gradient forgotten", [("return dout, dout", "return dout, torch.zeros_like(dout)")]),
    ("gpt_residual", "residual_backward", "factor", "dout halved between the two", [("return dout, dout", "return dout / 2, dout / 2")]),
    ("gpt_residual", "residual_backward", "sign", "a minus", [("return dout, dout", "return dout, -dout")]),
    ("gpt_crossentropy", "crossentropy_backward", "factor", "the mean over B*T taken over B", [("div_(B * T)", "div_(B)")]),
    ("gpt_crossentropy", "crossentropy_backward", "sign", "one-hot minus softmax", [("return dlogits.div_(B * T)", "return -dlogits.div_(B * T)")]),
    ("gpt_crossentropy", "crossentropy_backward", "shape", "returned as (B*T, V)", [("return dlogits.div_(B * T)", "return dlogits.view(B * T, V).div_(B * T)")]),
    ("gpt_crossentropy", "crossentropy_backward", "dtype", "softmax in float32", [("torch.softmax(logits, dim=-1)", "torch.softmax(logits.float(), dim=-1)")]),
]


def source(model, step):
    "The source of the reference step, as a learner would write it."
    return SOURCES[model][step]


def mutant(model, step, edits, label):
    src = source(model, step)
    for old, new in edits:
        assert src.count(old) == 1, f"mutant {label!r}: {old!r} occurs {src.count(old)} times in {step}"
        src = src.replace(old, new)
    ns = {"torch": torch, "F": F, "math": math, "_split_qkv": gpt._split_qkv, "_causal_softmax": gpt._causal_softmax}
    exec(compile(src, f"<mutant {label}>", "exec"), ns)
    return ns[step]


def quiet(f, *args, **kw):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        return f(*args, **kw), out.getvalue()


@pytest.mark.parametrize("model", list(SOLUTIONS))
def test_every_reference_step_is_graded_correct_quickly(model):
    m = MODELS[model]
    assert set(SOLUTIONS[model]) == set(m.returns), "a reference step for every step, the fused ones included"
    slow = []
    for step, fn in SOLUTIONS[model].items():
        t0 = time.perf_counter()
        res, out = quiet(grade_step, model, fn)
        assert res.ok and res.verdict == "correct" and not res.kinds, out      # no warning either
        slow += [f"{step} {time.perf_counter() - t0:.2f} s"] if time.perf_counter() - t0 > 1.0 else []
    assert not slow, f"grading took over a second: {slow}"


@pytest.mark.parametrize("model", list(SOLUTIONS))
def test_the_reference_steps_make_a_right_table_and_autograds_gradients(model):
    table, out = quiet(grade_steps, model, SOLUTIONS[model])
    assert table.ok, out
    assert [r.gradient for r in table.rows] == [o for outs in MODELS[model].outputs.values() for o in outs]
    case = S._case(MODELS[model], 0, 0)
    inputs = {n: v for n, v in case.values.items() if n in MODELS[model].inputs}
    last = MODELS[model].names[-1]
    upstream = None if case.values[last].ndim == 0 else case.grads["d" + last]      # a block's output: its given gradient
    grads = backward_by_steps(model, SOLUTIONS[model], forward_values(model, inputs), upstream)
    for o in table.rows:
        torch.testing.assert_close(grads[o.gradient], case.grads[o.gradient], rtol=1e-10, atol=1e-12)


def test_every_exercise_step_has_three_mutants_and_forty_in_all():
    for model in EXERCISE_MODELS:
        for step in MODELS[model].returns:
            assert sum(m[:2] == (model, step) for m in MUTANTS) >= 3, (model, step)
    assert sum(m[0] in EXERCISE_MODELS for m in MUTANTS) >= 40


def test_every_mutation_changes_the_source():
    for model, step, _, what, edits in MUTANTS:
        assert all(old != new for old, new in edits), what
        mutant(model, step, edits, what)             # each old text occurs exactly once


GROUPS = {"mlp": ["mlp"], "residual": ["residual"], "charmlp": ["charmlp"],
          "gpt": sorted({m[0] for m in MUTANTS if m[0].startswith("gpt_")})}   # the GPT's blocks, counted together


@pytest.mark.parametrize("group", GROUPS)
def test_the_grader_rejects_every_mutant_and_names_the_mistake(group, record_property):
    caught, named, lines, kinds, model = 0, 0, [], {}, group
    mine = [m for m in MUTANTS if m[0] in GROUPS[group]]
    for model, step, kind, what, edits in mine:
        res, out = quiet(grade_step, model, mutant(model, step, edits, what))
        caught += not res.ok
        named += kind in res.kinds
        c, n = kinds.get(kind, (0, 0))
        kinds[kind] = (c + (not res.ok), n + (kind in res.kinds))
        if res.ok or kind not in res.kinds:
            lines.append(f"  {step}: {what}: expected {kind!r}, got {res.verdict} {res.kinds}\n{out}")
    n = len(mine)
    table = "\n".join(f"    {k:<10} {c:3} caught, {nm:3} named of {sum(m[2] == k for m in mine)}" for k, (c, nm) in sorted(kinds.items()))
    summary = f"step grader, {group}: {caught} of {n} mutants caught ({caught / n:.0%}), {named} named right ({named / n:.0%})"
    record_property("summary", summary + "\n" + table)
    print(summary + "\n" + table + ("\n" + "\n".join(lines) if lines else ""))
    assert caught == n, "\n".join(lines)
    assert named / n >= 0.95, "\n".join(lines)


# Random sizes: no right answer rejected, no case where the two references disagree.
SIZES = {"mlp": dict(N=(1, 6), n_in=(1, 5), H=(1, 5)), "residual": dict(N=(1, 5), D=(1, 5)),
         "charmlp": dict(N=(2, 9), d=(1, 3), H=(1, 7)), "gpt_encoder": dict(B=(1, 3), T=(1, 4), C=(1, 4), V=(1, 6), block_size=(4, 6)),
         "gpt_layernorm": dict(B=(1, 3), T=(1, 4), C=(1, 5)), "gpt_linear": dict(B=(1, 3), T=(1, 4), C_in=(1, 5), C_out=(1, 5)),
         "gpt_attention": dict(B=(1, 2), T=(1, 5), C=(1, 3), n_head=(1, 3)), "gpt_gelu": dict(B=(1, 3), T=(1, 4), C=(1, 5)),
         "gpt_residual": dict(B=(1, 3), T=(1, 4), C=(1, 5)), "gpt_crossentropy": dict(B=(1, 3), T=(1, 4), V=(1, 8))}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_grader_never_rejects_a_right_step(data):
    model = data.draw(st.sampled_from(sorted(SOLUTIONS)))
    m, seed = MODELS[model], data.draw(st.integers(0, 2 ** 31 - 1))
    sizes = {k: data.draw(st.integers(*r)) for k, r in SIZES[model].items()}
    if "n_head" in sizes: sizes["C"] *= sizes["n_head"]          # C: the heads' width, n_head times a head's
    case = S._hidden_case(m, sizes, seed)
    step = data.draw(st.sampled_from(sorted(m.returns)))
    judged = S._judge(SOLUTIONS[model][step], m, step, case)
    assert not judged.error and not judged.problems, (model, step, sizes, seed, judged)
    for o in m.returns[step]:
        idx, fd = S._central(m, case, o[1:])
        ag = case.grads[o].reshape(-1)[idx]
        torch.testing.assert_close(ag, fd, rtol=1e-6, atol=1e-8 * max(1., case.grads[o].abs().max().item()))


# The table.
def steps_with(model, **changed):
    "The reference steps of `model`, some replaced (a function, or a string: a mutant's source, or None to leave it out)."
    fns = dict(SOLUTIONS[model])
    for step, f in changed.items():
        if f is None: fns.pop(step)
        else: fns[step] = f
    return fns


def test_a_step_wrong_only_because_of_an_upstream_one_is_not_blamed():
    wrong = mutant("charmlp", "dsums", [(" * dinv", "")], "dinv left out")
    table, out = quiet(grade_steps, "charmlp", steps_with("charmlp", dsums=wrong))
    rows = {r.gradient: r for r in table.rows}
    assert rows["dsums"].alone == "wrong" and rows["dsums"].kind == "left out", out
    below = [r for r in table.rows if r.because]
    assert below and all(r.because == "dsums" and r.alone == "right" for r in below), out
    assert "because of dsums" in rows["dexps"].chained, out
    assert rows["dprobs"].chained.startswith(("exact", "close")) and rows["dprobs"].because is None, out
    assert "The first wrong step, dsums:" in out and "dsums: dinv is left out" in out, out


def test_a_step_waiting_for_an_unwritten_one_says_which():
    def dexps(inv, dprobs, dsums): raise NotImplementedError
    table, out = quiet(grade_steps, "charmlp", steps_with("charmlp", dexps=dexps, dinv=None))
    rows = {r.gradient: r for r in table.rows}
    assert rows["dinv"].alone == rows["dexps"].alone == "not implemented yet", out
    assert rows["dsums"].chained == "— (waits for dinv)" and rows["dshifted"].chained == "— (waits for dexps)", out
    assert rows["dprobs"].chained.startswith(("exact", "close")), out
    assert not table.ok


def test_a_tensor_or_an_unbindable_function_is_refused_on_its_row():
    def dprobs(dlogp, prob): return dlogp / prob
    table, out = quiet(grade_steps, "charmlp", steps_with("charmlp", dlogp=torch.ones(2, 27), dprobs=dprobs))
    rows = {r.gradient: r for r in table.rows}
    assert rows["dlogp"].alone == rows["dprobs"].alone == "refused", out
    assert "dlogp refused: a step is a function, such as def dlogp(...): return ...; got Tensor" in out, out
    assert "dprobs refused: dprobs(dlogp, prob): prob is not a name of the forward; did you mean probs?" in out, out


# What a learner runs into, one step at a time.
def test_a_stub_is_not_implemented_yet():
    def dprobs(dlogp, probs): raise NotImplementedError
    def dinv(exps, dprobs): pass
    for f, says in ((dprobs, "dprobs: not implemented yet. Write it in the cell above"),
                    (dinv, "dinv: not implemented yet: it ran, but returned nothing. It must return dinv.")):
        res, out = quiet(grade_step, "charmlp", f)
        assert res.verdict == "not implemented yet" and out.startswith(says) and "Traceback" not in out, out


def test_an_error_is_reported_with_its_line_and_case():
    def dbn(h, dh):
        rows = dh.reshape(-1, 100)          # 100 entries a row: no case has them
        return (1 - h ** 2) * rows
    res, out = quiet(grade_step, "charmlp", dbn)
    assert res.verdict == "failed" and "RuntimeError: shape '[-1, 100]' is invalid for input of size 5" in out, out
    assert "at line 2 of dbn: rows = dh.reshape(-1, 100)" in out and "On case 1 (h (5, 1), dh (5, 1)):" in out, out


def test_a_transposed_product_that_crashes_is_named_transposed():
    res, out = quiet(grade_step, "charmlp", mutant("charmlp", "dh", [("dlogits @ w2.T", "dlogits @ w2")], "w2 not transposed"))
    assert res.kinds == ["transposed"] and "w2 needs a transpose here" in out and "mat1 and mat2 shapes" in out, out


def test_a_returned_value_of_the_wrong_type_is_named():
    def dprobs(dlogp, probs): return (dlogp / probs).tolist()
    res, out = quiet(grade_step, "charmlp", dprobs)
    assert res.kinds == ["type"] and "it returned a list of 8; expected a tensor of shape (8, 27)" in out, out   # the widest case


def test_a_unit_factor_names_its_cause():
    res, out = quiet(grade_step, "charmlp", mutant("charmlp", "ddiff2", [(" / N", " / (N - 1)")], "unbiased"))
    assert "likely cause: N/(N-1): a variance divided by N - 1" in out, out


def test_an_input_changed_in_place_is_right_but_warned():
    "The step works on copies, so it is graded right; the report warns, since a backward pass that reads dout again would not be."
    def dshifted(exps, dexps):
        dexps *= exps
        return dexps
    def layernorm_backward(dout, inp, w, mean, rstd):
        xhat, g = (inp - mean) * rstd, dout              # g is dout, not a copy of it
        dw, db = (dout * xhat).sum((0, 1)), dout.sum((0, 1))
        g *= w
        return rstd * (g - g.mean(-1, keepdim=True) - xhat * (g * xhat).mean(-1, keepdim=True)), dw, db
    for model, f, name in (("charmlp", dshifted, "dexps"), ("gpt_layernorm", layernorm_backward, "dout")):
        res, out = quiet(grade_step, model, f)
        assert res.ok and res.kinds == ["in-place"], out
        assert f"Warning: yours changes {name} in place" in out, out
    res, out = quiet(grade_step, "charmlp", SOLUTIONS["charmlp"]["dshifted"])
    assert res.kinds == [] and "Warning" not in out, out


def test_a_wrong_step_points_to_the_section_that_derives_it():
    "Each step of the exercises' models names where its chapter derives it, and that section is a heading of that chapter."
    import re
    from pathlib import Path
    import nbformat
    nbs = Path(__file__).resolve().parent.parent / "nbs"
    for model in EXERCISE_MODELS:
        m = MODELS[model]
        assert set(m.derived) == set(m.returns), model
        for step, where in m.derived.items():
            for chapter, section in re.findall(r"[Cc]hapter (\d+)'s section '([^']+)'", where):
                book = next(nbs.glob(f"{chapter}_*.ipynb"))
                heads = [l.lstrip("#").strip() for c in nbformat.read(book, 4).cells if c.cell_type == "markdown"
                         for l in c.source.splitlines() if l.startswith("#")]
                assert section in heads, (step, section, book.name)
    res, out = quiet(grade_step, "charmlp", mutant("charmlp", "dinv", [(".sum(1, keepdim=True)", ".sum(0, keepdim=True)")], "axis"))
    assert out.rstrip().endswith("Stuck? Chapter 14's section 'Cross-entropy: 8 steps' derives it: read that step alone, then come back."), out


def test_a_sum_without_keepdim_that_breaks_a_broadcast_says_so():
    def layernorm_backward(dout, inp, w, mean, rstd):
        xhat = (inp - mean) * rstd
        g = dout * w
        dinp = rstd * (g - g.mean(-1) - xhat * (g * xhat).mean(-1))       # (B, T, C) - (B, T)
        return dinp, (dout * xhat).sum((0, 1)), dout.sum((0, 1))
    res, out = quiet(grade_step, "gpt_layernorm", layernorm_backward)
    assert res.verdict == "failed" and "must match the size of tensor" in out and "keepdim=True keeps it" in out, out


def test_the_parts_of_dqkv_are_named():
    wrong = mutant("gpt_attention", "attention_backward", [("dscores.transpose(-2, -1) @ q", "dscores @ q")], "dk as dscores @ q")
    res, out = quiet(grade_step, "gpt_attention", wrong)
    assert not res.ok and "wrong in the k part of dqkv, right in the q and v" in out, out


# Bad calls (the sweep, tests/test_bad_input_sweep.py, has one entry per kind; these are the learner's).
def test_grade_step_refuses_what_it_cannot_bind():
    def dl1(dl2, dw1): pass
    def dl2(*args): pass
    def dprobs(dlogp, probs): return dlogp / probs
    def dout(out, targ, N): return 2. * (out.squeeze(-1) - targ).unsqueeze(-1) / N
    dout_n = dout
    for args, error, says in [(("mlp", dl1), ValueError, "dw1 is not available yet: step dw1 computes it, after dl1"),
                              (("mlp", dl2), TypeError, "parameter args is not a plain name"),
                              (("mlp", dprobs), ValueError, "dprobs is not a step of this model"),
                              (("charmlp", dprobs(torch.ones(1), torch.ones(1))), TypeError, "pass the function itself"),
                              (("charmlp", lambda dlogp, probs: 1), ValueError, "<lambda> is not a step"),
                              (("chrmlp", dprobs), ValueError, "did you mean 'charmlp'"),
                              (("mlp", dout_n), ValueError, r"N is not a name of the forward; a size is no parameter: compute it in the step")]:
        with pytest.raises(error, match=says):
            grade_step(*args)


def test_backward_by_steps_refuses_a_missing_step_and_a_wrong_shape():
    case = S._case(MODELS["mlp"], 2, 0)
    values = {n: case.values[n] for n in MODELS["mlp"].names}
    with pytest.raises(ValueError, match="step db1 is not written yet"):
        backward_by_steps("mlp", steps_with("mlp", db1=None), values)
    bad = steps_with("mlp", db2=lambda dout: dout)
    with pytest.raises(ValueError, match=r"db2 returned db2 as torch.float64 of shape \(6, 1\); expected a float tensor of shape \(1,\)"):
        backward_by_steps("mlp", bad, values)


def test_a_model_is_refused_unless_its_lines_and_steps_fit():
    make, cases = (lambda gen: {}), [{}]
    for forward, steps, says in [("y = x * w\nz = y.sum()", ["dz"], "step dz returns dz, which is given"),
                                 ("y = x * w\ny = x.sum()", ["dy"], "y is assigned twice"),
                                 ("y = x * w\nz = y.sum()", ["dq"], "step dq returns dq, which is not 'd' \\+ a value"),
                                 ("y = x * w\ndy = y.sum()", ["dx"], "the value dy reads as the gradient of y"),
                                 ("y = z * w\nz = y.sum()", ["dy"], "reads z, which a line at or after it assigns"),
                                 ("y = x * w\nz.a = y.sum()", ["dy"], "must assign one name or a tuple of names"),
                                 ("y = x *", ["dy"], "line 1 of the forward is not Python")]:
        with pytest.raises(ValueError, match=says):
            StepModel(forward, steps, make, cases)


def test_a_step_that_writes_in_place_harms_no_other():
    "backward_by_steps gives each step copies: dprobs dividing dlogp in place leaves the dlogp that the table reads."
    def dprobs(dlogp, probs):
        dlogp /= probs
        return dlogp
    case = S._case(MODELS["charmlp"], 0, 0)
    values = {n: case.values[n] for n in MODELS["charmlp"].names}
    grads = backward_by_steps("charmlp", steps_with("charmlp", dprobs=dprobs), values)
    torch.testing.assert_close(grads["dlogp"], case.grads["dlogp"], rtol=1e-12, atol=0)
    torch.testing.assert_close(grads["demb_w"], case.grads["demb_w"], rtol=1e-10, atol=1e-12)


def test_a_block_that_calls_a_function_and_makes_a_value_after_its_output():
    "A model's lines may call functions of its namespace; its output (whose gradient is given) need not be its last value."
    def centre(x):
        mean = x.mean(-1, keepdim=True)
        return x - mean, mean
    lines = S._lines_of(centre, returns=("out", "mean"))
    assert lines == "mean = x.mean(-1, keepdim=True)\nout = x - mean"
    MODELS["_centre"] = StepModel("out, mean = centre(inp)", ["centre_backward -> dinp"],
                                  lambda gen, N: dict(inp=S._randn(gen, N, 3)), [dict(N=1), dict(N=4)],
                                  output="out", namespace={"centre": centre})
    try:
        assert MODELS["_centre"].inputs == ["inp"] and MODELS["_centre"].given == "dout"
        def centre_backward(dout, mean): return dout - dout.mean(-1, keepdim=True)
        res, out = quiet(grade_step, "_centre", centre_backward)
        assert res.ok, out
        def centre_backward(dout): return dout
        res, out = quiet(grade_step, "_centre", centre_backward)
        assert not res.ok, out
    finally:
        del MODELS["_centre"]


def gpt_solutions(**changed):
    "Every GPT block's reference function by name, some replaced."
    return {**{s: SOLUTIONS[m][s] for s, m in S.GPT_BLOCKS.items()}, **changed}


def test_grade_blocks_names_the_first_wrong_block_and_your_blocks_puts_them_back():
    wrong = mutant("gpt_gelu", "gelu_backward", [(".mul_(dout)", "")], "dout forgotten")
    grades, out = quiet(S.grade_blocks, gpt_solutions(gelu_backward=wrong))
    assert [s for s, g in grades.items() if not g.ok] == ["gelu_backward"], out
    assert "The first wrong block, gelu_backward:" in out and "dout is left out" in out, out
    grades, out = quiet(S.grade_blocks, gpt_solutions())
    assert all(g.ok for g in grades.values()) and out.startswith("the GPT's blocks: 7 of 7 right"), out
    theirs = gpt.layernorm_backward
    with pytest.raises(RuntimeError, match="inside"):
        with S.your_blocks(gpt_solutions()):
            assert gpt.layernorm_backward is SOLUTIONS["gpt_layernorm"]["layernorm_backward"]
            raise RuntimeError("inside")
    assert gpt.layernorm_backward is theirs
