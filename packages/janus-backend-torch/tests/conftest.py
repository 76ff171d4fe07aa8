import pytest
import torch

import janus


def executables(jitted):
    """The executables of a jitted function's specializations, newest last."""
    return [spec.executable for spec in jitted._state.cache.values()]


def jit(fn, **config):
    return janus.jit(fn, backend="torch", config=janus.Config(**config))


def assert_same(a, b):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor), (type(a), type(b))
        assert a.shape == b.shape and a.dtype == b.dtype and a.requires_grad == b.requires_grad
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, equal_nan=True)
    elif isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float):
        assert type(b) is float and abs(a - b) <= 1e-6 + 1e-6 * abs(a)
    else:
        assert type(a) is type(b) and a == b


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _no_background_compile_leaks_into_the_next_test():
    # a tiered graph's Inductor compile runs on a background thread; let it finish inside
    # the test that started it (it touches dynamo's global counters and caches)
    yield
    from janus_torch.executable import _join_compiles

    _join_compiles()
