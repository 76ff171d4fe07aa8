"""Runs an IR graph on NumPy values with the core interpreter."""

from __future__ import annotations

from ..backend import Executable
from ..ir.interpret import Interpreter


class ReferenceExecutable(Executable):
    def __init__(self, graph):
        self.graph = graph
        self._interp = Interpreter(graph)

    def run(self, inputs):
        return self._interp.run(inputs)

    def describe(self) -> str:
        return "reference interpreter"
