"""Reference solutions of the exercises (nbs/exercises/): one function per exercise of `backprop.exercises`.

Kept out of the course's notebooks on purpose: a learner opens them only by opening this file. The tests
run each through the grader (tests/test_exercises.py) and put each into its exercise notebook's stub cell
(the source of each function below replaces the stub, so each uses nothing but torch and its arguments).
"""
import torch


def relu_grad(inp, out):
    inp.g = (inp > 0).to(inp.dtype) * out.g


def sigmoid_grad(inp, out):
    inp.g = out * (1 - out) * out.g                 # σ' = σ (1 - σ), and σ is out


def tanh_grad(inp, out):
    inp.g = (1 - out ** 2) * out.g                  # tanh' = 1 - tanh²


def leaky_relu_grad(inp, out, slope):
    inp.g = torch.where(inp > 0, 1.0, slope).to(inp.dtype) * out.g    # 0.1 in float32: off by 1.5e-8, within tolerance


def huber_grad(inp, out, targ):
    r = inp.squeeze(-1) - targ                      # (N,)
    inp.g = (r.clamp(-1, 1) / r.shape[0] * out.g).unsqueeze(-1)    # (N, 1); out.g is a scalar


def linear_grad(inp, out, w, b):
    inp.g = out.g @ w                               # (N, n_out) @ (n_out, n_in) -> (N, n_in)
    w.g = out.g.t() @ inp                           # (n_out, N) @ (N, n_in) -> (n_out, n_in)
    b.g = out.g.sum(0)                              # (n_out,)


def dropout_grad(inp, out, mask, p):
    inp.g = out.g * mask / (1 - p)


def embedding_grad(idx, out, w):
    w.g = torch.zeros_like(w).index_add_(0, idx, out.g)     # a row used twice adds both rows of out.g


def conv1d_grad(inp, out, w, b):
    K, L_out = w.shape[2], out.shape[2]
    windows = inp.unfold(2, K, 1)                   # (N, C_in, L_out, K)
    w.g = torch.einsum("not,nctk->ock", out.g, windows)
    b.g = out.g.sum((0, 2))
    inp.g = torch.zeros_like(inp)
    for k in range(K):                              # tap k of every window reads inp[:, :, k:k + L_out]
        inp.g[:, :, k:k + L_out] += torch.einsum("not,oc->nct", out.g, w[:, :, k])


def maxpool_grad(inp, out, k):
    N, C, L = inp.shape
    n = L // k * k                                  # the entries that belong to a window
    is_max = inp[..., :n].reshape(N, C, L // k, k) == out.unsqueeze(-1)
    inp.g = torch.zeros_like(inp)
    inp.g[..., :n] = (is_max * out.g.unsqueeze(-1)).reshape(N, C, n)


def softmax_grad(inp, out):
    inp.g = out * (out.g - (out.g * out).sum(-1, keepdim=True))


def layernorm_grad(inp, out, w, b):
    mean = inp.mean(-1, keepdim=True)
    var = ((inp - mean) ** 2).mean(-1, keepdim=True)
    rstd = 1 / (var + 1e-5).sqrt()
    xhat = (inp - mean) * rstd
    w.g = (out.g * xhat).sum(0)
    b.g = out.g.sum(0)
    d = out.g * w                                   # the gradient of xhat
    inp.g = rstd * (d - d.mean(-1, keepdim=True) - xhat * (d * xhat).mean(-1, keepdim=True))


def batchnorm_grad(inp, out, w, b):
    mean = inp.mean(0, keepdim=True)
    var = ((inp - mean) ** 2).mean(0, keepdim=True)
    rstd = 1 / (var + 1e-5).sqrt()
    xhat = (inp - mean) * rstd
    w.g = (out.g * xhat).sum(0)
    b.g = out.g.sum(0)
    d = out.g * w
    inp.g = rstd * (d - d.mean(0, keepdim=True) - xhat * (d * xhat).mean(0, keepdim=True))


def attention_grad(q, k, v, out):
    scale = q.shape[1] ** -0.5
    P = torch.softmax(q @ k.t() * scale, dim=-1)    # (T, S)
    v.g = P.t() @ out.g                             # (S, T) @ (T, d_v)
    dP = out.g @ v.t()                              # (T, S)
    dS = P * (dP - (dP * P).sum(-1, keepdim=True)) * scale
    q.g = dS @ k                                    # (T, S) @ (S, d)
    k.g = dS.t() @ q                                # (S, T) @ (T, d)


def tanh_backward_grad(inp, gout, out):
    t = torch.tanh(inp)
    inp.g = out.g * gout * -2 * t * (1 - t ** 2)    # d/dx of G (1 - tanh² x): the product rule, tanh' = 1 - tanh²
    gout.g = out.g * (1 - t ** 2)                   # linear in G


def segment_grad(inp, out, w1, b1, w2, b2):
    a = torch.tanh(inp @ w1 + b1)                   # recomputed: the segment kept only its input
    w2.g, b2.g = a.t() @ out.g, out.g.sum(0)
    d_h = (out.g @ w2.t()) * (1 - a ** 2)           # (N, h)
    w1.g, b1.g, inp.g = inp.t() @ d_h, d_h.sum(0), d_h @ w1.t()


SOLUTIONS = {name[:-len("_grad")]: f for name, f in dict(globals()).items() if name.endswith("_grad")}
