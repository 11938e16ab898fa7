"""One torch thread in model tests (the machines have 2 cores, shared by parallel runs); a test
module imports the fixture to use it: ``from tests.torch_threads import one_torch_thread``."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
