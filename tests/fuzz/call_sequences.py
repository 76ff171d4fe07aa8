"""Call sequences for generated programs: the argument tuples `f` is called with, as source.

They vary the way a training loop's arguments vary: one batch shape for a while and
then another, a step counter, a learning rate that decays or jumps, a flag that flips,
tensor values whose sign flips after profiling (so data-dependent branches change
direction once a graph exists), and now and then a value of another type.
"""

from __future__ import annotations

import random
from typing import Dict, List

TREES = ["(1, 2)", "((1, 2), 3)", "(1, (2, (3, 4)))", "((1, 2), (3, 4))", "(2, 5)", "(((1, 1), 2), 3)"]


def _matrix_source(r: random.Random, rows: int, cols: int, sign: float) -> str:
    # mostly-positive magnitudes times `sign`, so the sign of T.sum(x) follows `sign`
    def value():
        v = round(r.uniform(0.05, 0.95), 2)
        return round(-v / 2, 3) if r.random() < 0.15 else v

    body = ", ".join("[" + ", ".join(repr(value() * sign) for _ in range(cols)) + "]" for _ in range(rows))
    return f"T.tensor([{body}])"


def _change_points(r: random.Random, n_calls: int) -> List[int]:
    """Where a behaviour changes: after the profiled calls, sometimes changing back."""
    first = r.randint(2, n_calls - 2)
    points = [first]
    if r.random() < 0.5 and first + 2 < n_calls:
        points.append(r.randint(first + 1, n_calls - 1))
    return points


def _flips(r: random.Random, n_calls: int) -> List[bool]:
    """Per call: whether the behaviour is in its changed state."""
    points, state, out = _change_points(r, n_calls), False, []
    for i in range(n_calls):
        if i in points:
            state = not state
        out.append(state)
    return out


def _x_column(r: random.Random, n_calls: int, d: int) -> List[str]:
    rows0, rows1 = r.choice([1, 2, 3]), r.choice([1, 2, 3, 4])
    shape_changed = _flips(r, n_calls) if r.random() < 0.6 else [False] * n_calls
    start = 1.0 if r.random() < 0.7 else -1.0
    sign_flipped = _flips(r, n_calls) if r.random() < 0.8 else [False] * n_calls
    out = []
    for i in range(n_calls):
        rows = rows1 if shape_changed[i] else rows0
        sign = -start if sign_flipped[i] else start
        out.append(_matrix_source(r, rows, d, sign))
    return out


def _n_column(r: random.Random, n_calls: int) -> List[str]:
    style = r.choice(["counter", "constant-then-change", "small-random"])
    if style == "counter":
        start = r.choice([0, 1])
        return [repr(start + i) for i in range(n_calls)]
    if style == "constant-then-change":
        a, b = r.sample(range(6), 2)
        return [repr(b if f else a) for f in _flips(r, n_calls)]
    return [repr(r.randint(0, 5)) for _ in range(n_calls)]


def _lr_column(r: random.Random, n_calls: int) -> List[str]:
    style = r.choice(["constant", "decay", "jump", "linear"])
    base = r.choice([0.1, 0.01, 0.5, 1e-3, 0.3])
    if style == "constant":
        return [repr(base)] * n_calls
    if style == "decay":
        return [repr(base * 0.9**i) for i in range(n_calls)]
    if style == "linear":
        return [repr(base * (i + 1)) for i in range(n_calls)]
    other = r.choice([0.2, 0.05, 1.5, 0.7])
    return [repr(other if f else base) for f in _flips(r, n_calls)]


def _flag_column(r: random.Random, n_calls: int) -> List[str]:
    start = r.random() < 0.5
    return [repr(start != f) for f in _flips(r, n_calls)]


def _tree_column(r: random.Random, n_calls: int) -> List[str]:
    first, second = r.sample(TREES, 2)
    if r.random() < 0.3:
        return [r.choice(TREES) for _ in range(n_calls)]
    return [second if f else first for f in _flips(r, n_calls)]


#: a value of another type, per parameter: what a caller passes "by accident"
OTHER_TYPE = {
    "x": ["0.5", "T.tensor([0.25, -0.5])", "-2.0"],
    "n": ["3.0", "True", "-1"],
    "lr": ["1", "T.tensor(0.1)", "0"],
    "flag": ["0", "1", "None"],
    "tree": ["4", "(1, 2.5)", "(True, 2)"],
}


def make_calls(r: random.Random, params: List[str], d: int) -> List[str]:
    """Source text of each call's argument tuple, 6 to 12 calls."""
    n_calls = r.randint(6, 12)
    makers = {
        "x": lambda: _x_column(r, n_calls, d),
        "n": lambda: _n_column(r, n_calls),
        "lr": lambda: _lr_column(r, n_calls),
        "flag": lambda: _flag_column(r, n_calls),
        "tree": lambda: _tree_column(r, n_calls),
    }
    columns: Dict[str, List[str]] = {p: makers[p]() for p in params}
    if r.random() < 0.3:
        victim = r.choice(params)
        at = r.randint(3, n_calls - 1)
        columns[victim][at] = r.choice(OTHER_TYPE[victim])
    return ["(" + "".join(columns[p][i] + ", " for p in params) + ")" for i in range(n_calls)]
