"""Typed random expressions over the framework shim `T` (used by generator.py).

Kinds of values: tensors of the argument's shape, 0-d tensors, Python floats and ints
(with host-derived twins, see `Exprs`), lists, dicts, strings and closures.  Only `T`
functions that every shim in janus.testing.frameworks defines appear.
"""

from __future__ import annotations

import contextlib
import random
from typing import Callable, Dict, List, Tuple

#: variable kinds; "hfloat"/"hint" are numbers computed from a tensor's value (host reads)
TYPES = ("tensor", "stensor", "float", "int", "hfloat", "hint", "list", "dict", "str", "fn")


class Exprs:
    """Typed expressions over the variables in scope (`self.scope[type]`).

    `self.host` says whether a tensor's value may be read into Python here.  JANUS
    computes such reads after the graph when they feed only output, state or the result;
    feeding tensor work or a decision they make the call imperative.  Programs mostly keep
    them where JANUS can convert, and sometimes (`HOST_LEAK`) let them leak.

    A *friendly* program avoids the constructs JANUS documents as unsupported (so that
    its calls are graph-served and the graph paths get tested); the others mix them in
    (so that fallback paths get tested).  `odd(w)` is the weight of such a construct."""

    HOST_LEAK = 0.08

    def __init__(self, r: random.Random, params: List[str], friendly: bool):
        self.r = r
        self.params = params
        self.friendly = friendly
        self.host = True
        self.scope: Dict[str, List[str]] = {t: [] for t in TYPES}
        self.scope["tensor"].append("x")
        for p, t in (("n", "int"), ("lr", "float")):
            if p in params:
                self.scope[t].append(p)

    @contextlib.contextmanager
    def no_host(self):
        saved, self.host = self.host, self.host and self.r.random() < self.odd(self.HOST_LEAK)
        try:
            yield
        finally:
            self.host = saved

    def odd(self, weight: float) -> float:
        return 0.0 if self.friendly else weight

    def weighted(self, table: List[Tuple[float, Callable[[], str]]]) -> str:
        pick = self.r.uniform(0, sum(w for w, _ in table))
        for w, make in table:
            pick -= w
            if pick <= 0:
                return make()
        return table[-1][1]()

    def names(self, kind: str) -> List[str]:
        """Variables of `kind`; host-derived numbers only where host reads are allowed."""
        extra = self.scope.get("h" + kind, []) if self.host and kind in ("float", "int") else []
        return self.scope[kind] + extra

    def pick(self, kind: str, fallback: Callable[[], str]) -> str:
        names = self.names(kind)
        return self.r.choice(names) if names else fallback()

    def lit_float(self) -> str:
        return self.r.choice(["0.5", "0.1", "1.5", "0.25", "2.0", "0.3", "1e-3"])

    def tensor(self, depth: int = 0) -> str:
        with self.no_host():
            return self._tensor(depth)

    def _tensor(self, depth: int) -> str:
        r = self.r
        if depth >= 2 or r.random() < 0.3:
            return self.pick("tensor", lambda: "x")
        a = self._tensor(depth + 1)
        table = [
            (3, lambda: f"T.{r.choice(['tanh', 'sigmoid', 'relu', 'abs'])}({a})"),
            (3, lambda: f"({a} {r.choice(['+', '-', '*'])} {self._tensor(depth + 1)})"),
            (2, lambda: f"({a} * {self.pyfloat(depth + 1)})"),
            (1, lambda: f"({a} + {self.lit_float()})"),
            (2, lambda: f"T.matmul({a}, W)"),
            (1, lambda: f"({a} * {self.stensor(depth + 1)})"),
            (1, lambda: f"T.maximum({a}, {self._tensor(depth + 1)})"),
            (1, lambda: f"T.where({a} > 0, {a}, {a} * 0.5)"),
            (1, lambda: f"T.exp(T.tanh({a}))"),
            (0.5, lambda: f"rec_t({a}, {r.randint(0, 3)})"),
            (0.5, lambda: f"({a} * obj.v)"),
        ]
        if self.scope["fn"]:
            table.append((1, lambda: f"{r.choice(self.scope['fn'])}({a})"))
        if "tree" in self.params:
            table.append((0.5, lambda: f"tree_t(tree, {a})"))
        return self.weighted(table)

    def stensor(self, depth: int = 0) -> str:
        if self.scope["stensor"] and self.r.random() < 0.4:
            return self.r.choice(self.scope["stensor"])
        red = self.r.choice(["sum", "sum", "mean", "max"])
        if self.r.random() < 0.1:
            return f"T.{red}(T.stack([{self.tensor(depth + 1)}, {self.tensor(depth + 1)}]))"
        return f"T.{red}({self.tensor(depth + 1)})"

    def host_float(self, depth: int = 0) -> str:
        """A tensor's value read into a Python float."""
        return f"float({self.stensor(depth + 1)})"

    def pyfloat(self, depth: int = 0) -> str:
        r = self.r
        if depth >= 2 or r.random() < 0.35:
            return r.choice(
                [lambda: self.pick("float", self.lit_float), self.lit_float, lambda: "TOTAL", lambda: "obj.scale"]
            )()
        a, b = self.pyfloat(depth + 1), self.pyfloat(depth + 1)
        table = [
            (3, lambda: f"({a} {r.choice(['+', '-', '*'])} {b})"),
            (1, lambda: f"({a} / {self.sometimes_zero()})"),
            (1, lambda: f"(({a} + 1e8) - 1e8)"),  # exact in float64, not in float32
            (1, lambda: f"({a} * (1.0 + 1e-12))"),
            (1, lambda: f"({a} / 3.0 + 0.1 + 0.2)"),
            (1, lambda: f"({a} ** 2)"),
            (self.odd(0.3), lambda: f"round({a}, {r.randint(1, 4)})"),
            (0.5, lambda: f"({a} if {self.py_cond()} else {b})"),
        ]
        if self.host:
            table.append((2, lambda: self.host_float(depth)))
        return self.weighted(table)

    def pyint(self, depth: int = 0) -> str:
        r = self.r
        if depth >= 2 or r.random() < 0.35:
            return r.choice(
                [
                    lambda: self.pick("int", lambda: str(r.randint(0, 5))),
                    lambda: "COUNT",
                    lambda: "obj.step",
                    lambda: str(r.randint(0, 5)),
                    lambda: f"len({self.pick('list', lambda: 'log')})" if not self.friendly else "obj.step",
                ]
            )()
        a, b = self.pyint(depth + 1), self.pyint(depth + 1)
        table = [
            (3, lambda: f"({a} {r.choice(['+', '-', '*'])} {b})"),
            (1, lambda: f"({a} // {self.sometimes_zero()})"),
            (1, lambda: f"({a} % {r.randint(2, 5)})"),
            (1, lambda: f"({a} * 10**{r.choice([18, 20, 30])} + {b})"),  # past int64
            (0.5, lambda: f"(2**63 + {a})"),
            (0.5, lambda: f"rec({a} % 4)"),
            (0.5, lambda: f"len([v for v in range({a} % 5) if v % 2 == 0])"),
        ]
        if self.host:
            table.append((self.odd(0.2), lambda: f"int({self.host_float(depth)} * 100)"))
        if "tree" in self.params:
            table.append((0.5, lambda: "tree_sum(tree)"))
        return self.weighted(table)

    def sometimes_zero(self) -> str:
        """A divisor that is zero in some calls only: a varying int minus a constant."""
        with self.no_host():
            varying = self.r.choice(["COUNT", "obj.step"] + self.names("int"))
        return f"({varying} - {self.r.randint(1, 3)})"

    def tensor_cond(self) -> str:
        r = self.r
        t = self.tensor(1)
        return self.weighted(
            [
                (3, lambda: f"T.sum({t}) > 0"),
                (1, lambda: f"T.max({t}) > {r.choice(['0.5', '0.9', '1.5'])}"),
                (1, lambda: f"T.mean({t}) < {r.choice(['0', '-0.2', '0.3'])}"),
                (self.odd(0.3), lambda: f"float(T.sum({t})) > {r.choice(['0.0', '0.5'])}"),
                (self.odd(0.3), lambda: f"T.sum({t}) > 0 and {self.py_cond()}"),
            ]
        )

    def py_cond(self) -> str:
        r = self.r
        with self.no_host():
            options = [
                lambda: f"{self.pyint(1)} > {r.randint(0, 4)}",
                lambda: "COUNT % 2 == 0",
                lambda: f"len({self.pick('list', lambda: 'HIST')}) > {r.randint(1, 3)}",
                lambda: f"{self.pyfloat(1)} > {r.choice(['0.05', '0.2', '1.0'])}",
            ]
            if "flag" in self.params:
                options += [lambda: "flag", lambda: "not flag"]
            return r.choice(options)()

    def cond(self) -> str:
        return self.tensor_cond() if self.r.random() < 0.6 else self.py_cond()

    def value(self) -> str:
        """An expression of any Python-visible kind (what goes into lists and prints)."""
        return self.r.choice(
            [self.pyint, self.pyfloat, self.host_float, lambda: repr(self.r.choice(["a", "b", "tag"]))]
        )()
