"""More peer pitfalls (PEER-PITFALLS.md C9-C20): control flow, host reads, local classes,
globals across modules, in-place writes through views."""

import numpy as np

from . import helper_mod
from .corpus import case

K = 2


@case("C9_newton_while_varying_trips", tags=["control"], served=3)
def _(T):
    def f(x):
        y = x * 1.0
        while T.max(T.abs(y * y - 2.0)) > 1e-6:
            y = y - (y * y - 2.0) / (2.0 * y)
        return y

    return f, [((T.tensor([v]),), {}) for v in [1.0, 10.0, 1000.0, 1.0, 5.0]], lambda: None


@case("C13_dtype_changes_on_a_branch", tags=["host-state"], served=2)
def _(T):
    def f(x, flag):
        y = x * 0 + 1
        if float(T.sum(flag)) > 0:
            y = y / 3
        return y

    return f, [((T.itensor([1, 2]), T.tensor([v])), {}) for v in [1.0, 1.0, -1.0, 1.0]], lambda: None


@case("C14_tensor_grows_in_loop", tags=["control"], served=2)
def _(T):
    def f(x, k):
        acc = x[:0]
        i = 0
        while i < k:
            acc = T.cat([acc, x[i : i + 1]], 0)
            i = i + 1
        return acc

    return f, [((T.tensor(np.arange(6, dtype=np.float32)), k), {}) for k in [2, 2, 3, 5, 1]], lambda: None


@case("C15_list_grown_by_data_dependent_count", tags=["host-state"], served=1)
def _(T):
    # the count is read on the host (an island); the list, made before it, is grown by
    # the segment after it, and reading it whole after the growth is a second island
    # (a re-split): one call of five is served before the new split has warmed up
    def f(n):
        out = []
        for i in range(int(T.sum(n))):
            out.append(T.ones((2,)) * float(i))
        return T.stack(out) if out else T.zeros((0, 2))

    return f, [((T.tensor([v]),), {}) for v in [2.0, 2.0, 3.0, 0.0, 2.0]], lambda: None


@case("C17_local_class_mutates_closure", tags=["objects"], served=2)
def _(T):
    state = {"n": 0}
    seen = []

    def f(x):
        class Helper:
            def touch(self):
                state["n"] += 1
                seen.append(x.shape[0])

        Helper().touch()
        return x + 1

    return f, [((T.ones((4,)),), {}) for _ in range(4)], lambda: (dict(state), list(seen))


@case("C18_mutation_before_a_branch", tags=["objects"], served=2)
def _(T):
    def f(t):
        class Holder:
            items = []

        Holder.items.append(1)
        y = t * 2
        if T.sum(y) > 0:
            Holder.items.append(2)
        return T.sum(y) + len(Holder.items)

    return f, [((T.tensor([v]),), {}) for v in [1.0, 1.0, 1.0, -1.0]], lambda: None


@case("C19_global_written_by_callee_elsewhere", tags=["heap"], served=2)
def _(T):
    def make():
        def g(x):
            global K
            K = 100
            return x * 2

        return g

    def f(x):
        helper_mod.run(make(), x)
        return x + K

    def observe():
        global K
        value, K = K, 2
        return value

    return f, [((T.ones((2,)),), {}) for _ in range(4)], observe


@case("C20_write_into_a_strided_view_argument", tags=["state"], served=2, frameworks=("numpy", "torch"))
def _(T):
    base = T.tensor(np.random.default_rng(3).standard_normal((1, 4, 2, 6)).astype(np.float32))
    b = T.tensor(np.random.default_rng(4).standard_normal((1, 4, 6)).astype(np.float32))

    def f(a, b):
        m = T.maximum(a, b)
        T.assign(a, m + T.exp(-T.abs(a - b)))
        return T.sum(a)

    return f, [((base[..., 1, :], b), {}) for _ in range(4)], lambda: (base,)


@case("loop_break_with_work_after_it", tags=["control", "break"], served=4)
def _(T):
    """A data-dependent `break` in the middle of the body: the rest of the body and the
    later iterations run only while it has not fired; code after the loop runs once."""
    log = []

    def f(xs, scale):
        acc = xs[0] * 0.0
        steps = 0
        for x in xs:
            acc = acc + x * scale
            if T.sum(acc) > 4.0:
                break
            acc = acc * 0.5
            steps = steps + 1
        log.append("done")
        return acc, steps

    xs = [T.tensor(np.full(3, v, np.float32)) for v in [0.5, 1.0, 2.0, 0.25]]
    calls = [((xs, s), {}) for s in [0.1, 0.2, 1.0, 0.1, 3.0, 0.3]]
    return f, calls, lambda: list(log)


@case("C20_outside_list_items_read_after_writes", tags=["heap"], served=5, exact=True)
def _(T):
    # reads after `xs[0] += 1` / `xs[-1] = ...` see the new items (they read the old ones)
    counts = [0, 10, 100]

    def f(x):
        counts[0] += 1
        counts[-1] = counts[0] * 2
        total = 0
        for c in counts:
            total += c
        return x * float(counts[0] + counts[2] + total), counts[1:]

    return f, [((T.tensor(np.ones(2, np.float32) * i),), {}) for i in range(8)], lambda: list(counts)


@case("C21_framework_call_on_outside_list_after_writes", tags=["heap"], served=5)
def _(T):
    # `T.stack(xs)` after `xs.append(...)` / `xs[0] = ...` stacks the list as changed (it
    # stacked the items the list had before the call: silently fewer or stale rows)
    def f(x, xs, ys):
        xs.append(x * 2.0)
        ys[0] = x * 3.0
        return T.stack(xs), T.stack(ys) + 1.0

    calls = [((T.tensor(arr2(i)), [T.tensor(arr2(-i))], [T.tensor(arr2(i)), T.tensor(arr2(1))]), {}) for i in range(7)]
    return f, calls, lambda: None


def arr2(i):
    return np.full(2, float(i), np.float32)


@case("C22_outside_list_concatenated_with_a_host_read", tags=["heap", "islands"], served=3, exact=True)
def _(T):
    # `state["buf"] + [float(x.sum())]` baked the list's items at conversion into the graph
    # and the stored list: its length stopped growing after the first graph-served call
    state = {"buf": [0.0]}

    def f(x):
        state["buf"] = state["buf"] + [float(T.sum(x))]
        return x * len(state["buf"])

    return f, [((T.tensor(arr2(i)),), {}) for i in range(7)], lambda: list(state["buf"])
