"""Chapter 8 as a course (issues 13 and 15): each function of backprop.train keeps at most one guard line (the checks
live in appendix 90's train section), the CLI and the progress bar (appendix 92) still reach the module's users, and
the chapter's questionnaire matches its answers notebook."""
import inspect
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import backprop.guards
import backprop.train

root = Path(__file__).resolve().parent.parent
# The guard lines of ../shared/tools/readability.py: a raise, an isinstance test, or a check call.
GUARD = re.compile(r"(\braise\b|isinstance\(|\b_?check_\w*\(|\b_check\w*\()")


@pytest.mark.parametrize("name", ["minibatches", "sgd_step", "evaluate_regression", "random_shift", "fit", "plot_loss"])
def test_each_function_of_the_chapter_has_at_most_one_guard_line(name):
    lines = [l for l in inspect.getsource(getattr(backprop.train, name)).splitlines()
             if l.strip() and not l.lstrip().startswith("#")]
    guards = [l for l in lines if GUARD.search(l)]
    assert len(guards) <= 1, f"{name} has {len(guards)} guard lines: {guards}"


def test_the_checks_live_in_backprop_guards():
    for name in ["check_minibatches", "check_sgd_step", "check_random_shift", "check_fit", "check_plot_loss"]:
        assert getattr(backprop.train, name) is getattr(backprop.guards, name)


def test_the_appendix_exports_into_backprop_train_after_the_chapter_and_the_command_line_into_backprop_cli():
    src, cli = ((root / "backprop" / name).read_text() for name in ("train.py", "cli.py"))
    assert src.index("../nbs/08_training.ipynb") < src.index("../nbs/92_train_cli.ipynb")
    assert "def main(" not in src and "__main__" not in src, "the command line lives in backprop.cli"
    assert cli.rstrip().endswith("main()"), "the __main__ guard must be the command line's last cell"
    assert "fastcore" not in src + cli, "fastcore is not a requirement of the package"


def test_cli_help_runs_outside_ipython():
    res = subprocess.run([sys.executable, "-m", "backprop.cli", "--help"], cwd=root, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0 and "--epochs" in res.stdout and "chapter-9 classifier" in res.stdout
    res = subprocess.run([sys.executable, "-c", "import backprop.cli as t; print(t._in_ipython())"], cwd=root,
                         capture_output=True, text=True, timeout=120)
    assert res.stdout.strip() == "False", res.stderr


def test_questionnaire_and_answers_match():
    name = "08_training"
    chapter = nbformat.read(root / "nbs" / f"{name}.ipynb", 4)
    md = [c.source for c in chapter.cells if c.cell_type == "markdown"]
    quiz = [s for s in md if s.startswith("## Questionnaire")]
    assert len(quiz) == 1 and md[-1] == quiz[0], "one `## Questionnaire` cell, at the end"
    questions = re.findall(r"^(\d+)\. (.*)$", quiz[0], flags=re.M)
    assert 8 <= len(questions) <= 15
    assert [int(n) for n, _ in questions] == list(range(1, len(questions) + 1))
    assert f"Answers: [answers/{name}.ipynb](answers/{name}.ipynb); try each question before you open it." in quiz[0]
    answers = nbformat.read(root / "nbs" / "answers" / f"{name}.ipynb", 4)
    assert all(c.cell_type == "markdown" for c in answers.cells), "answers are markdown only"
    assert answers.cells[0].source.startswith("# Answers: chapter 8, ")
    assert len(answers.cells) - 1 == len(questions)
    for (n, q), cell in zip(questions, answers.cells[1:], strict=True):
        head, _, answer = cell.source.partition("\n\n")
        assert head == f"**{n}. {q}**", f"answer {n} does not repeat its question verbatim"
        assert len(answer.strip()) > 20, f"answer {n} is empty"
