"""Reference solutions of the step-by-step exercises (backprop.steps, appendix 99): one function per step.

Each model's steps are its backward pass, one gradient per function, named after the gradient it returns, its
parameters the names it reads (appendix 99's convention). Chapter 3's MLP is chapter 3's `forward_and_backward`,
line for line. Chapter 14's model is chapter 14's backward, exactly its lines: the chapter computes its steps in
four block functions, one gradient a line (`dprobs = dlogp / probs`), and `from_block` makes each line a step of
its own (`def dprobs(dlogp, probs): return dlogp / probs`), with the lines before it that it needs (`N = len(dbn)`).
Chapter 15's blocks are chapter 15's own backward functions, in llm.c's style (their docstring and guard left out),
and a residual add's, which chapter 15 writes inline. Kept out of the course's notebooks on purpose: the tests grade each (tests/test_steps.py) and put its source
(SOURCES) into its exercise notebook's stub cell, so each uses nothing but torch, torch.nn.functional as F, and its
parameters.
"""
import ast
import inspect
import math
import textwrap

import torch
import torch.nn.functional as F

from backprop import charmlp, gpt
from backprop.steps import GPT_BLOCKS

SOLUTIONS = {}      # model -> {step: function}, in the model's backward order
SOURCES = {}        # model -> {step: its source, as a learner would type it}


def solution(model):
    "Register the decorated function as the reference solution of its step of `model`."
    def add(fn):
        SOLUTIONS.setdefault(model, {})[fn.__name__] = fn
        SOURCES.setdefault(model, {})[fn.__name__] = "".join(l for l in inspect.getsourcelines(fn)[0] if not l.startswith("@"))
        return fn
    return add


def _add(model, name, source):
    "Register the step `name` of `model` written in `source` (def name(...): ...)."
    ns = {"torch": torch, "F": F, "math": math, "_split_qkv": gpt._split_qkv, "_causal_softmax": gpt._causal_softmax}
    exec(compile(source, f"<{model} {name}>", "exec"), ns)
    SOLUTIONS.setdefault(model, {})[name] = ns[name]
    SOURCES.setdefault(model, {})[name] = source


def _reads(node):
    names = sorted((n for n in ast.walk(node) if isinstance(n, ast.Name)), key=lambda n: (n.lineno, n.col_offset))
    return list(dict.fromkeys(n.id for n in names if n.id not in ("torch", "F", "len")))


def from_block(model, block, steps, rename=None):
    """The steps of a backward block written one gradient a line: each line `dX = ...` (or the `return` line, as
    `rename`) becomes `def dX(...)`, its parameters the names it reads, with the lines before it that it needs."""
    src = textwrap.dedent(inspect.getsource(block))
    body, text, helpers = ast.parse(src).body[0].body, src.splitlines(), []
    for stmt in body:
        line = "\n".join(text[stmt.lineno - 1:stmt.end_lineno]).strip()
        target = stmt.targets[0].id if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name) else None
        if isinstance(stmt, ast.Assign) and target not in steps:
            helpers.append((set(_reads(stmt.targets[0])), _reads(stmt.value), line))     # N = len(dbn), N, V = logp.shape
        elif target in steps or (isinstance(stmt, ast.Return) and rename):
            name, expr = (target, line[len(target) + 3:]) if target else (rename, line[len("return "):])
            needed = [h for h in helpers if h[0] & set(_reads(stmt.value))]
            made = set().union(*(h[0] for h in needed))
            params = dict.fromkeys(p for p in [r for h in needed for r in h[1]] + _reads(stmt.value) if p not in made)
            _add(model, name, f"def {name}({', '.join(params)}):\n"
                 + "".join(f"    {h[2]}\n" for h in needed) + f"    return {expr}\n")


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


# Chapter 14's character-level MLP: its backward, one line per step, and its two fused forms.
for block in charmlp.BACKWARD:
    from_block("charmlp", block, charmlp.BACKWARD_ORDER)
_add("charmlp", "dlogits_fused", "def dlogits_fused(logits, yb):\n"
     "    return (torch.softmax(logits, 1) - F.one_hot(yb, 27).double()) / len(yb)\n")     # the chapter's line
from_block("charmlp", charmlp.batchnorm_backward_fused, (), rename="dlin1_fused")


# Chapter 15's blocks: its own backward functions, and the residual add's.
def from_function(model, fn):
    "Register chapter 15's block function fn as a learner writes it: its docstring and its guard's line left out."
    src = textwrap.dedent(inspect.getsource(fn))
    drop = {s.lineno for s in ast.parse(src).body[0].body if isinstance(s, ast.Expr)}
    _add(model, fn.__name__, "".join(line for i, line in enumerate(src.splitlines(keepends=True), 1) if i not in drop))


for step, model in GPT_BLOCKS.items():
    if hasattr(gpt, step):
        from_function(model, getattr(gpt, step))
_add("gpt_residual", "residual_backward", "def residual_backward(dout):\n    return dout, dout  # the add passes dout to both\n")
