"""Chapter 7's guard rails live in appendix 90 (backprop.guards) and the full checker in appendix 93, which exports
into backprop.check: the public names stay where they were, and each function keeps its guard to one line
(tests/test_imports.py checks that backprop.guards imports no module of the package)."""
import inspect
import re

import pytest

import backprop.check
from backprop.check import GradReport, GradTable, check_grads, compare_grads, diagnose, rel_error

# The guard lines of ../shared/tools/readability.py: a raise, an isinstance test, or a check call.
GUARD = re.compile(r"(\braise\b|isinstance\(|\b_?check_\w*\(|\b_check\w*\()")


def guard_lines(fn):
    lines = [l for l in inspect.getsource(fn).splitlines()[1:] if l.strip() and not l.lstrip().startswith("#")]
    return [l for l in lines if GUARD.search(re.sub(r'"[^"]*"', '""', l))]   # not a word of a message ("raise fd_max")


@pytest.mark.parametrize("fn, most", [(rel_error, 1), (diagnose, 1), (GradReport.__init__, 1), (GradTable.__init__, 1),
                                      (check_grads, 2), (compare_grads, 2)])   # compare_grads: its arguments, and a row that is not a tensor   # check_grads: its arguments, and at the end that something was compared
def test_each_function_keeps_its_guards_to_a_line(fn, most):
    assert len(guard_lines(fn)) <= most, f"{fn.__qualname__}: {guard_lines(fn)}"


def test_the_public_api_stays_in_backprop_check():
    assert backprop.check.__all__ == ["TOLERANCES", "FD_H", "FD_TOL", "rel_error", "numerical_grad", "diagnose", "Row",
                                      "GradReport", "check_grads", "GradRow", "GradTable", "compare_grads"]   # the last three: chapter 14's table
    for name in ["rel_error", "numerical_grad", "diagnose", "Row", "GradReport", "check_grads", "GradRow", "GradTable", "compare_grads"]:
        assert getattr(backprop.check, name).__module__ == "backprop.check", name

