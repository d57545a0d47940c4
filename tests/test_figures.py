"""The figures in images/ are made by code in the repo and can be made again."""
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent


def test_every_figure_script_draws_into_a_fresh_folder(tmp_path):
    res = subprocess.run([sys.executable, str(root / "tools" / "make_figures.py"), str(tmp_path)],
                         capture_output=True, text=True, cwd=root)
    assert res.returncode == 0, res.stderr
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made, "no figure was drawn"
    for name in made:
        assert (tmp_path / name).stat().st_size > 1000, f"{name} is (nearly) empty"
        assert (root / "images" / name).exists(), f"{name} is drawn but not committed in images/"


def test_every_image_a_notebook_references_exists():
    "In nbs/ (../images/NAME.png) and in its folders, such as nbs/exercises/ (../../images/NAME.png)."
    import re
    refs = 0
    for nb in (root / "nbs").glob("**/*.ipynb"):
        for ref in re.findall(r"\]\(((?:\.\./)+images/[^)\s]+)\)", nb.read_text()):
            assert (nb.parent / ref).resolve().exists(), f"{nb.name} shows {ref}, which does not exist"
            refs += 1
    assert refs > 0
