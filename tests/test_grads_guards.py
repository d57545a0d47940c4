"""Chapter 3's guard rails live in appendix 90 (backprop.guards): each gradient function (and chapter 7's
numerical_grad) keeps one guard line, the private helpers other modules import still come from backprop.grads
and backprop.check, and mse_grad's messages name its own parameter, `inp`."""
import inspect
import re

import pytest
import torch

import backprop.grads
import backprop.guards
from backprop.grads import assert_same_grads, autograd_grads, lin_grad, mse_grad, relu_grad
from backprop.check import numerical_grad

# The guard lines of ../shared/tools/readability.py: a raise, an isinstance test, or a check call.
GUARD = re.compile(r"(\braise\b|isinstance\(|\b_?check_\w*\(|\b_check\w*\()")


@pytest.mark.parametrize("fn", [mse_grad, relu_grad, lin_grad, numerical_grad, backprop.grads.forward_and_backward,
                                autograd_grads, assert_same_grads])
def test_each_gradient_function_has_at_most_one_guard_line(fn):
    lines = [l for l in inspect.getsource(fn).splitlines() if l.strip() and not l.lstrip().startswith("#")]
    guards = [l for l in lines if GUARD.search(l)]
    assert len(guards) <= 1, f"{fn.__name__} has {len(guards)} guard lines: {guards}"


def test_private_helpers_stay_importable_from_grads_and_check():
    from backprop.grads import _upstream
    from backprop.check import _scalar              # numerical_grad's, with it in chapter 7
    assert _upstream is backprop.guards._upstream and _scalar is backprop.guards._scalar


@pytest.mark.parametrize("call, error, match", [
    (lambda: mse_grad(torch.randn(5), torch.randn(5, 1)), ValueError, r"mse_grad: inp must have 2 dimension\(s\), got shape \(5,\)"),
    (lambda: mse_grad(torch.randn(5, 2), torch.randn(5)), ValueError, r"mse_grad: inp must have shape \(N, 1\) with N >= 1, got \(5, 2\)"),
    (lambda: mse_grad(torch.randn(0, 1), torch.randn(0)), ValueError, r"mse_grad: inp must have shape \(N, 1\) with N >= 1"),
    (lambda: mse_grad(torch.randn(5, 1), torch.randn(5, 1)), ValueError,
     r"mse_grad: inp has shape \(5, 1\) so targ must have shape \(5,\), got \(5, 1\); an \(N, 1\) target would broadcast"),
    (lambda: mse_grad(torch.randn(5, 1), torch.randn(4)), ValueError, r"inp has shape \(5, 1\) so targ must have shape \(5,\), got \(4,\)$"),
    (lambda: mse_grad([1.0], torch.randn(1)), TypeError, r"mse_grad: inp must be a torch.Tensor, got list"),
    (lambda: mse_grad(torch.ones(2, 1, dtype=torch.int64), torch.ones(2)), TypeError, r"mse_grad: inp has dtype torch.int64"),
    (lambda: mse_grad(torch.randn(2, 1, dtype=torch.float64), torch.randn(2)), TypeError,
     r"mse_grad: all tensors must have the same dtype, got inp: torch.float64, targ: torch.float32"),
])
def test_mse_grad_messages_name_its_parameter_inp(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert "out" not in str(info.value)
