"""Execute one notebook top to bottom with nbdev's own test runner, in this (fresh) process.

Honours nbdev's flags: cells marked `#| eval: false` are skipped, and so are cells flagged with one
of `tst_flags` from settings.ini. Exits 1, with the traceback on stderr, when a cell raises, and
also when no code cell ran at all: nbdev reports success without running anything for a notebook
with `skip_exec` in its front matter or a kernel that is not Python, which must not pass as tested.
Usage: python tools/run_notebook.py nbs/02_forward.ipynb
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")  # plots render to PNG; no window, no display needed

import nbdev.test  # noqa: E402
from nbdev.config import get_config  # noqa: E402


class CountingShell(nbdev.test.CaptureShell):
    "nbdev's shell for running a notebook, counting the non-empty code cells it runs."
    ran = 0

    def cell(self, cell, *args, **kwargs):
        if cell.cell_type == "code" and cell.source.strip():
            CountingShell.ran += 1
        return super().cell(cell, *args, **kwargs)


def main(path):
    nb = Path(path).resolve()
    if not nb.exists():
        sys.exit(f"run_notebook: no notebook at {nb}")
    skip_flags = get_config().tst_flags.split()
    nbdev.test.CaptureShell = CountingShell   # test_nb makes its shell from this name
    ok, seconds = nbdev.test.test_nb(nb, skip_flags=skip_flags, showerr=True)
    if ok and not CountingShell.ran:
        print(f"{nb.name}: FAILED: no code cell ran (nbdev skips a notebook with `skip_exec` in its front "
              "matter or a kernel that is not Python, and cells marked `#| eval: false` or with a tst_flag)",
              file=sys.stderr)
        ok = False
    print(f"{nb.name}: {'ok' if ok else 'FAILED'} in {seconds:.1f} s, {CountingShell.ran} code cells run")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv[1])
