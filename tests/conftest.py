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
