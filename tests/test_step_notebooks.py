"""The step-by-step exercise notebooks (nbs/exercises/, graded by backprop.steps) as a learner gets them, and solved.

Each runs top to bottom with nbdev's runner, in this process (tests/test_exercise_notebooks.py's `run`): as handed
out, every step's grader cell says "not implemented yet", the table says so for every row, training waits, and no
cell errors; with each stub replaced by its reference step (tests/step_solutions.py), every step is graded correct,
the table is right, and training with the learner's own backward matches autograd's (the notebook asserts it). And
each notebook is what a learner should get: no outputs, nothing exported, no line of a solution, one stub and one
grader cell per step of its model, in the model's order, the fused ones last.
"""
import re
from pathlib import Path

import nbformat
import pytest

from backprop.steps import MODELS
from step_solutions import SOURCES
from test_exercise_notebooks import run

root = Path(__file__).resolve().parent.parent
BOOKS = {"charmlp": root / "nbs" / "exercises" / "14_mlp_by_hand.ipynb"}
STUB = re.compile(r"^def (\w+)\(\):\n    raise NotImplementedError  # your code: add the parameters you need, return (\w+)$")
GRADE = re.compile(r'^grade_step\("(\w+)", (\w+)\)$')


def steps(nb, model):
    "[(step, index of its stub cell, index of its grader cell)] in the notebook's order."
    found = []
    for i, c in enumerate(nb.cells):
        m = STUB.match(c.source) if c.cell_type == "code" else None
        if m:
            g = GRADE.match(nb.cells[i + 1].source)
            assert m[1] == m[2] and g and g[1] == model and g[2] == m[1], f"cell {i + 1} must grade {m[1]}"
            found.append((m[1], i, i + 1))
    return found


@pytest.mark.parametrize("model", BOOKS)
def test_one_stub_per_step_in_order_and_nothing_more(model):
    nb = nbformat.read(BOOKS[model], as_version=4)
    assert [s for s, _, _ in steps(nb, model)] == list(MODELS[model].returns)
    assert not any(c.get("outputs") or c.get("execution_count") for c in nb.cells if c.cell_type == "code"), "saved with outputs"
    text = "\n".join(c.source for c in nb.cells)
    assert "#| export" not in text and "default_exp" not in text, "an exercise notebook exports nothing"
    body = [l.split("#")[0].strip() for src in SOURCES[model].values() for l in src.splitlines()[1:]]
    shown = [l for l in body if len(l) > 12 and l in text]
    assert not shown, f"the notebook shows lines of its solutions: {shown}"


@pytest.mark.parametrize("model", BOOKS)
def test_as_handed_out_every_step_is_not_implemented_yet(model):
    nb = nbformat.read(BOOKS[model], as_version=4)
    texts, errors = run(nb)
    assert not errors, errors
    for step, _, g in steps(nb, model):
        assert texts[g].startswith(f"{step}: not implemented yet."), texts[g]
    table = next(t for t in texts if t.startswith(f"{model}: 0 of "))
    assert table.count("not implemented yet") == sum(map(len, MODELS[model].outputs.values())), table
    assert any(t.startswith("Not yet: train once every row") for t in texts), "training must wait"


@pytest.mark.parametrize("model", BOOKS)
def test_with_the_solutions_filled_in_every_step_is_correct_and_it_trains(model):
    nb = nbformat.read(BOOKS[model], as_version=4)
    for step, s, _ in steps(nb, model):
        nb.cells[s].source = SOURCES[model][step]
    texts, errors = run(nb)
    assert not errors, errors
    for step, _, g in steps(nb, model):
        assert texts[g].startswith(f"{step}: correct on all"), texts[g]
    n = len(MODELS[model].outputs)
    assert any(t.startswith(f"{model}: {n} of {n} steps right on their own") for t in texts)
    assert any("autograd's the same to 1e-10" in t for t in texts), "training with the solutions must run"
