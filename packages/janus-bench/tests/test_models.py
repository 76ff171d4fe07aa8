"""The registry's workloads: interface, determinism per seed, agreement across frameworks."""

from __future__ import annotations

import numpy as np
import pytest
from bench_helpers import PAIRS, assert_close, need_framework, run_calls

from janus_bench.models import PLANNED, PROFILES, get_workload, workloads
from janus_bench.models.treernn import random_tree, tree_maker


def test_registry_has_the_required_workloads():
    names = workloads()
    for required in ("lstm_forward", "lstm_train", "branchy", "treernn", "lenet"):
        assert required in names
        w = get_workload(required)
        assert set(w.implementations) == {"torch", "tf"}
        for p in PROFILES:
            for impl in w.implementations.values():
                assert impl.samples_per_call(p) >= 1
    assert not set(PLANNED) & set(names)  # implementing a model takes it off the planned list
    PLANNED["not_yet"] = "a model still to come"
    try:
        with pytest.raises(KeyError, match="planned"):
            get_workload("not_yet")
    finally:
        del PLANNED["not_yet"]


def test_trees_are_fresh_and_in_range():
    make = tree_maker(get_workload("treernn").sizes["quick"], seed=3)
    trees = [make() for _ in range(20)]

    def leaves(t):
        return 1 if isinstance(t, int) else leaves(t[0]) + leaves(t[1])

    assert all(8 <= leaves(t) <= 24 for t in trees)
    assert len({repr(t) for t in trees}) > 10
    assert random_tree(np.random.default_rng(0), 1, 5) in range(5)


@pytest.mark.parametrize("workload,fw", PAIRS)
def test_eager_is_deterministic_per_seed(workload, fw):
    need_framework(fw)
    impl = get_workload(workload).impl(fw)
    a, _ = run_calls(impl, 3, seed=0)
    b, _ = run_calls(impl, 3, seed=0)
    assert_close(a, b, rtol=1e-6, atol=1e-7, what=f"{workload}/{fw} seed 0 vs seed 0")
    c, _ = run_calls(impl, 3, seed=1)
    assert any(not np.allclose(x, y) for x, y in zip(a, c)), "a different seed should give different outputs"


@pytest.mark.parametrize("workload", workloads())
def test_torch_and_tf_compute_the_same_thing(workload):
    """Both implementations start from the same NumPy weights and data, so they agree."""
    need_framework("torch")
    need_framework("tf")
    w = get_workload(workload)
    a, _ = run_calls(w.impl("torch"), 2)
    b, _ = run_calls(w.impl("tf"), 2)
    assert_close(a, b, rtol=1e-4, atol=1e-4, what=f"{workload}: torch vs tf")
