"""The numbers the chapters' prose quotes from a run (issue 27): the registry in tests/quoted_numbers.py ties each
sentence to the cell whose output it describes, with a tolerance. Here, without running a chapter: every quote is
still in its chapter and names one code cell, and the checker reports a number outside its tolerance or missing.
The numbers themselves are checked where the chapters run anyway: tests/test_browser.py, on the copies JupyterLab
saved (no run of its own), or by hand with `python tests/quoted_numbers.py DIR` on executed copies."""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from quoted_numbers import QUOTES, output_problems, q, source_problems


def test_every_quote_is_in_its_chapter_and_names_one_cell():
    assert source_problems() == []


def test_the_registry_covers_the_chapters_that_quote_a_run():
    chapters = {e["nb"] for e in QUOTES}
    assert {"02_forward", "04_jacobians", "07_checking", "08_training", "09_cross_entropy"} <= chapters
    assert len(QUOTES) >= 20
    assert all(e["lo"] <= e["hi"] for e in QUOTES)


def _ran(src, text):
    cell = new_code_cell(src)
    cell.outputs = [new_output("stream", name="stdout", text=text)]
    return cell


def test_the_checker_reports_a_number_outside_its_tolerance_a_missing_one_and_a_lost_cell():
    nb = new_notebook(cells=[new_markdown_cell("The loss falls to about 2."),
                             _ran("print(a)", "loss 2.1\n"), _ran("print(b)", "loss 5.0\n"), _ran("print(c)", "no number\n")])
    ok, wrong, missing, lost = (q("x", "about 2", cell, r"loss NUM", 1.5, 2.5) for cell in ("print(a)", "print(b)", "print(c)", "print(d)"))
    assert output_problems(nb, "x", [ok]) == []
    assert output_problems(nb, "x", [wrong]) == ["x: 'about 2': the cell printed 5, outside [1.5, 2.5]"]
    assert "no match" in output_problems(nb, "x", [missing])[0]
    assert "0 code cells contain 'print(d)'" in output_problems(nb, "x", [lost])[0]


def test_a_quote_that_left_the_prose_is_reported(tmp_path):
    (tmp_path / "nbs").mkdir()
    nbformat.write(new_notebook(cells=[new_markdown_cell("The loss falls to about 3."), new_code_cell("print(a)")]),
                   tmp_path / "nbs" / "x.ipynb")
    assert source_problems(tmp_path, [q("x", "about 2", "print(a)", r"NUM", 0, 1)]) == ["x: the prose no longer says 'about 2'"]
