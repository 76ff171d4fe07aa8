"""Random Python programs from a small grammar, for differential testing of JANUS.

A program is module source: globals (`COUNT`, `TOTAL`, `HIST`, `SEEN`, a weight `W`), a
user object `obj`, a `log` list, helper functions (two of them recursive), the function
`f` under test and `CALLS()`, which returns the argument tuples of its call sequence.
The text is framework-neutral: it names only `T` functions that every shim in
janus.testing.frameworks defines; `prelude(fw)` binds `T` to one of them.

Scoping rule that keeps programs valid: a variable is usable after its definition in
the same block or a block nested in it, never after the block that defined it ends.
Loops are bounded by a counter or a small `range`, so every program terminates.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import List

from call_sequences import make_calls
from expressions import TYPES, Exprs


def prelude(fw: str) -> str:
    return f"import numpy as np\nfrom janus.testing.frameworks import shim\n\nT = shim({fw!r})\n\n"


@dataclass
class Program:
    seed: int
    body: str  # framework-neutral module source, without the prelude

    def module_source(self, fw: str) -> str:
        return prelude(fw) + self.body


def indent(lines: List[str], by: int = 1) -> List[str]:
    return ["    " * by + line for line in lines]


class Statements(Exprs):
    """Statements; compound ones nest blocks to `MAX_DEPTH`."""

    MAX_DEPTH = 2

    def __init__(self, r: random.Random, params: List[str], friendly: bool):
        super().__init__(r, params, friendly)
        self.counter = 0
        self.pure = False  # only assignments to locals (a friendly data-dependent loop body)

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def define(self, kind: str, prefix: str, expr: str) -> List[str]:
        name = self.fresh(prefix)
        self.scope[self.host_kind(kind, expr)].append(name)
        return [f"{name} = {expr}"]

    def host_kind(self, kind: str, expr: str) -> str:
        """`kind`, or its host-derived twin when `expr` reads a tensor's value."""
        if kind not in ("float", "int"):
            return kind
        tokens = set(re.findall(r"[A-Za-z_]\w*", expr))
        tainted = tokens & (set(self.scope["hfloat"]) | set(self.scope["hint"]) | {"float", "int"})
        return "h" + kind if tainted else kind

    def block(self, depth: int, count: int, keep_scope: bool = False) -> List[str]:
        saved = {k: list(v) for k, v in self.scope.items()}
        lines: List[str] = []
        for _ in range(count):
            lines += self.statement(depth)
        if not keep_scope:  # names defined in a nested block end with it
            self.scope = saved
        return lines or ["pass"]

    def statement(self, depth: int) -> List[str]:
        if self.pure:
            return self.st_tensor(depth) if self.r.random() < 0.7 else self.st_scalar(depth)
        table = [
            (8, self.st_tensor),
            (4, self.st_scalar),
            (3, self.st_list),
            (2, self.st_dict),
            (4, self.st_outside),
            (3, self.st_print),
            (2, self.st_fstring),
            (2, self.st_closure),
            (1, self.st_recursion),
        ]
        if depth < self.MAX_DEPTH:
            table += [
                (6, self.st_if),
                (3, self.st_while),
                (3, self.st_for),
                (2, self.st_raise),
                (2, self.st_try),
                (1, self.st_early_return),
            ]
        pick = self.r.uniform(0, sum(w for w, _ in table))
        for w, make in table:
            pick -= w
            if pick <= 0:
                return make(depth)
        return table[-1][1](depth)

    # -- assignments -----------------------------------------------------------------
    def st_tensor(self, depth: int) -> List[str]:
        if self.r.random() < 0.12:
            # in place for NumPy and torch (the caller sees a write to `x`), a rebinding for TF
            target = self.r.choice(self.scope["tensor"])
            with self.no_host():
                rhs = self.tensor() if self.r.random() < 0.5 else self.pyfloat(1)
            return [f"{target} {self.r.choice(['+=', '*=', '-='])} {rhs}"]
        if self.scope["tensor"][1:] and self.r.random() < 0.5:
            return [f"{self.r.choice(self.scope['tensor'][1:])} = {self.tensor()}"]
        if self.r.random() < 0.25:
            return self.define("stensor", "s", self.stensor())
        return self.define("tensor", "h", self.tensor())

    def st_scalar(self, depth: int) -> List[str]:
        r = self.r
        kind = r.choice(["float", "int"])
        own = [v for v in self.scope[kind] + self.scope["h" + kind] if v not in ("n", "lr")]
        if own and r.random() < 0.5:
            target = r.choice(own)
            make = self.pyfloat if kind == "float" else self.pyint
            if target in self.scope[kind]:  # keep a host-free variable host-free
                with self.no_host():
                    rhs = make()
            else:
                rhs = make()
            return [f"{target} {r.choice(['=', '+=', '-='])} {rhs}"]
        return self.define(kind, "v" if kind == "float" else "k", self.pyfloat() if kind == "float" else self.pyint())

    def st_list(self, depth: int) -> List[str]:
        r = self.r
        if not self.scope["list"] or r.random() < 0.3:
            return self.define("list", "acc", r.choice(["[]", f"[{self.value()}]", "list(HIST)"]))
        name = r.choice(self.scope["list"])
        return r.choice(
            [
                lambda: [f"{name}.append({self.value()})"],
                lambda: [f"{name}.extend([{self.value()}, {self.value()}])"],
                lambda: [f"if {name}:", f"    {name}[-1] = {self.value()}"],
                lambda: [f"if {name}:", f"    {name}.pop()"],
                lambda: [f"{name}.insert(0, {self.pyint()})"],
                lambda: [f"{name} += [{self.value()}]"],
                lambda: [f"if len({name}) < 8:", f"    {name} *= 2"],
                lambda: self.define("list", "al", name),  # an alias: later writes go through either name
            ]
        )()

    def st_dict(self, depth: int) -> List[str]:
        r = self.r
        if not self.scope["dict"] or r.random() < 0.3:
            return self.define("dict", "d", r.choice(["{}", f"{{'a': {self.pyint()}}}", "dict(SEEN)"]))
        name, key = r.choice(self.scope["dict"]), repr(r.choice(["a", "b", "hits", "last"]))
        return r.choice(
            [
                lambda: [f"{name}[{key}] = {self.value()}"],
                lambda: [f"{name}[{key}] = {name}.get({key}, 0) + 1"],
                lambda: [f"if {key} in {name}:", f"    del {name}[{key}]"],
                lambda: [f"{name}.update({{{key}: {self.pyint()}}})"],
            ]
        )()

    # -- state outside the function ------------------------------------------------------
    def st_outside(self, depth: int) -> List[str]:
        r = self.r
        return r.choice(
            [
                lambda: ["COUNT += 1"],
                lambda: [f"COUNT = COUNT * 2 + {self.pyint(1)}"],
                lambda: [f"TOTAL = TOTAL + {self.total_increment()}"],
                lambda: [f"HIST.append({self.value()})"],
                lambda: [f"SEEN[{self.pyint(1)} % 3] = {self.value()}"],
                lambda: ["obj.step += 1"],
                lambda: [f"obj.scale = obj.scale * {self.lit_float()}"],
                lambda: [f"obj.last = {self.value()}"],
                lambda: [f"obj.w = {self.tensor()}"],
                lambda: [f"T.assign(obj.v, obj.v * {self.lit_float()} + {self.stensor()})"],
                lambda: [f"obj.items.append({self.value()})"],
                lambda: [f"obj.items += [{self.value()}]"],
                lambda: [f"log.append(({repr(r.choice(['pos', 'neg', 'it']))}, {self.value()}))"],
                lambda: [f"bump({self.pyint(1)} % 3)"],
                # outside lists indexed by an int that varies between calls (the guard reads the item)
                lambda: self.define("float", "v", f"TABLE[{self.pyint(1)} % 4] * 1.0"),
                lambda: self.define("tensor", "h", f"x + ROWS[{self.pyint(1)} % 3] * {self.pyfloat(1)}"),
                lambda: [f"TABLE[{self.pyint(1)} % 4] = {self.pyfloat(1)}"],
                lambda: ["TABLE.append(TABLE.pop(0))"],
            ]
        )()

    def total_increment(self) -> str:
        """TOTAL also feeds tensor work: friendly programs keep host reads out of it."""
        if self.friendly:
            with self.no_host():
                return self.pyfloat(1)
        return self.pyfloat(1)

    def st_print(self, depth: int) -> List[str]:
        r = self.r
        return r.choice(
            [
                lambda: [f"print('p{self.counter}', {self.pyint()}, {self.pyfloat()})"],
                lambda: [f"print(f'loss={{{self.host_float()}:.4f}}')"],
                lambda: [f"print({self.host_float()})"],
                lambda: [f"print({self.pick('list', lambda: 'HIST')})"],
                lambda: [f"print({self.pick('dict', lambda: 'SEEN')}, sep='|')"],
                lambda: [f"print('t', {self.stensor()}, end=';\\n')"],
            ]
        )()

    def st_fstring(self, depth: int) -> List[str]:
        r = self.r
        parts = [
            f"{{{self.pyint()}}}",
            f"{{{self.pyfloat()}:.3f}}",
            f"{{{self.host_float()}:.2e}}",
            "{COUNT}",
            "{obj.tag}",
        ]
        if "flag" in self.params:
            parts.append("{flag}")
        text = "f'" + "-".join(r.sample(parts, 2)) + "'"
        lines = self.define("str", "msg", text)
        if r.random() < 0.6:
            lines.append(f"log.append({lines[0].split(' = ')[0]})")
        return lines

    def st_closure(self, depth: int) -> List[str]:
        r = self.r
        name = self.fresh("fn")
        with self.no_host():  # the closure's numbers feed tensor work
            scale = self.pyfloat(1)
        if r.random() < 0.5:
            lines = [f"{name} = lambda t: t * {scale} + {self.lit_float()}"]
        elif self.scope["list"] and r.random() < 0.5:
            # a closure that mutates a local list of the enclosing function
            target = r.choice(self.scope["list"])
            lines = [f"def {name}(t):", f"    {target}.append({self.lit_float()})", "    return T.tanh(t)"]
        else:
            lines = [f"def {name}(t):", f"    return T.tanh(t) * {scale}"]
        self.scope["fn"].append(name)
        return lines + self.define("tensor", "h", f"{name}({self.tensor(1)})")

    def st_recursion(self, depth: int) -> List[str]:
        options = [
            lambda: self.define("int", "k", f"rec({self.pyint(1)} % 5)"),
            lambda: self.define("tensor", "h", f"rec_t({self.tensor(1)}, {self.r.randint(1, 3)})"),
        ]
        if "tree" in self.params:
            options += [
                lambda: self.define("int", "k", "tree_sum(tree)"),
                lambda: self.define("tensor", "h", f"tree_t(tree, {self.tensor(1)})"),
            ]
        return self.r.choice(options)()

    # -- control flow --------------------------------------------------------------------
    def body(self, depth: int) -> List[str]:
        return indent(self.block(depth + 1, self.r.randint(1, 3)))

    def st_if(self, depth: int) -> List[str]:
        lines = [f"if {self.cond()}:"] + self.body(depth)
        if self.r.random() < 0.85:
            lines += ["else:"] + self.body(depth)
        return lines

    def st_while(self, depth: int) -> List[str]:
        r = self.r
        if self.friendly or r.random() < 0.5:
            # no counter: tanh(w) - 0.5 drives every element below -1, so the loop ends;
            # `w` joins the scope only after the body, so the body cannot assign it
            w = self.fresh("w")
            head = [
                f"{w} = {self.tensor()}",
                f"while T.sum({w}) > {r.choice(['0', '0.5'])}:",
                f"    {w} = T.tanh({w}) - 0.5",
            ]
            saved, self.pure = self.pure, self.friendly
            body = self.body(depth)
            self.pure = saved
            self.scope["tensor"].append(w)
            return head + body
        target = self.pick("tensor", lambda: "x")
        cond = f"T.sum({target}) > {r.choice(['0', '0.5'])}"
        it = self.fresh("it")
        step = [f"{target} = {target} * {r.choice(['0.5', '0.8'])} - {r.choice(['0.1', '0.3'])}", f"{it} += 1"]
        if r.random() < 0.4:
            head = [f"{it} = 0", f"while {cond} and {it} < {r.randint(2, 5)}:"]
            return head + indent(step) + self.body(depth)
        negated = cond.replace(" > ", " <= ")
        head = [f"{it} = 0", f"while {it} < {r.randint(2, 5)}:", f"    if {negated}:", "        break"]
        return head + indent(step) + self.body(depth)

    def st_for(self, depth: int) -> List[str]:
        r = self.r
        i = self.fresh("i")
        with self.no_host():
            bound = self.weighted(
                [
                    (2, lambda: str(r.randint(2, 5))),
                    (1, lambda: f"{self.pick('int', lambda: '3')} % 5"),
                    (self.odd(1), lambda: f"min({self.pick('int', lambda: '2')}, 4)"),
                ]
            )
        target = self.pick("tensor", lambda: "x")
        head = [f"for {i} in range({bound}):"]
        self.scope["int"].append(i)
        body = self.body(depth)
        self.scope["int"].remove(i)
        on_tensor = r.random() < 0.7
        jump = "break" if on_tensor and self.friendly else r.choice(["break", "break", "continue"])
        guard = [f"    if {self.tensor_cond() if on_tensor else f'{i} % 2 == 1'}:", f"        {jump}"]
        work = [f"    {target} = {target} + {i} * {self.lit_float()}"]
        parts = [guard, work, body] if r.random() < 0.5 else [work, guard, body]
        return head + [line for part in parts for line in part]

    def raise_cond(self) -> str:
        """A condition that holds for some calls only."""
        with self.no_host():
            return self._raise_cond()

    def _raise_cond(self) -> str:
        r = self.r
        options = [
            lambda: f"{self.pick('int', lambda: 'obj.step')} % {r.randint(3, 5)} == 2",
            lambda: f"COUNT % {r.randint(3, 6)} == {r.randint(1, 2)}",
            lambda: f"T.sum(x) < -{r.choice(['0.5', '2.0'])}",
            lambda: f"T.max(T.abs({self.tensor(1)})) > {r.choice(['1.0', '3.0'])}",
        ]
        if "lr" in self.params:
            options.append(lambda: f"lr > {r.choice(['0.2', '0.4'])}")
        if "flag" in self.params and "n" in self.params:
            options.append(lambda: "flag and n > 3")
        return r.choice(options)()

    def st_raise(self, depth: int) -> List[str]:
        cond = self.raise_cond()
        if self.r.random() < 0.3:
            return [f"check({self.pyfloat(1)}, {self.r.choice(['2.0', '10.0'])})"]
        return [f"if {cond}:", "    raise ValueError(f'bad {COUNT}')"]

    def st_try(self, depth: int) -> List[str]:
        r = self.r
        q = self.fresh("q")
        risky = r.choice(
            [
                f"{self.pyfloat(1)} / {self.sometimes_zero()}",
                f"check({self.pyfloat(1)}, {r.choice(['0.5', '2.0'])})",
                f"float({self.pyint(1)} // {self.sometimes_zero()})",
            ]
        )
        lines = ["try:", f"    {q} = {risky}"] + self.body(depth)
        lines += [
            f"except {r.choice(['ZeroDivisionError', 'ValueError', '(ZeroDivisionError, ValueError)'])}:",
            f"    {q} = -1.0",
            "    log.append('caught')",
        ]
        if r.random() < 0.3:
            lines += ["finally:", "    obj.step += 1"]
        self.scope[self.host_kind("float", risky)].append(q)
        return lines

    def st_early_return(self, depth: int) -> List[str]:
        return [f"if {self.cond()}:", f"    return {self.return_expr()}"]

    def return_expr(self) -> str:
        r = self.r
        parts = [self.pick("tensor", lambda: "x")]
        for kind in r.sample(["stensor", "float", "int", "hfloat", "hint", "list", "dict", "str"], r.randint(0, 3)):
            if self.scope[kind]:
                parts.append(r.choice(self.scope[kind]))
        if len(parts) == 1 and r.random() < 0.5:
            return parts[0]
        return "(" + ", ".join(parts) + ",)"


MODULE_TEMPLATE = """\
COUNT = 0
TOTAL = 0.0
HIST = []
SEEN = {{}}
TABLE = [0.5, -1.25, 3, 7.0]
ROWS = [T.tensor(np.linspace(-1.0, 1.0, {d})), T.tensor(np.linspace(0.0, 2.0, {d})), T.tensor(np.ones({d}))]
log = []
W = T.tensor(np.linspace(-0.6, 0.6, {d} * {d}).reshape({d}, {d}))


class Box:
    def __init__(self):
        self.step = 0
        self.scale = 1.25
        self.tag = 'box'
        self.items = []
        self.v = T.Variable(np.linspace(-0.5, 0.5, {d}))


obj = Box()


def rec(k):
    if k <= 0:
        return 1
    return k * {mult} + rec(k - 1)


def rec_t(t, k):
    if k <= 0:
        return t
    return T.tanh(rec_t(t * 0.5, k - 1)) + 0.1


def tree_sum(t):
    if isinstance(t, tuple):
        return tree_sum(t[0]) * 2 + tree_sum(t[1])
    return t


def tree_t(t, h):
    if isinstance(t, tuple):
        return T.tanh(tree_t(t[0], h) + tree_t(t[1], h) * 0.5)
    return h * t


def bump(k):
    global COUNT
    COUNT += k
    return COUNT


def check(v, limit):
    if v > limit:
        raise ValueError(f'{{v}} > {{limit}}')
    return v

"""


#: the share of programs that avoid the constructs JANUS documents as unsupported
FRIENDLY_SHARE = 0.6


def generate(seed: int) -> Program:
    """The program for `seed` (the same seed always gives the same program)."""
    r = random.Random(seed)
    params = ["x"] + [p for p in ("n", "lr", "flag", "tree") if r.random() < 0.55]
    d = r.choice([2, 3, 4])
    gen = Statements(r, params, friendly=r.random() < FRIENDLY_SHARE)
    body = gen.block(0, r.randint(4, 10), keep_scope=True)
    body = [line for line in body if line != "pass"] or ["pass"]
    mult = r.choice(["10**18", "3", "1000003"])  # rec() makes big ints with the first
    lines = MODULE_TEMPLATE.format(d=d, mult=mult).splitlines() + [""]
    lines += [f"def f({', '.join(params)}):", "    global COUNT, TOTAL"] + indent(body)
    lines += [f"    return {_final_return(gen, body)}", "", ""]
    calls = make_calls(r, params, d)
    lines += ["def CALLS():", "    return ["] + [f"        {c}," for c in calls] + ["    ]", ""]
    return Program(seed, "\n".join(lines))


def _final_return(gen: Statements, body: List[str]) -> str:
    """Return values among the variables defined at the top level of `f`."""
    top_level = {line.split(" = ")[0] for line in body if " = " in line and not line.startswith(" ")}
    for kind in TYPES:
        gen.scope[kind] = [v for v in gen.scope[kind] if v in top_level or v in ("x", "n", "lr")]
    return gen.return_expr()
