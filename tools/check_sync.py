"""Check that the package and the notebooks are in sync.

Runs `nbdev_export` and `nbdev_clean`, then compares every notebook and every generated module with
what was there before. Any difference means a notebook was edited without exporting, a module was
edited by hand, or a notebook was saved with outputs or metadata: the files are now fixed in the
working tree, and this script exits 1 listing them so the change can be reviewed and committed.
"""
import hashlib
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
bindir = Path(sys.executable).parent


def snapshot():
    "Map each notebook and generated module to the hash of its bytes."
    files = [*root.glob("nbs/*.ipynb"), *root.glob("backprop/*.py")]
    return {p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def main():
    before = snapshot()
    if not before:
        sys.exit("check_sync: found no notebooks in nbs/ and no modules in backprop/")
    for cmd in ("nbdev_export", "nbdev_clean"):
        subprocess.run([str(bindir / cmd)], cwd=root, check=True)
    after = snapshot()
    changed = sorted(str(p) for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    if changed:
        print("Out of sync: nbdev_export / nbdev_clean changed these files:", *changed, sep="\n  ")
        print("The notebooks are the source: review and commit the updated files.")
        sys.exit(1)
    print(f"In sync: {sum(p.suffix == '.ipynb' for p in after)} notebooks, "
          f"{sum(p.suffix == '.py' for p in after)} modules unchanged by nbdev_export and nbdev_clean.")


if __name__ == "__main__":
    main()
