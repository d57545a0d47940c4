"""Reference solutions of the exercises and puzzles: read from the worked solutions, nbs/solutions/*.ipynb.

One source of truth: each code cell there that defines `NAME_grad` is run here, so the functions the tests grade
(tests/test_exercises.py), put into the exercise notebooks' stub cells (tests/test_exercise_notebooks.py) and type
in JupyterLab (tests/test_browser.py) are the ones a learner reads in the worked solutions. Each cell's lines go
into `linecache`, as a notebook's do, so that `inspect.getsource` and tracebacks show them. Each uses nothing but
torch and its arguments. SOLUTIONS maps an exercise's name to its function.
"""
import linecache
import re
from pathlib import Path

import nbformat
import torch  # noqa: F401  (the solutions' one name besides their arguments)

BOOKS = sorted((Path(__file__).resolve().parent.parent / "nbs" / "solutions").glob("*.ipynb"))
DEF = re.compile(r"^def (\w+)_grad\(")


def _load(book):
    "Run the cells of `book` that define a NAME_grad function, in this module."
    for i, cell in enumerate(nbformat.read(book, as_version=4).cells):
        if cell.cell_type == "code" and DEF.match(cell.source):
            filename = f"<{book.parent.name}/{book.name}, cell {i}>"
            linecache.cache[filename] = (len(cell.source), None, cell.source.splitlines(True), filename)
            exec(compile(cell.source, filename, "exec"), globals())


for _book in BOOKS:
    _load(_book)

SOLUTIONS = {name[:-len("_grad")]: f for name, f in dict(globals()).items() if name.endswith("_grad")}
