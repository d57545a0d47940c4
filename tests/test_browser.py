"""The course as a learner sees it: every chapter of nbs/ in JupyterLab, in headless Chromium; the appendices
(nbs/9x_*) run headless beside it (nbclient); every page of the static site is checked in the browser.

One Jupyter server (127.0.0.1, a token, temporary settings) and one browser for the whole run.
The server is started as `make lab` starts it (the Makefile's LAB_FLAGS: the same root, the same
landing page) in a temporary folder laid out like the repository (tools/browser.py `stage`), so a
figure that `make lab` cannot serve fails here. Each chapter is copied to that folder's nbs/,
opened as a tab in one of two JupyterLab pages (each page a browser context of its own, so a renderer process of its own), run with Run > Run All Cells and saved there (a save
that does not finish fails the notebook). Then for each notebook: every
code cell shows a number, no output is an error, every markdown cell with math is typeset (no raw
`$...$`, no MathJax error), every image loaded. Each saved copy is rendered into the static site
(tools/build_site.py, into tests/artifacts/site/) by another process while the other notebooks
run, and each page of the site is opened and checked the same way as soon as it is written.
Every request that is not to 127.0.0.1 is aborted, and the test fails listing it.

A notebook broken on purpose (a cell that raises, bad TeX, math left raw, a missing image) runs
beside the chapters: the checks must find each fault, in JupyterLab and in the site.

Screenshots (lab-*.png, site-*.png) and a report (browser-report.txt) go to tests/artifacts/.
Chromium is Debian's (`make chromium` installs it as root): without it this test fails under CI
(CI=1/true/yes; .ci/run sets CI=true) and is skipped, with the reason, elsewhere.
"""
import asyncio
import contextlib
import glob
import multiprocessing
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import inspect

import nbformat
import pytest

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root / "tools"))
import browser  # noqa: E402
import build_site  # noqa: E402
sys.path.insert(0, str(root / "tests"))
import quoted_numbers  # noqa: E402

# BROWSER_TEST_NOTEBOOKS (a glob, e.g. /tmp/copy/*.ipynb) runs the test on other notebooks.
_glob = os.environ.get("BROWSER_TEST_NOTEBOOKS", str(root / "nbs" / "*.ipynb"))
NOTEBOOKS = sorted(Path(p) for p in glob.glob(_glob))
# The appendices (nbs/9x_*) run headless, with nbclient as the site builder runs a notebook, in a process of their own
# beside JupyterLab: they hold the package's plumbing, which no learner needs to watch render, and the time they
# would take in JupyterLab is what keeps `make test` within 4 minutes (issue 25). Every chapter and exercise notebook
# runs in JupyterLab; every page of the site, the appendices' included, is checked in the browser.
def is_appendix(nb): return re.match(r"\d\d_", nb.name) is not None and int(nb.name[:2]) >= 90
LAB = [nb for nb in NOTEBOOKS if not is_appendix(nb)]
HEADLESS = [nb for nb in NOTEBOOKS if is_appendix(nb)]
ARTIFACTS = root / "tests" / "artifacts"
BROKEN = "zz_broken_on_purpose.ipynb"        # a cell that raises, bad TeX, a missing image
UNTYPESET = "zz_math_not_typeset.ipynb"     # good math, shown without MathJax
# A learner's solution, typed into an exercise notebook's stub cell, key by key (comments left out).
EXERCISE_NB, EXERCISE = "nbs/exercises/03_activations_and_losses.ipynb", "sigmoid"
# A wrong answer to a puzzle, typed the same way: its report, the picture of its Jacobian, then a hint asked for.
PUZZLE_NB, PUZZLE = "nbs/exercises/04_puzzles.ipynb", "cumsum"
PUZZLE_WRONG = ["def cumsum_grad(x, out):", "x.g = out.g.cumsum(0)"]       # summed from the wrong end
PUZZLE_HOW = dict(expect="wrong on", picture=True, then=('hint("cumsum")', "Hint 1 of 3 for cumsum:"))
# A step of chapter 14's backward, typed into its exercise notebook and graded by appendix 99's grade_step.
STEP_NB, STEP = "nbs/exercises/14_mlp_by_hand.ipynb", "dprobs"
BLOCK_NB, BLOCK = "nbs/exercises/15_gpt_by_hand.ipynb", "gelu_backward"    # and a block of chapter 15's GPT
MATHJAX_PLUGIN = "@jupyterlab/mathjax-extension"


def broken_notebook():
    "A notebook with one of each fault the browser test must catch."
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    return _notebook([
        md("# A notebook broken on purpose\n\nFine math first: $y = xW + b$."),
        md("Bad TeX: $\\frac{1}$ is missing an argument."),
        md("A figure that does not exist: ![missing](../images/no_such_figure.png)"),
        code('print("this cell runs")'),
        code("1 / 0"),
        code('print("never reached")'),
    ])


def untypeset_notebook():
    "Good math, which JupyterLab without its MathJax plugin, and the site without MathJax, leave raw."
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    return _notebook([md("# Math without MathJax\n\nThe loss $L = \\frac{1}{N}\\sum_i (\\hat y_i - y_i)^2$."),
                      code("1 + 1")])


def solution_lines(name):
    "The lines of the reference solution of exercise `name`, as a person types them: no comments, no indentation."
    from exercise_solutions import SOLUTIONS
    return [line.split("#")[0].strip() for line in inspect.getsource(SOLUTIONS[name]).splitlines()]


def step_lines(model, step):
    "The lines of the reference step `step` of `model` (tests/step_solutions.py), as a person types them."
    from step_solutions import SOURCES
    return [line.split("#")[0].strip() for line in SOURCES[model][step].splitlines()]


def _notebook(cells):
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@contextlib.contextmanager
def kernel_threads():
    """Every kernel started meanwhile (the Jupyter server's, the appendices' runner's: both inherit this environment)
    gets torch threads for its share of the cores: two notebooks run at once, so on 2 cores 1 thread each. With a
    thread per core each, two kernels' threads wait for each other: alone, this test took 217 s so, 202 s with 1."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    old = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(max(1, cores // 2))
    try: yield
    finally:
        if old is None: os.environ.pop("OMP_NUM_THREADS")
        else: os.environ["OMP_NUM_THREADS"] = old


async def _run_everything(tmp):
    """One browser: JupyterLab over every notebook, and the site built from the copies it saved.
    The site is written by another process meanwhile (the API pages and the index at once, each
    chapter as soon as JupyterLab has saved it) and checked in the browser as its pages appear."""
    rels = browser.stage(NOTEBOOKS, tmp)
    lab_rels, headless_rels = [f"nbs/{nb.name}" for nb in LAB], [f"nbs/{nb.name}" for nb in HEADLESS]
    staged = [tmp / r for r in rels]
    nbformat.write(broken_notebook(), tmp / "nbs" / BROKEN)
    nbformat.write(untypeset_notebook(), tmp / "nbs" / UNTYPESET)
    special = [f"nbs/{BROKEN}", f"nbs/{UNTYPESET}"]
    res = {}
    quiet = dict(executed_dir=tmp / "nbs", log=lambda s: None)
    t_start = time.monotonic()
    loop = asyncio.get_running_loop()
    site = build_site.plan(ARTIFACTS / "site", staged)
    chapter_of = {f"nbs/{ch['path'].name}": i for i, ch in enumerate(site["chapters"])}   # relpath -> chapter number
    written = asyncio.Queue()                      # (future, "index" or chapter) as each page is on disk

    def when_written(job, item):
        def deliver():
            if item != "index" and not job.exception():
                item["nb"] = nbformat.read(item["path"], as_version=4)   # what JupyterLab saved, as the page shows it
            written.put_nowait((job, item))
        job.add_done_callback(lambda _: loop.call_soon_threadsafe(deliver))

    broken_checks = {}                             # the two broken notebooks' sites: built and checked once they have run

    broken_site_dirs = {f"nbs/{BROKEN}": ARTIFACTS / "site-broken", f"nbs/{UNTYPESET}": tmp / "site-untypeset"}

    async def check_broken_site(rel):
        out = broken_site_dirs[rel]                # built in a thread: the browser's event loop goes on meanwhile
        site_ = await asyncio.to_thread(build_site.build, out, [tmp / rel], api=False, **quiet)
        if rel == f"nbs/{UNTYPESET}":              # the untypeset one, without its MathJax
            (out / "mathjax" / "tex-chtml-full.js").unlink()
        return (await browser.check_site(chromium, site_))[0]

    spawn = multiprocessing.get_context("spawn")
    with kernel_threads(), ProcessPoolExecutor(1, mp_context=spawn) as pool, ProcessPoolExecutor(1, mp_context=spawn) as runner:
        when_written(pool.submit(build_site.write_index_and_api, site), "index")

        def saved(rel):
            if rel in chapter_of:
                i = chapter_of[rel]
                when_written(pool.submit(build_site.write_chapter, site, i), site["chapters"][i])
            elif rel in special:
                broken_checks[rel] = asyncio.ensure_future(check_broken_site(rel))

        res["headless"], headless_done = {}, loop.create_future()

        def ran_headless(rel, job):
            "The appendix `rel` has run headless: its report; its executed copy in place of the staged one; its page."
            def deliver():
                out = job.exception() or job.result()   # the executed notebook, or why it failed
                rep = browser.Report(Path(rel).stem, problems=[] if isinstance(out, nbformat.NotebookNode) else [str(out)[-3000:]])
                if not rep.problems:
                    nbformat.write(out, tmp / rel)
                    rep.notes.append(f"{sum(c.cell_type == 'code' for c in out.cells)} code cells run headless")
                res["headless"][rel] = rep
                saved(rel)
                if len(res["headless"]) == len(headless_rels): headless_done.set_result(None)
            job.add_done_callback(lambda _: loop.call_soon_threadsafe(deliver))

        for rel in headless_rels:
            ran_headless(rel, runner.submit(build_site.execute, tmp / rel))
        if not headless_rels: headless_done.set_result(None)

        async with browser.chromium() as chromium:
            t0 = time.monotonic()
            site_check = asyncio.create_task(browser.check_site(chromium, site, ARTIFACTS, parallel=1, written=written))
            res["lab"], res["lab_blocked"] = await browser.run_lab(
                chromium, tmp, lab_rels + special, ARTIFACTS, disable={f"nbs/{UNTYPESET}": [MATHJAX_PLUGIN]}, on_done=saved,
                first=special,               # the broken ones first: their sites are built and checked while the chapters run
                exercises=[(EXERCISE_NB, EXERCISE, solution_lines(EXERCISE)), (PUZZLE_NB, PUZZLE, PUZZLE_WRONG, PUZZLE_HOW),
                           (STEP_NB, STEP, step_lines("charmlp", STEP)), (BLOCK_NB, BLOCK, step_lines("gpt_gelu", BLOCK))])
            res["lab_seconds"] = time.monotonic() - t0
            await headless_done
            t0 = time.monotonic()
            res["site"], res["site_blocked"] = await site_check
            res["broken_site"] = await broken_checks[f"nbs/{BROKEN}"]
            res["untypeset_site"] = await broken_checks[f"nbs/{UNTYPESET}"]
            res["site_tail_seconds"] = time.monotonic() - t0
    res["seconds"] = time.monotonic() - t_start
    res["saved"] = {rel: nbformat.read(tmp / rel, as_version=4) for rel in rels}   # as JupyterLab ran and saved them
    return res


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    why = browser.chromium_missing_reason()
    if why:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"the browser test cannot run under CI: {why}")
        pytest.skip(why)
    for old in [*ARTIFACTS.glob("lab-*.png"), *ARTIFACTS.glob("site-*.png")]:
        old.unlink()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    res = asyncio.run(_run_everything(tmp_path_factory.mktemp("lab")))
    lines = [f"browser test: {res['seconds']:.1f} s in all; JupyterLab {res['lab_seconds']:.1f} s for "
             f"{len(res['lab'])} notebooks, {len(res['headless'])} appendices run headless beside it, the sites "
             f"written and checked meanwhile, their checks done {res['site_tail_seconds']:.1f} s later"]
    lines += [str(r) for part in ("lab", "headless", "site", "broken_site", "untypeset_site") for r in res[part].values()]
    lines.append(f"blocked requests: {res['lab_blocked'] + res['site_blocked'] or 'none'}")
    (ARTIFACTS / "browser-report.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return res


def test_notebooks_were_found():
    assert NOTEBOOKS, "no notebooks found in nbs/"


def test_every_chapter_and_exercise_runs_in_jupyterlab_and_only_appendices_headless():
    assert LAB and all(not is_appendix(nb) for nb in LAB) and all(int(nb.name[:2]) >= 90 for nb in HEADLESS)
    assert sorted(LAB + HEADLESS) == NOTEBOOKS


@pytest.mark.parametrize("nb", LAB, ids=[p.stem for p in LAB])
def test_notebook_runs_in_jupyterlab(run, nb):
    rep = run["lab"][f"nbs/{nb.name}"]
    assert not rep.problems, str(rep)
    assert (ARTIFACTS / f"lab-{nb.stem}.png").stat().st_size > 10_000, "no screenshot"


@pytest.mark.parametrize("nb", HEADLESS, ids=[p.stem for p in HEADLESS])
def test_appendix_runs_headless(run, nb):
    "Every cell of the appendix ran without an error (nbclient, in the notebook's folder), and its page is its run."
    rep = run["headless"][f"nbs/{nb.name}"]
    assert not rep.problems, str(rep)
    assert any(o for c in run["saved"][f"nbs/{nb.name}"].cells for o in c.get("outputs", [])), "no output at all"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_site_page(run, nb):
    rep = run["site"][build_site.page_name(nb)]
    assert not rep.problems, str(rep)


def test_site_index_and_api(run, record_property):
    record_property("summary", f"browser test: {run['seconds']:.1f} s in all, JupyterLab {run['lab_seconds']:.1f} s "
                    f"for {len(run['lab'])} notebooks (details and screenshots in tests/artifacts/)")
    rep = run["site"]["index"]
    assert not rep.problems, str(rep)
    assert len(run["site"]) == len(NOTEBOOKS) + 3          # the pages, the index, navigation, the phone


def test_site_sidebar_next_links_and_search_lead_to_the_right_pages(run):
    """Clicks on the sidebar's and the pager's links land on the right pages (and every page's own sidebar,
    previous and next links are checked with the page); a search for lin_grad finds chapter 3 first."""
    rep = run["site"]["navigation"]
    assert not rep.problems, str(rep)
    assert any(n.startswith("clicked through 00_data.html -> ") for n in rep.notes), str(rep)
    assert any(n.startswith("search lin_grad:") and "first 03_backward.html#" in n for n in rep.notes), str(rep)


def test_site_reads_on_a_phone(run):
    "At 400 px wide the chapter fits the screen and the sidebar folds behind its Contents button."
    rep = run["site"]["phone"]
    assert not rep.problems, str(rep)
    assert (ARTIFACTS / "site-phone-03_backward.png").stat().st_size > 10_000, "no screenshot at 400 px"


def test_a_learner_types_a_solution_into_an_exercise_and_the_grader_says_correct(run):
    """In an exercise notebook, the stub cell's text selected and a solution typed over it, key by key; then
    Run All Cells: the grader's cell under it shows its report, `correct`, and every other stub is not implemented yet."""
    rep = run["lab"][f"{EXERCISE_NB}: {EXERCISE}"]
    assert not rep.problems, str(rep)
    assert any(f"{EXERCISE}_grad: correct on all" in n for n in rep.notes), str(rep)
    assert (ARTIFACTS / f"lab-exercise-{Path(EXERCISE_NB).stem}.png").stat().st_size > 10_000, "no screenshot"


def test_a_learner_types_a_wrong_puzzle_answer_sees_its_jacobian_and_asks_for_a_hint(run):
    """In the puzzles notebook, a wrong answer typed over a stub: Run All Cells shows the grader's report, `wrong`, with
    the picture of the answer's Jacobian against the right one under it; then `hint("cumsum")`, typed into a new cell
    below, shows the first hint."""
    rep = run["lab"][f"{PUZZLE_NB}: {PUZZLE}"]
    assert not rep.problems, str(rep)
    assert any(f"{PUZZLE}_grad: wrong on" in n for n in rep.notes), str(rep)
    assert any(n.startswith("the grader drew 1 picture") for n in rep.notes), str(rep)
    assert any(n.startswith('hint("cumsum") printed: Hint 1 of 3') for n in rep.notes), str(rep)
    assert (ARTIFACTS / f"lab-exercise-{Path(PUZZLE_NB).stem}.png").stat().st_size > 10_000, "no screenshot"


def test_a_learner_types_a_step_of_chapter_14s_backward_and_the_step_grader_says_correct(run):
    """The same in the exercise of chapter 14: the stub of one step (`def dprobs():`) replaced, typed key by key, by
    a step with its parameters; Run All Cells: its grader cell says correct, every other step not implemented yet."""
    rep = run["lab"][f"{STEP_NB}: {STEP}"]
    assert not rep.problems, str(rep)
    assert any(f"{STEP}: correct on all" in n for n in rep.notes), str(rep)
    assert (ARTIFACTS / f"lab-exercise-{Path(STEP_NB).stem}.png").stat().st_size > 10_000, "no screenshot"


def test_a_learner_types_a_block_of_the_gpt_and_the_step_grader_says_correct(run):
    "And in the GPT's: chapter 15's GELU backward typed over its stub (its signature kept), graded correct on its block."
    rep = run["lab"][f"{BLOCK_NB}: {BLOCK}"]
    assert not rep.problems, str(rep)
    assert any(f"{BLOCK}: correct on all" in n for n in rep.notes), str(rep)
    assert (ARTIFACTS / f"lab-exercise-{Path(BLOCK_NB).stem}.png").stat().st_size > 10_000, "no screenshot"


QUOTED = [nb for nb in NOTEBOOKS if nb.stem in {e["nb"] for e in quoted_numbers.QUOTES}]


@pytest.mark.parametrize("nb", QUOTED, ids=[p.stem for p in QUOTED])
def test_the_numbers_the_prose_quotes_are_what_the_cells_printed(run, nb):
    "Each number that a chapter's prose quotes from a run (tests/quoted_numbers.py) is within its tolerance of the output."
    problems = quoted_numbers.output_problems(run["saved"][f"nbs/{nb.name}"], nb.stem)
    assert not problems, "\n".join(problems)


def test_no_request_leaves_the_machine(run):
    assert run["lab_blocked"] == [], f"requests from JupyterLab to outside: {run['lab_blocked']}"
    assert run["site_blocked"] == [], f"requests from the site to outside: {run['site_blocked']}"


EXPECTED_FAULTS = {
    "bad TeX": r"cell 1 .*MathJax error",
    "missing image": r"cell 2 .*image did not load: '[^']*no_such_figure\.png'",
    "cell that raises": r"cell 4 .*error output: ZeroDivisionError",
}


def _assert_finds(rep, expected, where):
    text = "\n".join(rep.problems)
    for fault, sign in expected.items():
        assert re.search(sign, text), f"{where} missed the {fault}:\n{rep}"


def test_browser_test_catches_a_broken_notebook(run):
    "The same checks, on a notebook broken on purpose, must report each of its faults."
    lab = run["lab"][f"nbs/{BROKEN}"]
    _assert_finds(lab, {**EXPECTED_FAULTS, "cell after the error": r"cell 5 .*did not run",
                        "count": r"2 numbered code cells of 3"}, "the JupyterLab check")
    _assert_finds(run["broken_site"][build_site.page_name(Path(BROKEN))], EXPECTED_FAULTS, "the site check")


def test_browser_test_catches_math_left_raw(run):
    "Without MathJax (JupyterLab's plugin switched off; the site's copy deleted) math stays raw."
    raw = {"raw math": r"cell 0 .*math left as raw text: '\$L = "}
    _assert_finds(run["lab"][f"nbs/{UNTYPESET}"], raw, "the JupyterLab check")
    _assert_finds(run["untypeset_site"][build_site.page_name(Path(UNTYPESET))],
                  {**raw, "no MathJax": "MathJax did not load"}, "the site check")
