"""Make every figure in images/ that is not a plain notebook output.

Each module in tools/figures/ draws one or more figures with `draw(out_dir)`, which returns the paths
it wrote. Run `python tools/make_figures.py` (or with a folder argument) to make them all again.
"""
import importlib.util
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
root = Path(__file__).resolve().parent.parent


def figure_modules():
    "The figure scripts in tools/figures/, loaded as modules, in name order."
    mods = []
    for path in sorted((root / "tools" / "figures").glob("fig_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mods.append(mod)
    return mods


def make_all(out_dir):
    "Draw every figure into `out_dir`; return the list of files written."
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [p for mod in figure_modules() for p in mod.draw(out_dir)]


if __name__ == "__main__":
    for p in make_all(sys.argv[1] if len(sys.argv) > 1 else root / "images"):
        print(p)
