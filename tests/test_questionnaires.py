"""Every teaching chapter ends with a questionnaire (issue 15): a final `## Questionnaire` cell (only a
`## Further research` cell may follow) with 8-15 numbered questions and a link to its answers, and an
answers notebook in nbs/answers/ of markdown only that repeats each question verbatim, in order, with
an answer under it. The answers are where a learner opens them on purpose: never in the chapter."""
import re
from pathlib import Path

import nbformat
import pytest

root = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(p for p in (root / "nbs").glob("[0-9][0-9]_*.ipynb") if int(p.name[:2]) < 90)


def test_every_chapter_was_found():
    assert len(CHAPTERS) >= 14, [p.name for p in CHAPTERS]


def _questions(path):
    md = [c.source for c in nbformat.read(path, 4).cells if c.cell_type == "markdown"]
    quiz = [s for s in md if s.startswith("## Questionnaire")]
    assert len(quiz) == 1, f"{path.name}: one `## Questionnaire` cell, found {len(quiz)}"
    after = md[md.index(quiz[0]) + 1:]
    assert all(s.startswith("## Further research") for s in after), f"{path.name}: the questionnaire ends the chapter"
    return quiz[0], re.findall(r"^(\d+)\. (.*)$", quiz[0], flags=re.M)


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_the_chapter_ends_with_8_to_15_questions_and_links_its_answers(path):
    quiz, questions = _questions(path)
    assert 8 <= len(questions) <= 15, f"{path.name}: {len(questions)} questions"
    assert [int(n) for n, _ in questions] == list(range(1, len(questions) + 1))
    link = f"[answers/{path.stem}.ipynb](answers/{path.stem}.ipynb)"
    assert link in quiz, f"{path.name}: the questionnaire must link {link}"


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_the_answers_repeat_each_question_and_answer_it(path):
    _, questions = _questions(path)
    answers = nbformat.read(root / "nbs" / "answers" / path.name, 4)
    assert all(c.cell_type == "markdown" for c in answers.cells), "answers are markdown only"
    assert answers.cells[0].source.startswith(f"# Answers: chapter {int(path.name[:2])}, ")
    assert len(answers.cells) - 1 == len(questions), f"{len(answers.cells) - 1} answers to {len(questions)} questions"
    for (n, q), cell in zip(questions, answers.cells[1:], strict=True):
        head, _, answer = cell.source.partition("\n\n")
        assert head == f"**{n}. {q}**", f"answer {n} does not repeat its question verbatim: {head[:80]!r}"
        assert len(answer.strip()) > 20, f"answer {n} is empty"


def test_no_answers_notebook_without_its_chapter():
    names = {p.name for p in CHAPTERS}
    assert sorted(p.name for p in (root / "nbs" / "answers").glob("*.ipynb") if p.name not in names) == []
