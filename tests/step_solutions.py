"""Reference solutions of the step-by-step exercises (backprop.steps, appendix 99): one function per step.

Each model's steps are its backward pass, one gradient per function, named after the gradient it returns, its
parameters the names it reads (appendix 99's convention). Chapter 3's MLP is chapter 3's `forward_and_backward`,
line for line; chapter 14's model is chapter 14's backward, line for line (the chapter computes each step inside
a block function; here each line is its own function). Kept out of the course's notebooks on purpose: the tests
grade each (tests/test_steps.py) and put its source into its exercise notebook's stub cell, so each uses nothing
but torch, torch.nn.functional as F, and its parameters.
"""
import torch
import torch.nn.functional as F  # noqa: F401  (the fused cross-entropy step uses it)

SOLUTIONS = {}      # model -> {step: function}, in the model's backward order


def solution(model):
    "Register the decorated function as the reference solution of its step of `model`."
    def add(fn):
        SOLUTIONS.setdefault(model, {})[fn.__name__] = fn
        return fn
    return add


# Chapter 3's MLP (appendix 99 shows these; chapter 3 derives them).
@solution("mlp")
def dout(out, targ):
    return 2. * (out.squeeze(-1) - targ).unsqueeze(-1) / out.shape[0]   # chapter 3's mse_grad: (N, 1)


@solution("mlp")
def dl2(dout, w2):
    return dout @ w2.T                  # (N, 1) @ (1, H) -> (N, H)


@solution("mlp")
def dw2(dout, l2):
    return l2.T @ dout                  # (H, N) @ (N, 1) -> (H, 1)


@solution("mlp")
def db2(dout):
    return dout.sum(0)                  # (1,)


@solution("mlp")
def dl1(dl2, l1):
    return (l1 > 0).to(l1.dtype) * dl2  # relu_grad


@solution("mlp")
def dinp(dl1, w1):
    return dl1 @ w1.T                   # (N, H) @ (H, n_in) -> (N, n_in)


@solution("mlp")
def dw1(dl1, inp):
    return inp.T @ dl1                  # (n_in, N) @ (N, H) -> (n_in, H)


@solution("mlp")
def db1(dl1):
    return dl1.sum(0)                   # (H,)


# Appendix 99's block-level example: out = inp + (inp @ w + b).
@solution("residual")
def residual_backward(dout, inp, w):
    return dout + dout @ w.T, inp.T @ dout, dout.sum(0)     # dinp: the skip path and the linear one


# Chapter 14's character-level MLP: its backward, one line per step.
@solution("charmlp")
def dlogp(yb, logp):
    N, V = logp.shape
    return -(torch.arange(V) == yb[:, None]).to(logp.dtype) / N    # (N, V): -1/N at each row's label, else 0


@solution("charmlp")
def dprobs(dlogp, probs):
    return dlogp / probs                                # (N, V)


@solution("charmlp")
def dinv(exps, dprobs):
    return (exps * dprobs).sum(1, keepdim=True)         # (N, V) -> (N, 1): inv was broadcast along the row


@solution("charmlp")
def dsums(sums, dinv):
    return -sums ** -2 * dinv                           # (N, 1)


@solution("charmlp")
def dexps(inv, dprobs, dsums):
    return inv * dprobs + dsums                         # (N, V): two uses; dsums (N, 1) broadcast along the row


@solution("charmlp")
def dshifted(exps, dexps):
    return exps * dexps                                 # (N, V)


@solution("charmlp")
def dmaxes(dshifted):
    return -dshifted.sum(1, keepdim=True)               # (N, 1): about 0


@solution("charmlp")
def dlogits(dshifted, logits, maxes, dmaxes):
    return dshifted + (logits == maxes).to(logits.dtype) * dmaxes   # (N, V): two uses; the max routes to its winner


@solution("charmlp")
def dh(dlogits, w2):
    return dlogits @ w2.T                               # (N, V) @ (V, H) -> (N, H)


@solution("charmlp")
def dw2(h, dlogits):
    return h.T @ dlogits                                # (H, N) @ (N, V) -> (H, V)


@solution("charmlp")
def db2(dlogits):
    return dlogits.sum(0)                               # (V,)


@solution("charmlp")
def dbn(h, dh):
    return (1 - h ** 2) * dh                            # (N, H)


@solution("charmlp")
def dbn_w(xhat, dbn):
    return (xhat * dbn).sum(0)                          # (H,)


@solution("charmlp")
def dbn_b(dbn):
    return dbn.sum(0)                                   # (H,)


@solution("charmlp")
def dxhat(bn_w, dbn):
    return bn_w * dbn                                   # (N, H)


@solution("charmlp")
def drstd(diff, dxhat):
    return (diff * dxhat).sum(0, keepdim=True)          # (1, H): rstd was broadcast down each column


@solution("charmlp")
def dvar(var, eps, drstd):
    return -0.5 * (var + eps) ** -1.5 * drstd           # (1, H)


@solution("charmlp")
def ddiff2(diff2, dvar):
    N = len(diff2)
    return torch.ones_like(diff2) * dvar / N            # (N, H): the mean spreads dvar over the N rows


@solution("charmlp")
def ddiff(rstd, dxhat, diff, ddiff2):
    return rstd * dxhat + 2 * diff * ddiff2             # (N, H): two uses


@solution("charmlp")
def dmu(ddiff):
    return -ddiff.sum(0, keepdim=True)                  # (1, H)


@solution("charmlp")
def dlin1(ddiff, dmu):
    N = len(ddiff)
    return ddiff + dmu / N                              # (N, H): two uses; mu was the mean of lin1


@solution("charmlp")
def dflat(dlin1, w1):
    return dlin1 @ w1.T                                 # (N, H) @ (H, B*d) -> (N, B*d)


@solution("charmlp")
def dw1(flat, dlin1):
    return flat.T @ dlin1                               # (B*d, N) @ (N, H) -> (B*d, H)


@solution("charmlp")
def db1(dlin1):
    return dlin1.sum(0)                                 # (H,): about 0, since batch norm removes the mean


@solution("charmlp")
def demb(dflat, emb):
    return dflat.view(emb.shape)                        # (N, B, d)


@solution("charmlp")
def demb_w(emb_w, xb, demb):
    return torch.zeros_like(emb_w).index_add_(0, xb.view(-1), demb.view(-1, emb_w.shape[1]))   # (V, d): uses add


@solution("charmlp")
def dlogits_fused(logits, yb):
    return (torch.softmax(logits, 1) - F.one_hot(yb, logits.shape[1]).to(logits.dtype)) / len(yb)


@solution("charmlp")
def dlin1_fused(dbn, xhat, rstd, bn_w):
    N = len(dbn)
    return bn_w * rstd / N * (N * dbn - dbn.sum(0) - xhat * (xhat * dbn).sum(0))   # (H,) (1, H) (N, H) -> (N, H)
