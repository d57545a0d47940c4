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

from backprop.steps import GPT_BLOCKS, MODELS
from step_solutions import SOURCES
from test_exercise_notebooks import run

root = Path(__file__).resolve().parent.parent
EXERCISES = root / "nbs" / "exercises"
# notebook -> its steps in order, as (model, step); the table's first line as handed out, and solved
BOOKS = {"14_mlp_by_hand": ([("charmlp", s) for s in MODELS["charmlp"].returns], "charmlp: 0 of 26 steps right",
                            "charmlp: 26 of 26 steps right on their own"),
         "15_gpt_by_hand": ([(m, s) for s, m in GPT_BLOCKS.items()], "the GPT's blocks: 0 of 7 right",
                            "the GPT's blocks: 7 of 7 right on their own")}
STUB = re.compile(r"^def (\w+)\((.*)\):\n    raise NotImplementedError  # your code: (add the parameters you need, )?return ([\w, ]+)$")
GRADE = re.compile(r'^grade_step\("(\w+)", (\w+)\)$')


def steps(nb):
    "[(model, step, index of its stub cell, index of its grader cell)] in the notebook's order."
    found = []
    for i, c in enumerate(nb.cells):
        m = STUB.match(c.source) if c.cell_type == "code" else None
        if m:
            g = GRADE.match(nb.cells[i + 1].source)
            assert g and g[2] == m[1], f"cell {i + 1} must grade {m[1]}"
            assert m[4] == ", ".join(MODELS[g[1]].returns[m[1]]), f"the stub of {m[1]} must say what it returns"
            found.append((g[1], m[1], i, i + 1))
    return found


@pytest.mark.parametrize("book", BOOKS)
def test_one_stub_per_step_in_order_and_nothing_more(book):
    nb = nbformat.read(EXERCISES / f"{book}.ipynb", as_version=4)
    assert [(m, s) for m, s, _, _ in steps(nb)] == BOOKS[book][0]
    assert not any(c.get("outputs") or c.get("execution_count") for c in nb.cells if c.cell_type == "code"), "saved with outputs"
    text = "\n".join(c.source for c in nb.cells)
    assert "#| export" not in text and "default_exp" not in text, "an exercise notebook exports nothing"
    body = [l.split("#")[0].strip() for m, s in BOOKS[book][0] for l in SOURCES[m][s].splitlines()[1:]
            if l.split("#")[0].strip() != f"return {', '.join(MODELS[m].returns[s])}"]    # what the stub says it returns
    shown = [l for l in body if len(l) > 12 and l in text]
    assert not shown, f"the notebook shows lines of its solutions: {shown}"


@pytest.mark.parametrize("book", BOOKS)
def test_as_handed_out_every_step_is_not_implemented_yet(book):
    nb = nbformat.read(EXERCISES / f"{book}.ipynb", as_version=4)
    texts, errors = run(nb)
    assert not errors, errors
    for _, step, _, g in steps(nb):
        assert texts[g].startswith(f"{step}: not implemented yet."), texts[g]
    table = next(t for t in texts if t.startswith(BOOKS[book][1]))
    assert table.count("not implemented yet") == sum(s in MODELS[m].outputs for m, s in BOOKS[book][0]), table   # fused: no row
    assert sum(t.startswith("Not yet: ") for t in texts) == 1, "the whole model must wait"


@pytest.mark.parametrize("book", BOOKS)
def test_with_the_solutions_filled_in_every_step_is_correct_and_it_trains(book):
    nb = nbformat.read(EXERCISES / f"{book}.ipynb", as_version=4)
    for model, step, s, _ in steps(nb):
        nb.cells[s].source = SOURCES[model][step]
    texts, errors = run(nb)
    assert not errors, errors
    for _, step, _, g in steps(nb):
        assert texts[g].startswith(f"{step}: correct on all"), texts[g]
    assert any(t.startswith(BOOKS[book][2]) for t in texts)
    assert any("autograd's the same to 1e-10" in t for t in texts), "training with the solutions must run"
