# ruff: noqa
# flake8: noqa
# fmt: off
# (formatting off: the ported function bodies keep upstream's layout, line for line)
"""PyTorch Dynamo's function tests, ported as a peer suite for JANUS: the harness and
upstream's module-level definitions.  The tests themselves are in the parts
(``dynamo_make_1..3``: the ``@make_test`` functions, ``dynamo_inner_1..2``: the small
functions of other test methods), gathered by ``dynamo_functions``.

Upstream: pytorch/pytorch, test/dynamo/test_functions.py at commit
0014f2167fd77588eec64d39ef4428e95c614e46 (read from the stored copy; BSD-3-Clause,
Copyright (c) Facebook, Inc. and its affiliates and the PyTorch contributors).

What is ported, and how:

* Every ``@make_test`` function keeps its body as written upstream (module-level
  functions here instead of methods of ``FunctionTests``; nothing else changed).
  Upstream's driver (``torch._dynamo.testing.standard_test``) calls the function with
  ``nargs`` tensors ``torch.randn(10, 10)``; ours does the same, 6 times, with fresh
  tensors each call (see ``measure.py``).
* Tests that are not ``@make_test`` but wrap a small function (``def fn(...)`` inside the
  test method, then ``torch.compile(fn)``) are ported with ``@peer``: a builder holding
  the test method's local set-up (closures, local classes) and returning ``fn`` exactly
  as written, with the Python arguments the upstream test passes (kept the same on every
  call; tensors fresh, of the upstream shapes).  A test that calls its function with
  several argument sets becomes one case per set (``name[label]``).
* Two upstream tests are defined twice in the class (the later definition wins there);
  both bodies are kept here, the first one under ``<name>__first``.
* ``SKIPPED`` lists what was left out and why.

Adaptations that change what a body computes (none change how it is written):
``"test" in constant3.__module__`` is False here (the module is ``dynamo_common``);
``torch._dynamo.testing.three`` (``test_module_constant``) is read from torch as upstream.
"""

from __future__ import annotations

import collections
import functools
import inspect
import itertools
import math
import operator
import random
import sys
import unittest
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, NamedTuple, Optional

import numpy as np
import torch
import torch._dynamo.testing  # imported by upstream's module; test_module_constant reads `three` from it
from torch import sub
from torch.nn import functional as F

# --------------------------------------------------------------------------------------
# The harness side: cases, argument templates
# --------------------------------------------------------------------------------------


class T:
    """A placeholder in an argument template: a fresh tensor on every call."""

    def __init__(self, *shape, dtype=torch.float32, kind="randn", requires_grad=False, then=None):
        self.shape, self.dtype, self.kind = shape, dtype, kind
        self.requires_grad, self.then = requires_grad, then

    def make(self, gen: torch.Generator):
        if self.kind == "randn":
            t = torch.randn(self.shape, generator=gen, dtype=self.dtype)
        elif self.kind == "rand":
            t = torch.rand(self.shape, generator=gen, dtype=self.dtype)
        elif self.kind == "ones":
            t = torch.ones(self.shape, dtype=self.dtype)
        elif self.kind == "zeros":
            t = torch.zeros(self.shape, dtype=self.dtype)
        elif self.kind == "arange":
            t = torch.arange(*self.shape, dtype=self.dtype)
        elif self.kind == "randint":
            t = torch.randint(-5, 5, self.shape, generator=gen, dtype=self.dtype)
        else:
            raise ValueError(self.kind)
        if self.then is not None:
            t = self.then(t)
        if self.requires_grad:
            t.requires_grad_(True)
        return t

    def __repr__(self):
        return f"T{self.shape}" + ("" if self.dtype == torch.float32 else f"[{self.dtype}]")


@dataclass
class Case:
    name: str
    #: returns fn, or (fn, observe): observe() reads the Python state fn changes
    build: Callable[[], Any]
    #: returns the argument template, once per run: T placeholders become fresh tensors
    #: on every call, everything else is passed as is (the same object on every call)
    args: Callable[[], list]
    setup: Optional[Callable[[], None]] = None
    #: turns a result into something comparable (e.g. calls a returned closure)
    post: Optional[Callable[[Any], Any]] = None
    kind: str = "make_test"  # or "fn" (a small function inside a test method)

    @property
    def where(self) -> str:
        """`file:line` of the function under test (which part of the port holds it)."""
        fn = self.build()
        fn = fn[0] if isinstance(fn, tuple) else fn
        try:
            fn = inspect.unwrap(fn)
            return f"{inspect.getsourcefile(fn).rsplit('/', 1)[-1]}:{inspect.getsourcelines(fn)[1]}"
        except (OSError, TypeError):
            return "?"


CASES: List[Case] = []
SKIPPED: Dict[str, str] = {}


def _tensor_args(n):
    return lambda: [T(10, 10) for _ in range(n)]


def make_test(fn=None, expected_frame_count=1):
    """Upstream's decorator, registering the function with upstream's driver arguments."""
    if fn is None:
        return lambda fn: make_test(fn, expected_frame_count=expected_frame_count)
    nargs = len(inspect.signature(fn).parameters)
    name = fn.__name__
    CASES.append(Case(name=name, build=lambda fn=fn: fn, args=_tensor_args(nargs)))
    return fn


def peer(name, args, variants=None, setup=None, post=None):
    """Registers a builder (the test method's set-up, returning its inner ``fn``).
    `variants`: {label: args} for a test that calls its function with several argument
    sets; `args` is then ignored (pass None)."""

    def deco(build):
        if variants is None:
            CASES.append(Case(name=name, build=build, args=args, setup=setup, post=post, kind="fn"))
        else:
            for label, a in variants.items():
                CASES.append(Case(name=f"{name}[{label}]", build=build, args=a, setup=setup, post=post, kind="fn"))
        return build

    return deco


def skip(name, reason):
    SKIPPED[name] = reason


# --------------------------------------------------------------------------------------
# Upstream module-level definitions (as written upstream)
# --------------------------------------------------------------------------------------

d = torch.ones(10, 10)
e = torch.nn.Linear(10, 10)
flag = True


class CustomDictSubclass(collections.OrderedDict):
    pass


clip01 = functools.partial(torch.clip, min=0.0, max=1.0)


def constant3(a, b):
    return a - b + (1.0 + 2)


_variable = 0


def update_global(x):
    global _variable
    _variable += 1
    # Check that updated global variable value is picked up
    return x * _variable


def func_with_default(a, b, some_default_arg=True):
    if some_default_arg:
        return a - b


class MyCls:
    a = 1


@torch.jit.script_if_tracing
def inline_script_if_tracing(x):
    return x + 1.2


@torch.jit.ignore
def inline_ignore(x):
    return x + 3.4


@torch.jit.unused
def inline_unused(x):
    return x + 5.6


@functools.lru_cache
def inline_lru_cache_fn_with_default_args(x, y, _=None):
    return torch.sin(x * y)


@torch.jit.script_if_tracing
def inline_script_if_tracing_fn_with_default_args(x, y, c=1.2):
    return torch.cos(x * y) + c


def udf_mul(x, y):
    return x * y


def udf_mul2(x, y, z):
    return x * y * z


def udf_add(x, y):
    return x + y


class SmallNN(torch.nn.Module):
    def forward(self, x, y):
        combined = torch.cat((x, y), dim=1)
        out = torch.nn.ReLU()(combined)
        out = torch.nn.ReLU()(out)
        return out


def udf_module(mod, x, y):
    return mod(x, y)


def global_func_with_default_tensor_args(
    x=torch.zeros((2, 2)), *, kw_x=torch.zeros((1, 2))
):
    x.add_(1)
    kw_x.add_(1)
    return x, kw_x


class ModuleWithDefaultTensorArgsMethod(torch.nn.Module):
    def forward(self, x=torch.zeros((2, 2)), *, kw_x=torch.zeros((1, 2))):
        x.add_(1)
        kw_x.add_(1)
        return x, kw_x


class WrapperModule(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.m = ModuleWithDefaultTensorArgsMethod()

    def forward(self):
        return self.m()


class FunctionTests:
    """Namespace only: upstream's test class held this NamedTuple."""

    class MyNamedTuple(NamedTuple):
        first: torch.Tensor
        second: torch.Tensor

        def add(self) -> torch.Tensor:
            return self.first + self.second

        @staticmethod
        def static_method() -> int:
            return 1

        @classmethod
        def class_method(cls) -> str:
            return cls.__name__




#: the parts of the port, in upstream order (dynamo_functions imports them)
PARTS = ("dynamo_make_1", "dynamo_make_2", "dynamo_make_3", "dynamo_inner_1", "dynamo_inner_2")


def shared_names() -> Dict[str, Any]:
    """The module-level names of this module and of the parts imported so far: upstream
    kept them all in one module, so each part starts from them."""
    names: Dict[str, Any] = {}
    for module in [sys.modules[__name__]] + [sys.modules[p] for p in PARTS if p in sys.modules]:
        names.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    return names
