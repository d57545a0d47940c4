"""What the grader draws for a wrong puzzle answer (appendix 97): the cumulative sum's gradient summed from the
wrong end, its Jacobian against the right one, the wrong entries boxed in red. Shown at the top of the puzzles
notebook (nbs/exercises/04_puzzles.ipynb), which the site shows as handed out, not run."""
import contextlib
import io
from pathlib import Path

from backprop.exercises import grade


def cumsum_grad(x, out):
    x.g = out.g.cumsum(0)            # summed from the near end: the wrong triangle


def draw(out_dir):
    "Grade the wrong answer and save the picture the grader drew; return the path written."
    with contextlib.redirect_stdout(io.StringIO()):  # the report is the notebook's business; the picture is ours
        res = grade("cumsum", cumsum_grad)
    path = Path(out_dir) / "puzzle_jacobian.png"
    res.picture.savefig(path, dpi=90)
    return [path]
