"""The JANUS intermediate representation: specs, graph, printer, verifier, passes."""

from .graph import OPCODES, Graph, Node, Region, Value, map_values, target_name
from .printer import format_graph
from .spec import PySpec, TensorSpec
from .verifier import verify

__all__ = [
    "OPCODES",
    "Graph",
    "Node",
    "Region",
    "Value",
    "map_values",
    "target_name",
    "format_graph",
    "PySpec",
    "TensorSpec",
    "verify",
]
