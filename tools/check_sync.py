"""Check that the package and the notebooks are in sync, and that the notebooks hold only their source.

Fails (exit 1, naming what is wrong) when:
- a code cell of a notebook holds outputs or an execution count: the notebook was saved after
  running it (nbdev_clean keeps outputs, `clear_all = False`, so this is checked here);
- a module of backprop/ is named by no notebook's `#| default_exp` (a chapter renamed or removed:
  nbdev_export never deletes the module it used to write);
- `nbdev_export` or `nbdev_clean` changes a notebook or a module: a notebook was edited without
  exporting, a module was edited by hand, or a notebook was saved with metadata. These files are
  now fixed in the working tree, to be reviewed and committed.
"""
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
bindir = Path(sys.executable).parent
LIB = "backprop"
DEFAULT_EXP = re.compile(r"^#\|\s*default_exp\s+(\S+)")


def course_notebooks(root):
    "The notebooks nbdev works on: nbs/*.ipynb, but for names that start with `_` or `.` (as nbdev skips them)."
    return sorted(p for p in (root / "nbs").glob("*.ipynb") if not p.name.startswith(("_", ".")))


def code_cells(nb_path):
    "(index, source) of each code cell of the notebook at `nb_path`, with the cell itself."
    cells = json.loads(Path(nb_path).read_text(encoding="utf-8")).get("cells", [])
    for i, cell in enumerate(cells):
        if cell.get("cell_type") == "code":
            src = cell.get("source", "")
            yield i, "".join(src) if isinstance(src, list) else src, cell


def saved_outputs(root):
    "One line for each code cell, of every notebook, that holds outputs or an execution count."
    problems = []
    for nb in course_notebooks(root):
        for i, src, cell in code_cells(nb):
            what = []
            if cell.get("outputs"):
                what.append(f"{len(cell['outputs'])} output(s)")
            if cell.get("execution_count") is not None:
                what.append(f"execution count {cell['execution_count']}")
            if what:
                first = next((line for line in src.splitlines() if line.strip()), "")
                problems.append(f"{nb.relative_to(root)}: cell {i} ({first[:50]!r}) holds {' and '.join(what)}")
    return problems


def orphaned_modules(root):
    "The modules of backprop/ (not __init__.py, _modidx.py) that no notebook's `#| default_exp` names."
    named = {m.group(1).replace(".", "/") + ".py"
             for nb in course_notebooks(root) for _, src, _ in code_cells(nb)
             for line in src.splitlines() if (m := DEFAULT_EXP.match(line.strip()))}
    return sorted(str(p.relative_to(root)) for p in (root / LIB).glob("*.py")
                  if p.name not in ("__init__.py", "_modidx.py") and p.name not in named)


def snapshot():
    "Map each notebook and generated module to the hash of its bytes."
    files = [*root.glob("nbs/*.ipynb"), *root.glob(f"{LIB}/*.py")]
    return {p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def main():
    before = snapshot()
    if not before:
        sys.exit("check_sync: found no notebooks in nbs/ and no modules in backprop/")
    outputs, orphans = saved_outputs(root), orphaned_modules(root)   # as saved: nbdev_clean resets the counts
    for cmd in ("nbdev_export", "nbdev_clean"):
        subprocess.run([str(bindir / cmd)], cwd=root, check=True)
    after = snapshot()
    changed = sorted(str(p) for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    if outputs:
        print("Saved with outputs: the notebooks hold only their source (clear them in JupyterLab with",
              "Edit > Clear Outputs of All Cells, then save):", *outputs, sep="\n  ")
    if orphans:
        print(f"Modules no notebook exports (no `#| default_exp`): delete them, or restore their notebook:",
              *orphans, sep="\n  ")
    if changed:
        print("Out of sync: nbdev_export / nbdev_clean changed these files:", *changed, sep="\n  ")
        print("The notebooks are the source: review and commit the updated files.")
    if outputs or orphans or changed:
        sys.exit(1)
    print(f"In sync: {sum(p.suffix == '.ipynb' for p in after)} notebooks without outputs, "
          f"{sum(p.suffix == '.py' for p in after)} modules, each from a notebook, unchanged by nbdev_export and nbdev_clean.")


if __name__ == "__main__":
    main()
