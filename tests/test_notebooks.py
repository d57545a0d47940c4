"""Every notebook of nbs/ runs top to bottom in a fresh Python process, as `nbdev_test` would run it.

One pytest test per notebook, so a failure names the chapter and the run ends with pytest's
`N passed` line (nbdev_test prints none).
"""
import subprocess
import sys
from pathlib import Path

import pytest

root = Path(__file__).resolve().parent.parent
notebooks = sorted(root.glob("nbs/[0-9]*.ipynb"))


def test_notebooks_were_found():
    assert notebooks, "no numbered notebooks found in nbs/"


@pytest.mark.parametrize("nb", notebooks, ids=[p.stem for p in notebooks])
def test_notebook_runs(nb):
    res = subprocess.run([sys.executable, str(root / "tools" / "run_notebook.py"), str(nb)],
                         cwd=root, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"{nb.name} failed:\n{res.stdout}\n{res.stderr[-6000:]}"
