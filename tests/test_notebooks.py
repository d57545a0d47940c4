"""Every notebook of nbs/ runs top to bottom, once: in the browser test when it runs in the same session
(tests/test_browser.py runs every chapter in JupyterLab, every appendix headless with nbclient, and fails on any
cell that raises, and more),
else here, in a fresh Python process with nbdev's own runner, as `nbdev_test` would run it. A notebook
with cells nbdev skips (`#| eval: false`, a tst_flag) always runs here, since JupyterLab would run them.
And the two tools that guard the notebooks catch what they are for.

One pytest test per notebook, so a failure names the chapter and the run ends with pytest's
`N passed` line (nbdev_test prints none). tools/run_notebook.py must fail a notebook where no code
cell ran; tools/check_sync.py must fail on a notebook saved with outputs and on a module that no
notebook exports (both checked on small notebooks made here, and once end to end on a copy).
"""
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

root = Path(__file__).resolve().parent.parent
notebooks = sorted(root.glob("nbs/[0-9]*.ipynb"))
sys.path.insert(0, str(root / "tools"))
import check_sync  # noqa: E402

md, code, raw = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell, nbformat.v4.new_raw_cell


def test_notebooks_were_found():
    assert notebooks, "no numbered notebooks found in nbs/"


def nbdev_skips_a_cell(nb):
    "True if nbdev's runner would skip a code cell of `nb` (`#| eval: false`, or a flag of settings.ini's tst_flags)."
    from nbdev.config import get_config
    flags = {"eval: false", "eval:false", *get_config().tst_flags.split()}
    return any(c.cell_type == "code" and any(l.strip().lstrip("#|").strip() in flags
                                             for l in c.source.splitlines() if l.lstrip().startswith("#|"))
               for c in nbformat.read(nb, as_version=4).cells)


def runs_in_jupyterlab(session, nb):
    "True if tests/test_browser.py is part of this session, can run (Chromium is there), and runs `nb` (a chapter in JupyterLab, an appendix headless)."
    if not any(item.nodeid.startswith("tests/test_browser.py::") for item in session.items):
        return False
    import browser
    if browser.chromium_missing_reason():
        return False
    sys.path.insert(0, str(root / "tests"))
    import test_browser
    return nb.resolve() in {p.resolve() for p in test_browser.NOTEBOOKS} and not nbdev_skips_a_cell(nb)


@pytest.mark.parametrize("nb", notebooks, ids=[p.stem for p in notebooks])
def test_notebook_runs(nb, request):
    if runs_in_jupyterlab(request.session, nb):
        pytest.skip("runs top to bottom in this session's browser test (tests/test_browser.py): once is enough")
    res = subprocess.run([sys.executable, str(root / "tools" / "run_notebook.py"), str(nb)],
                         cwd=root, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"{nb.name} failed:\n{res.stdout}\n{res.stderr[-6000:]}"


def _notebook(cells, language="python"):
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": language}
    nb.metadata["language_info"] = {"name": language}
    return nb


# nbdev's test_nb returns success without running a cell for these: run_notebook.py must not.
NOTHING_RUNS = {
    "skip_exec front matter": _notebook([raw("---\nskip_exec: true\n---"), code("1 / 0")]),
    "not a Python kernel": _notebook([code("1 / 0")], language="R"),
    "every cell eval: false": _notebook([code("#| eval: false\n1 / 0")]),
}


@pytest.mark.parametrize("case", [*NOTHING_RUNS, "a cell that runs"])
def test_run_notebook_fails_when_no_code_cell_ran(tmp_path, case):
    nb = NOTHING_RUNS.get(case) or _notebook([code("assert 1 + 1 == 2")])
    nbformat.write(nb, tmp_path / "nb.ipynb")
    res = subprocess.run([sys.executable, str(root / "tools" / "run_notebook.py"), str(tmp_path / "nb.ipynb")],
                         cwd=root, capture_output=True, text=True, timeout=120)
    if case == "a cell that runs":
        assert res.returncode == 0, res.stdout + res.stderr
        assert "1 code cells run" in res.stdout
    else:
        assert res.returncode == 1, f"{case}: passed without running a cell:\n{res.stdout}"
        assert "no code cell ran" in res.stderr


def _course(tmp_path, notebooks, modules):
    "A small repository in `tmp_path`: nbs/NAME.ipynb for each notebook, backprop/NAME for each module."
    (tmp_path / "nbs").mkdir()
    (tmp_path / "backprop").mkdir()
    for name, nb in notebooks.items():
        nbformat.write(nb, tmp_path / "nbs" / name)
    for name in modules:
        (tmp_path / "backprop" / name).write_text("")
    return tmp_path


def test_check_sync_finds_cells_saved_with_outputs(tmp_path):
    ran = code("print('hi')")
    ran.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    counted = code("x = 1")
    counted.execution_count = 3
    course = _course(tmp_path, {"01_a.ipynb": _notebook([md("# A"), code("#| default_exp a"), ran, counted]),
                                "02_b.ipynb": _notebook([code("#| default_exp b"), code("y = 2")]),
                                "_scratch.ipynb": _notebook([ran])}, [])    # nbdev skips _*.ipynb: so does the check
    assert check_sync.saved_outputs(course) == [
        "nbs/01_a.ipynb: cell 2 (\"print('hi')\") holds 1 output(s)",
        "nbs/01_a.ipynb: cell 3 ('x = 1') holds execution count 3"]


def test_check_sync_finds_modules_no_notebook_exports(tmp_path):
    course = _course(tmp_path, {"01_a.ipynb": _notebook([code("#| default_exp a"), code("#| export\nx = 1")]),
                                "02_b.ipynb": _notebook([md("#| default_exp not_code"), code("#|default_exp  b ")])},
                     ["__init__.py", "_modidx.py", "a.py", "b.py", "old.py", "not_code.py"])
    assert check_sync.orphaned_modules(course) == ["backprop/not_code.py", "backprop/old.py"]


def test_the_notebooks_hold_no_outputs_and_every_module_has_its_notebook():
    assert check_sync.saved_outputs(root) == []
    assert check_sync.orphaned_modules(root) == []


def test_check_sync_fails_on_outputs_and_orphans_end_to_end(tmp_path):
    "check_sync.py itself, on a copy of the course with a chapter saved after a run and a module left behind."
    for part in ("nbs", "backprop", "tools"):
        shutil.copytree(root / part, tmp_path / part, ignore=shutil.ignore_patterns("*.npz", "__pycache__", ".*"))
    shutil.copy(root / "settings.ini", tmp_path)
    nb = nbformat.read(tmp_path / "nbs" / "02_forward.ipynb", as_version=4)
    i, cell = next((i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and "default_exp" not in c.source)
    cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=1)]
    nbformat.write(nb, tmp_path / "nbs" / "02_forward.ipynb")
    (tmp_path / "backprop" / "old_chapter.py").write_text("x = 1\n")
    res = subprocess.run([sys.executable, str(tmp_path / "tools" / "check_sync.py")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"nbs/02_forward.ipynb: cell {i} " in res.stdout and "holds 1 output(s)" in res.stdout, res.stdout
    assert "backprop/old_chapter.py" in res.stdout, res.stdout


@pytest.mark.parametrize("source, skipped", [("#| eval: false\n1 / 0", True), ("#|eval:false\n1 / 0", True),
                                             ("#| notest\nx = 1", True), ("#| export\nx = 1", False),
                                             ("x = 1  # eval: false, in a comment", False)])
def test_a_notebook_with_cells_nbdev_skips_always_runs_here(tmp_path, source, skipped):
    "JupyterLab would run a cell nbdev skips: such a notebook is never left to the browser test alone."
    nbformat.write(_notebook([code(source)]), tmp_path / "nb.ipynb")
    assert nbdev_skips_a_cell(tmp_path / "nb.ipynb") == skipped
