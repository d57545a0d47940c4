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
