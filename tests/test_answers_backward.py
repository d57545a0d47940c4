"""The questionnaires of chapters 3 and 4 (issue 15): 8-15 numbered questions in a final `## Questionnaire` cell
that links its answers notebook, and an answers notebook of markdown only that repeats each question verbatim."""
import re
from pathlib import Path

import nbformat
import pytest

root = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["03_backward", "04_jacobians"])
def test_questionnaire_and_answers_match(name):
    chapter = nbformat.read(root / "nbs" / f"{name}.ipynb", 4)
    md = [c.source for c in chapter.cells if c.cell_type == "markdown"]
    quiz = [s for s in md if s.startswith("## Questionnaire")]
    assert len(quiz) == 1, "one `## Questionnaire` cell"
    assert all(s.startswith("## Further research") for s in md[md.index(quiz[0]) + 1:]), "the questionnaire ends the chapter"
    questions = re.findall(r"^(\d+)\. (.*)$", quiz[0], flags=re.M)
    assert 8 <= len(questions) <= 15
    assert [int(n) for n, _ in questions] == list(range(1, len(questions) + 1))
    assert f"Answers: [answers/{name}.ipynb](answers/{name}.ipynb); try each question before you open it." in quiz[0]

    answers = nbformat.read(root / "nbs" / "answers" / f"{name}.ipynb", 4)
    assert all(c.cell_type == "markdown" for c in answers.cells), "answers are markdown only"
    n_chapter = int(name[:2])
    assert answers.cells[0].source.startswith(f"# Answers: chapter {n_chapter}, ")
    assert len(answers.cells) - 1 == len(questions)
    for (n, q), cell in zip(questions, answers.cells[1:], strict=True):
        head, _, answer = cell.source.partition("\n\n")
        assert head == f"**{n}. {q}**", f"answer {n} does not repeat its question verbatim"
        assert len(answer.strip()) > 20, f"answer {n} is empty"
