"""Execute one notebook top to bottom with nbdev's own test runner, in this (fresh) process.

Honours nbdev's flags: cells marked `#| eval: false` are skipped, and so are cells flagged with one
of `tst_flags` from settings.ini. Exits 1, with the traceback on stderr, when a cell raises.
Usage: python tools/run_notebook.py nbs/01_forward.ipynb
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")  # plots render to PNG; no window, no display needed

from nbdev.config import get_config  # noqa: E402
from nbdev.test import test_nb  # noqa: E402


def main(path):
    nb = Path(path).resolve()
    if not nb.exists():
        sys.exit(f"run_notebook: no notebook at {nb}")
    skip_flags = get_config().tst_flags.split()
    ok, seconds = test_nb(nb, skip_flags=skip_flags, showerr=True)
    print(f"{nb.name}: {'ok' if ok else 'FAILED'} in {seconds:.1f} s")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv[1])
