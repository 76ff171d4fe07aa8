import pytest

import janus


@pytest.fixture
def ref_jit():
    """janus.jit on the reference backend with the default two profiling runs."""

    def make(fn, **config):
        return janus.jit(fn, backend="reference", config=janus.Config(**config))

    return make
