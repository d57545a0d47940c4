import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """The tests use small tensors: one torch thread is as fast, and on a busy 2-core machine torch's
    thread pool made tiny calls up to 100 times slower. Notebooks run in their own processes, unaffected."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


LONG_POLES = ("test_browser.py", "test_notebooks.py")


def pytest_collection_modifyitems(config, items):
    """The two files that run every notebook (in JupyterLab, or headless without Chromium) first: with `make test`'s
    `--dist loadfile --no-loadscope-reorder` each starts at once on a worker of its own, while the other worker runs
    the rest. pytest-xdist otherwise hands a worker a few files before the long pole, and the run waits for them."""
    items.sort(key=lambda item: Path(str(item.path)).name not in LONG_POLES)   # stable: the rest keep their order


# Counts that tests report (catch rates, sweep sizes, timings) are recorded with pytest's
# `record_property("summary", text)` and printed at the end of the run, before pytest's last line.
# Properties travel with the test reports, so this works under pytest-xdist too, where a test's
# own prints are lost.
_summaries = []


def pytest_runtest_logreport(report):
    if report.when == "call":
        _summaries.extend(v for k, v in report.user_properties if k == "summary")


def pytest_terminal_summary(terminalreporter):
    if _summaries:
        terminalreporter.section("what the tests counted")
        for text in _summaries:
            terminalreporter.write_line(text)


_FRESH_IMPORT = """import contextlib, importlib, io, json, sys
out = io.StringIO()
with contextlib.redirect_stdout(out):
    importlib.import_module(sys.argv[1])
print(json.dumps({"backprop": sorted(m for m in sys.modules if m.startswith("backprop.")), "stdout": out.getvalue()}))"""


@functools.cache
def _fresh_import(module):
    res = subprocess.run([sys.executable, "-c", _FRESH_IMPORT, module], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parent.parent)
    assert res.returncode == 0, f"import {module} in a new Python failed:\n{res.stderr[-3000:]}"
    return json.loads(res.stdout)


@pytest.fixture(scope="session")
def fresh_import():
    """fresh_import(module): what importing `module` in a new Python does, as {"backprop": the backprop modules
    then loaded, sorted; "stdout": what the import printed}. One new Python per module and test process, however
    many tests ask (each one imports torch: a second or two)."""
    return _fresh_import
