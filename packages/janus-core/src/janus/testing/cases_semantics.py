"""Exact eager semantics under stress (issue 12): Python state written under graph
control flow, guards on what Python code reads whole, Python-number semantics, patched
functions.  Each case is a user's report, run on every backend against eager."""

import numpy as np

from .corpus import case

R = np.random.default_rng(12)
SIGNS = [1.0, -1.0, 1.0, -1.0, 1.0, -1.0, -1.0, 1.0]


def arr(*shape):
    return R.standard_normal(shape).astype(np.float32)


class Box:
    pass


@case("S0_local_dict_written_on_both_branches", tags=["control"], served=4)
def _(T):
    def f(a):
        x = {"a": a}
        if T.sum(x["a"]) > 0:
            x["b"] = 1
        else:
            x["b"] = -1
        return x

    return f, [((T.tensor([s]),), {}) for s in SIGNS], lambda: None


@case("S0_local_list_item_written_on_both_branches", tags=["control"], served=4)
def _(T):
    def f(a):
        x = [a, 0, "x"]
        if T.sum(a) > 0:
            x[1] = a * 2.0
            x[2] = "pos"
        else:
            x[1] = a - 1.0
            x[2] = "neg"
        return x

    return f, [((T.tensor([s, 2.0]),), {}) for s in SIGNS], lambda: None


@case("S0_key_written_on_one_branch_only", tags=["control"], served=0)
def _(T):
    # eager has no "b" for a negative input: the structures differ, so the call falls back
    def f(a):
        x = {"a": a}
        if T.sum(a) > 0:
            x["b"] = 1
        return sorted(x)

    return f, [((T.tensor([s]),), {}) for s in SIGNS], lambda: None


@case("S0_outside_state_written_on_both_branches", tags=["control", "heap"], served=4)
def _(T):
    box = Box()
    box.log, box.total = [], 0

    def f(x):
        if T.sum(x) > 0:
            box.log.append("p")
            box.total = box.total + 1
            print("pos", float(T.sum(x * 3.0)))
        else:
            box.log.append("n")
            box.total = box.total - 1
            print("neg")
        return x * box.total

    return f, [((T.tensor([s]),), {}) for s in SIGNS], lambda: (box.log, box.total)


@case("S0_python_values_chosen_by_a_tensor_if", tags=["control"], served=4)
def _(T):
    def f(x, names):
        mode, scale = None, 1
        if T.sum(x) > 0:
            mode, scale = names[0], 2
        else:
            mode, scale = names[1], 3
        return mode, x * scale

    return f, [((T.tensor([s]), ("up", "down")), {}) for s in SIGNS], lambda: None


@case("S0_local_list_slot_carried_by_a_graph_while", tags=["control"], served=3)
def _(T):
    def f(x):
        acc = {"sum": x * 0.0, "n": 0}
        while T.sum(x) < 20.0:
            x = x * 2.0
            acc["sum"] = acc["sum"] + x
            acc["n"] = acc["n"] + 1
        return acc["sum"], acc["n"]

    return f, [((T.tensor([v]),), {}) for v in [1.0, 2.0, 3.0, 5.0, 0.5, 7.0]], lambda: None


@case("S0_local_list_appended_in_a_graph_while", tags=["control"], served=0)
def _(T):
    # a graph loop cannot append a varying number of items: falls back, never one append
    def f(x):
        outs = []
        while T.sum(x) < 20.0:
            x = x * 2.0
            outs.append(x)
        return len(outs)

    return f, [((T.tensor([v]),), {}) for v in [1.0, 2.0, 3.0, 5.0, 0.5, 7.0]], lambda: None


@case("S0_conversion_of_a_while_on_a_dict_ends", tags=["control"], served=0, frameworks=("torch", "tf"))
def _(T):
    # the reported hang: a while whose condition reads a dict the body rewrites
    def f(a, b):
        y = {"a": a, "b": b}
        while y["b"] <= 10:
            y["a"] += 1
            y["b"] *= 2
        return y

    return f, [((0, True), {}), ((0, T.itensor(3)), {}), ((0, T.itensor(4)), {}), ((0, T.itensor(5)), {})], lambda: None


@case("S0_list_argument_contents_are_guarded", tags=["core"], served=2)
def _(T):
    def f(items, fn, x):
        s = 0
        for i in fn(items):
            s = s * 10 + i
        return s, str(items), x * 1.0

    def twice(v):
        return v * 2

    lists = [[1, 2], [1, 2], [1, 2], [1], [1], [3, 4], [1, 2]]
    return f, [((lst, twice, T.tensor([1.0])), {}) for lst in lists], lambda: None


@case("S0_attribute_absence_is_guarded", tags=["core"], served=4)
def _(T):
    box = Box()

    def f(x):
        if hasattr(box, "scale"):
            return x * box.scale
        return x * getattr(box, "fallback", 1.0)

    def add_scale():
        box.scale = 3.0

    calls = (
        [((T.tensor([1.0]),), {}) for _ in range(4)]
        + [((T.tensor([1.0]),), {}, add_scale)]
        + [((T.tensor([1.0]),), {}) for _ in range(3)]
    )
    return f, calls, lambda: None


@case("S0_object_identity_is_guarded", tags=["core"], served=3)
def _(T):
    a, b = Box(), Box()

    def f(p, q, x):
        if p is q:
            return x + 1.0
        return x - 1.0

    pairs = [(a, a), (a, a), (a, a), (a, b), (b, b), (b, a)]
    return f, [((p, q, T.tensor([1.0])), {}) for p, q in pairs], lambda: None


@case("S0_callable_of_a_lambda_made_in_the_call", tags=["core"], served=4)
def _(T):
    def f(x):
        def g():
            pass

        y = x + 1.0 if callable(lambda v: True) else x - 1.0
        return y * 2.0 if callable(g) and isinstance(g, type(f)) else y

    return f, [((T.tensor([1.0]),), {}) for _ in range(6)], lambda: None


@case("S6_python_division_by_zero_raises", tags=["core"], served=3, exact=True)
def _(T):
    def f(x, d):
        return x * (10.0 / d), 10.0 / d

    return f, [((T.tensor([1.0]), d), {}) for d in [2.0, 3.0, 4.0, 0.0, 5.0, 0.0, 8.0]], lambda: None


@case("S7_python_ints_do_not_overflow", tags=["core"], served=3, exact=True)
def _(T):
    def f(x, k):
        return k * k + 1, x * 2.0

    ks = [3, 4, 2**40, 2**62, 5, 2**100]
    return f, [((T.tensor([1.0]), k), {}) for k in ks], lambda: None


@case("S8_python_floats_keep_float64", tags=["core"], served=3, exact=True)
def _(T):
    def f(x, lr):
        step = lr / 3.0
        return step, step * 1e9 + 0.1, x * 1.0

    return f, [((T.tensor([1.0]), lr), {}) for lr in [1e-3, 2e-3, 1e-9, 3e-7, 1.0 / 3.0]], lambda: None


@case("S9_patched_framework_function_is_followed", tags=["core"], served=4)
def _(T):
    original = T.exp

    def f(x):
        return T.exp(x) * 2.0

    def patch():
        T.exp = T.tanh

    def unpatch():
        T.exp = original

    x = T.tensor([0.5, -0.25])
    calls = [((x,), {}) for _ in range(4)] + [((x,), {}, patch), ((x,), {}), ((x,), {}), ((x,), {}, unpatch)]
    return f, calls, unpatch


@case("S13_effects_and_values_on_both_branches_in_a_loop", tags=["control", "heap"], served=3)
def _(T):
    log = []

    def f(x):
        for i in range(3):
            if T.sum(x) > float(i):
                log.append(i)
                print("up", i, float(T.sum(x * 2.0)))
            else:
                log.append(-i)
        return x * 2.0

    return f, [((T.tensor([v]),), {}) for v in [0.5, 2.5, 0.5, 1.5, 2.5, 0.5, 1.5]], lambda: list(log)


# -- found by the differential program generator (tests/fuzz) -----------------------------
@case("F_unused_python_number_that_raises", tags=["core"], served=2)
def _(T):
    def f(x, n, lr):
        try:
            q = lr / (n - 3)  # unused, but eager raises here when n == 3
            for i in range(5):
                x = x + i
        except ZeroDivisionError:
            pass
        return x

    return f, [((T.tensor([0.5, 0.25]), n, 0.3), {}) for n in [0, 1, 2, 3, 4, 3, 5]], lambda: None


@case("F_nested_host_numbers_of_a_written_attribute", tags=["core", "heap"], served=2, exact=True)
def _(T):
    box = Box()
    box.step = 0

    def depth(k):
        if k <= 0:
            return 1
        return k * 1000003 + depth(k - 1)

    def f(x):
        for _ in range(5):
            box.step += 1
            k = depth(box.step // (box.step - 3) % 5)
        return x * 1.0, k

    return f, [((T.tensor([1.0]),), {}) for _ in range(6)], lambda: box.step


@case("F_two_recursions_over_one_tree", tags=["recursion"], served=2)
def _(T):
    def tree_sum(t):
        if isinstance(t, tuple):
            return tree_sum(t[0]) * 2 + tree_sum(t[1])
        return t

    def tree_t(t, h):
        if isinstance(t, tuple):
            return T.tanh(tree_t(t[0], h) + tree_t(t[1], h) * 0.5)
        return h * t

    def f(x, tree):
        return tree_t(tree, x), tree_sum(tree)

    trees = [(((1, 1), 2), 3), (1, (2, (3, 4))), (((1, 1), 2), 3), ((1, 2), 3), ((1, 2), (3, 4))]
    return f, [((T.tensor(np.full((2, 3), 0.5)), tr), {}) for tr in trees], lambda: None


@case("S_learning_rate_schedule_on_the_host", tags=["core", "io"], served=5, exact=True)
def _(T):
    def f(x, step, base_lr):
        lr = min(base_lr, 0.1 * step)
        half = int(step / 2)
        print("step " + str(step), repr(lr), max(half, 1))
        return x * lr + half, lr

    return f, [((T.tensor([1.0, 2.0]), s, 0.35), {}) for s in range(1, 9)], lambda: None


@case("F_in_place_update_after_a_graph_cond", tags=["control", "state"], served=3, frameworks=("numpy", "torch"))
def _(T):
    def f(x):
        if T.sum(x) > 0:
            x *= 2.0
        x -= 1.0
        return x * 1.0

    xs = [[0.24, 0.36], [-0.94, -0.54], [-0.58, -0.67], [0.5, 0.6], [0.3, 0.1], [-0.2, -0.1]]
    return f, [((T.tensor([v]),), {}) for v in xs], lambda: None


@case(
    "F_in_place_update_of_a_name_a_graph_loop_may_rebind",
    tags=["control", "state"],
    served=0,
    frameworks=("numpy", "torch"),
)
def _(T):
    # whether `w` is still the caller's tensor depends on the data: falls back, never a lost write
    def f(x):
        w = x
        while T.sum(w) > 0.5:
            w = T.tanh(w) - 0.5
        w -= 1.0
        return w

    xs = [[0.24, 0.36], [-0.94, -0.54], [-0.58, -0.67], [0.5, 0.6], [2.0, 3.0]]
    return f, [((T.tensor([v]),), {}) for v in xs], lambda: None


COUNT = 0


@case("F_global_written_on_one_branch_then_formatted", tags=["control", "heap"], served=3)
def _(T):
    log = []

    def f(x):
        global COUNT
        if T.sum(x) > 0:
            COUNT += 1
        msg = f"{COUNT}-{1.5:.3f}"
        log.append(msg)
        return x * 2.0

    def reset():
        global COUNT
        COUNT = 0

    calls = [((T.tensor([v]),), {}) for v in [0.5, -0.5, -0.2, 0.3, -0.1, 0.4]]
    calls[0] = calls[0] + (reset,)
    return f, calls, lambda: (list(log), COUNT)
