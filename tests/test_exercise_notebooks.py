"""The exercise notebooks (nbs/exercises/) as a learner gets them, and with the solutions filled in; and the
worked solutions (nbs/solutions/), which the tests take the reference solutions from.

Each runs top to bottom with nbdev's runner (execnb's CaptureShell), here in this process (so torch is
imported once): as handed out, every grader cell says "not implemented yet" and no cell errors; with
each stub cell replaced by the source of its reference solution (tests/exercise_solutions.py), every
exercise is graded correct. And the notebooks are what a learner should get: no outputs, nothing
exported, no solution in them, each exercise's forward (shown in its markdown) computing what the
grader differentiates, its method's chapter, its signature and its hidden cases' shapes stated, and a link to
its worked solutions at the end. Each worked solution derives its gradient (math) before its code, and every
one of them is graded correct when its notebook runs.
"""
import inspect
import math
import re
from pathlib import Path

import nbformat
import pytest
import torch
from execnb.nbio import dict2nb
from execnb.shell import CaptureShell

import backprop.exercises as E
from backprop.guards import _shape
from exercise_solutions import SOLUTIONS

root = Path(__file__).resolve().parent.parent
# The notebooks of appendix 97's exercises (those of appendix 99's steps: tests/test_step_notebooks.py).
BOOKS = sorted(b for b in (root / "nbs" / "exercises").glob("*.ipynb") if "from backprop.exercises import" in b.read_text())
WORKED = sorted((root / "nbs" / "solutions").glob("*.ipynb"))
EVERY = {**E.EXERCISES, **E.PUZZLES}
STUB = re.compile(r"^def (\w+)_grad\(.*\):\n    raise NotImplementedError  # your code: set ", re.S)
GRADE = re.compile(r'^grade\("(\w+)", (\w+)_grad\)$')


def exercises(nb):
    "[(name, index of its stub cell, index of its grader cell)] in the notebook's order."
    found = []
    for i, c in enumerate(nb.cells):
        m = STUB.match(c.source) if c.cell_type == "code" else None
        if m:
            g = GRADE.match(nb.cells[i + 1].source)
            assert g and g.group(1) == g.group(2) == m.group(1), f"cell {i + 1} must grade {m.group(1)}_grad"
            found.append((m.group(1), i, i + 1))
    return found


def hidden_cases(ex):
    "The line under each exercise that lists its hidden cases, in the shapes grade's report prints."
    shapes = []
    for i, sizes in enumerate(ex.cases):
        args = ex.make(torch.Generator().manual_seed(i), **sizes)
        shown = {**args, "out": ex.forward(*args.values())}
        shapes.append(", ".join(f"{m} {_shape(shown[m]) if torch.is_tensor(shown[m]) else shown[m]}" for m in ex.params))
    return "**Hidden cases:** " + "; ".join(f"({i}) {t}" for i, t in enumerate(shapes, 1)) + "."


def run(nb):
    "Run every cell of nb (in this process); the text each cell printed or showed, and its errors."
    nb = dict2nb(nb)                                  # execnb's own notebook type
    CaptureShell().run_all(nb)
    texts, errors = [], []
    for i, c in enumerate(nb.cells):
        outs = c.get("outputs", []) if c.cell_type == "code" else []
        parts = [o["text"] if "text" in o else o.get("data", {}).get("text/plain", "") for o in outs]
        texts.append("".join("".join(p) if isinstance(p, list) else p for p in parts))
        errors += [f"cell {i}: {o['ename']}: {o['evalue']}" for o in outs if o.get("output_type") == "error"]
    return texts, errors


def test_every_exercise_is_in_one_notebook():
    names = [n for b in BOOKS for n, _, _ in exercises(nbformat.read(b, as_version=4))]
    assert sorted(names) == sorted(EVERY) and len(BOOKS) >= 4
    for b in BOOKS:                                   # and in the notebook its hints point to
        assert all(EVERY[n].book == b.stem for n, _, _ in exercises(nbformat.read(b, as_version=4))), b.name


@pytest.mark.parametrize("book", BOOKS, ids=[b.stem for b in BOOKS])
def test_as_handed_out_every_stub_is_not_implemented_yet(book):
    nb = nbformat.read(book, as_version=4)
    texts, errors = run(nb)
    assert not errors, errors
    for name, _, g in exercises(nb):
        assert texts[g].startswith(f"{name}_grad: not implemented yet."), texts[g]
        assert "Traceback" not in texts[g]


@pytest.mark.parametrize("book", BOOKS, ids=[b.stem for b in BOOKS])
def test_with_the_solutions_filled_in_every_exercise_is_correct(book):
    nb = nbformat.read(book, as_version=4)
    for name, s, _ in exercises(nb):
        nb.cells[s].source = inspect.getsource(SOLUTIONS[name])
    texts, errors = run(nb)
    assert not errors, errors
    for name, _, g in exercises(nb):
        assert texts[g].startswith(f"{name}_grad: correct on all"), texts[g]


@pytest.mark.parametrize("book", BOOKS, ids=[b.stem for b in BOOKS])
def test_a_notebook_holds_what_a_learner_should_get(book):
    nb = nbformat.read(book, as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert not any(c.get("outputs") or c.get("execution_count") for c in nb.cells if c.cell_type == "code"), \
        "saved with outputs"
    assert "#| export" not in text and "default_exp" not in text, "an exercise notebook exports nothing"
    if exercises(nb):                                  # its introduction tells the learner to call hint(...)
        assert "from backprop.exercises import grade, hint" in text, "hint is not imported"
    for name, s, _ in exercises(nb):
        ex, md = EVERY[name], nb.cells[s - 1].source
        assert ex.chapter in md and f"`{name}_grad({', '.join(ex.params)})`" in md, name
        assert md.endswith(hidden_cases(ex)), f"{name}: its markdown must end with {hidden_cases(ex)!r}"
        code = re.search(r"```python\n(.*?)```", md, re.S).group(1)
        body = [l.split("#")[0].strip() for l in inspect.getsource(SOLUTIONS[name]).splitlines()[1:]]
        shown = [l for l in body if len(l) > 12 and l in text and l not in code]     # beyond the forward's own lines
        assert not shown, f"{name}: the notebook shows lines of its solution: {shown}"
        # the forward shown in the markdown computes what the grader differentiates
        ns = {"torch": torch, "math": math, "softmax": E.softmax}
        exec(code, ns)
        args = ex.make(torch.Generator().manual_seed(0), **ex.cases[-1])
        torch.testing.assert_close(ns[ex.forward.__name__](*args.values()), ex.forward(*args.values()),
                                   rtol=1e-12, atol=1e-12)


GRADED = [b for b in BOOKS if exercises(nbformat.read(b, as_version=4))]      # the notebooks that `grade` grades


@pytest.mark.parametrize("book", GRADED, ids=[b.stem for b in GRADED])
def test_a_notebook_ends_with_the_link_to_its_worked_solutions(book):
    last = nbformat.read(book, as_version=4).cells[-1]
    link = f"[solutions/{book.name}](../solutions/{book.name})"
    assert last.cell_type == "markdown" and link in last.source, last.source
    assert (root / "nbs" / "solutions" / book.name).exists()


def worked(nb):
    "[(name, index of its solution cell)] in a worked solutions notebook."
    return [(m[1], i) for i, c in enumerate(nb.cells) if c.cell_type == "code" and (m := re.match(r"def (\w+)_grad\(", c.source))]


def test_every_exercise_has_one_worked_solution_in_the_notebook_beside_its_own():
    found = [(n, b.stem) for b in WORKED for n, _ in worked(nbformat.read(b, as_version=4))]
    assert sorted(n for n, _ in found) == sorted(EVERY), "one worked solution per exercise and puzzle"
    assert all(EVERY[n].book == stem for n, stem in found)
    assert sorted(b.name for b in WORKED) == sorted(b.name for b in GRADED)


@pytest.mark.parametrize("book", WORKED, ids=[b.stem for b in WORKED])
def test_a_worked_solution_derives_before_it_codes_and_is_graded_correct(book):
    """Each solution cell follows its derivation in math: entry by entry (element by element) and then the
    matrix form (or the vector-Jacobian product, for a puzzle); the notebook runs, and grades each one correct."""
    nb = nbformat.read(book, as_version=4)
    for name, i in worked(nb):
        md = nb.cells[i - 1].source
        assert nb.cells[i - 1].cell_type == "markdown" and md.count("$") >= 4, f"{name}: no derivation (math) before the code"
        assert re.search(r"[Ee]lement by element|entry by entry", md) and re.search(r"Matrix form|vector-Jacobian product", md), name
        assert nb.cells[i + 1].source == f'grade("{name}", {name}_grad)', name
    texts, errors = run(nb)
    assert not errors, errors
    for name, i in worked(nb):
        assert texts[i + 1].startswith(f"{name}_grad: correct on all"), texts[i + 1]
