"""backprop.matmul: the four matrix products of chapter 1 agree with `@`, and bad input gets a clear error from the
package's own checks (appendix 90), never an IndexError from deep in a loop or a silently wrong product."""
import traceback
from pathlib import Path

import pytest
import torch

import backprop
from backprop.matmul import matmul_broadcast, matmul_einsum, matmul_elementwise, matmul_loops

PRODUCTS = [matmul_loops, matmul_elementwise, matmul_broadcast, matmul_einsum]
SHAPES = [(4, 5, 3), (1, 7, 2), (3, 1, 4), (2, 6, 1), (1, 1, 1), (2, 0, 3)]   # (m, n, p): width 1, N = 1, k empty
ids = [f.__name__ for f in PRODUCTS]


def rand(*shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("f", PRODUCTS, ids=ids)
@pytest.mark.parametrize("m,n,p", SHAPES)
def test_equals_matmul_in_float64(f, m, n, p):
    a, b = rand(m, n), rand(n, p, seed=1)
    torch.testing.assert_close(f(a, b), a @ b, rtol=1e-12, atol=1e-12)      # same shape, dtype float64


@pytest.mark.parametrize("f", PRODUCTS, ids=ids)
def test_keeps_float32_and_agrees_on_digits(f):
    from backprop.data import load_mnist_sample
    x, _ = load_mnist_sample()
    a, w = x[:2], rand(784, 10, dtype=torch.float32)
    torch.testing.assert_close(f(a, w), a @ w, rtol=1e-5, atol=1e-5)         # float32 in, float32 out


@pytest.mark.parametrize("f", PRODUCTS, ids=ids)
def test_the_check_can_fail(f):
    "The check above must be able to fail: a product with b's rows taken in another order differs."
    a, b = rand(3, 4), rand(4, 2, seed=1)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(f(a, b.flip(0)), a @ b, rtol=1e-5, atol=1e-5)


BAD = [  # (a, b, error type, message pattern); every message names the function first
    (rand(2, 3), rand(2, 3), ValueError, r"a has shape \(2, 3\) and b has shape \(2, 3\); a\.shape\[1\] must equal b\.shape\[0\]"),
    (rand(2, 3), rand(5, 2), ValueError, r"a has shape \(2, 3\) and b has shape \(5, 2\)"),   # the loops would silently use 3 of 5 rows
    (rand(3), rand(3, 2), ValueError, r"a must be a matrix \(2 dimensions\), got shape \(3,\)"),
    (rand(2, 3), rand(3, 2, 1), ValueError, r"b must be a matrix \(2 dimensions\), got shape \(3, 2, 1\)"),
    ([[1.0, 2.0]], rand(2, 1), TypeError, r"a must be a torch\.Tensor, got list"),
    (rand(2, 3), None, TypeError, r"b must be a torch\.Tensor, got NoneType"),
    (torch.ones(2, 3, dtype=torch.int64), torch.ones(3, 2, dtype=torch.int64), TypeError, r"a has dtype torch\.int64; expected a floating-point"),
    (rand(2, 3), rand(3, 2, dtype=torch.float32), TypeError, r"all tensors must have the same dtype, got a: torch\.float64, b: torch\.float32"),
]


@pytest.mark.parametrize("f", PRODUCTS, ids=ids)
@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_input_gets_a_clear_error_from_the_package(f, case):
    a, b, error, pattern = BAD[case]
    with pytest.raises(error, match=f"^{f.__name__}: .*{pattern}") as info:
        f(a, b)
    frame = traceback.extract_tb(info.value.__traceback__)[-1]               # raised by a check of backprop itself
    assert Path(frame.filename).resolve().is_relative_to(Path(backprop.__file__).resolve().parent), frame
    assert "raise" in frame.line, frame
