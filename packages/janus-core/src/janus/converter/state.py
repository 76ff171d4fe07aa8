"""Framework state: in-place writes to tensors that outlive the call.

`v.sub_(g)`, `v -= g`, `np.subtract(v, g, out=v)`, `v[i] = x`, `var.assign_sub(g)` on a
tensor that is a graph input (an argument, a parameter, a captured tensor or variable)
are *functionalized*: the graph computes the new value out of place, later reads in the
same call see it (the input's latest *version*), and the runtime writes it into the real
tensor only after the graph succeeded and every assertion held (an `assign` effect, in
program order with the other effects).  A write through a view, or to a tensor with live
views, is unsupported (the call falls back) rather than risk a stale alias.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from ..errors import Unsupported
from ..ir.spec import PySpec
from .heap import PendingEffect
from .operators import VIEW_OPS, op_name
from .sym import Sym


class VersionTable(dict):
    """Latest versions of outside tensors written in place (input value id -> Sym): a
    tensor a `cond` branch did not write is, on that branch, the version it had before."""

    def __init__(self, before: Dict[int, Any]):
        super().__init__()
        self.before = before

    def missing(self, key: Any) -> Any:
        return self.before[key]


class TensorState:
    def __init__(self, session: Any):
        self.session = session
        self.input_sym: Dict[int, Sym] = {}  # written tensor's root value id -> its first Sym
        self.versions = VersionTable(self.input_sym)  # root value id -> latest version
        self.version_root: Dict[int, int] = {}  # any version's value id -> root value id
        self.assign_effects: Dict[int, PendingEffect] = {}
        self.stale: set = set()  # value ids of views taken before their base was written
        self.input_roots: set = set()  # roots that are graph inputs (outside tensors)

    def written_input(self, sym: Sym) -> Optional[int]:
        """The input a tensor value is (a version of), or None for values computed in the call."""
        vid = sym.value.id
        if vid in self.version_root:
            root = self.version_root[vid]
            return root if root in self.input_roots else None
        node = sym.value.node
        if node is not None and node.op == "input" and not isinstance(sym.spec, PySpec):
            return vid
        return None

    def current(self, arg: Any) -> Any:
        """`arg` with every Sym replaced by the latest version of the tensor it stands for."""
        if not self.versions:
            return arg
        if isinstance(arg, Sym):
            root = self.version_root.get(arg.value.id, arg.value.id)
            return self.versions.get(root, arg)
        t = type(arg)
        if t is tuple or t is list:
            return t(self.current(a) for a in arg)
        if t is dict:
            return {k: self.current(v) for k, v in arg.items()}
        return arg

    def root_of(self, sym: Sym) -> int:
        """Which tensor object `sym` is a version of (its first version's value id)."""
        return self.version_root.get(sym.value.id, sym.value.id)

    def write(self, target: Sym, new: Any, site: str) -> Sym:
        """Record that the tensor `target` stands for now holds `new`; return the new version.
        Outside tensors get an `assign` effect; tensors made in the call are just renamed."""
        session = self.session
        session.rules.check_inplace(target.example)
        root = self.version_root.get(target.value.id, target.value.id)
        is_input = self.written_input(target) is not None
        if not is_input:
            _check_own_tensor(target, site)
        if not isinstance(new, Sym) or isinstance(new.spec, PySpec) or not _same_form(new.spec, target.spec):
            raise Unsupported("in-place write that changes a tensor's shape or dtype", site)
        self.input_sym.setdefault(root, target)
        if is_input:
            self.input_roots.add(root)
        session.journal.write(self.versions)  # a write inside a graph cond branch is merged after it
        self.versions[root] = new
        self.version_root[new.value.id] = root
        self._stale_views(root)
        if is_input and root not in self.assign_effects:
            self.assign_effects[root] = session.heap.add("assign", self._input_host(root), (None,), site)
        return new

    def _stale_views(self, root: int) -> None:
        """Views taken before a write would see it in eager: reading them is refused."""
        for n in self.session.graph.walk():
            name = op_name(n.target)
            if (
                name in VIEW_OPS
                and name != "getattr"
                and n.args
                and getattr(n.args[0], "id", None) is not None
                and self.version_root.get(n.args[0].id, n.args[0].id) == root
                and n.outputs
            ):
                self.stale.add(n.outputs[0].id)

    def merged(self, pred: Sym, written: list, merged: list, bound: list) -> None:
        """After a graph cond: in-place writes its branches made to outside tensors now
        have one (merged) latest version, written back whichever branch ran."""
        for slot in written:
            if slot.owner is not self.versions or slot not in bound:
                continue
            root, new = slot.key, merged[bound.index(slot)]
            self.version_root[new.value.id] = root
            eff = self.assign_effects.get(root)
            if eff is not None:
                eff.conds = tuple(c for c in eff.conds if c[0] is not pred)

    def check_stale(self, arg: Any, site: str = "") -> None:
        if not self.stale:
            return
        if isinstance(arg, Sym) and arg.value.id in self.stale:
            raise Unsupported(
                "a view read after its base tensor was written in place",
                site,
                "views of written tensors are not supported yet",
            )
        if type(arg) in (tuple, list):
            for a in arg:
                self.check_stale(a, site)
        elif type(arg) is dict:
            for a in arg.values():
                self.check_stale(a, site)

    def written_version_root(self, sym: Sym) -> Optional[int]:
        """The written input this Sym is a version of (templates return the real object)."""
        if not self.assign_effects:
            return None
        root = self.version_root.get(sym.value.id, sym.value.id)
        return root if root in self.assign_effects else None

    def outside_tensor(self, sym: Sym) -> Tuple[Optional[Sym], Any]:
        """(input Sym, outside path) of the tensor `sym` is or is a version of (in-place
        writes keep the tensor object), else (None, None)."""
        vid = self.version_root.get(sym.value.id, sym.value.id)
        for p, s in self.session.inputs():
            if s.value.id == vid:
                return s, p
        return None, None

    def _input_host(self, root: int) -> Any:
        """The outside tensor object behind an input, noted as a host object for the commit."""
        for path, sym in self.session.inputs():
            if sym.value.id == root:
                self.session.heap.note(sym.example, path)
                return sym.example
        raise RuntimeError("internal: written input has no path")

    def finish(self) -> None:
        """Fill every assign effect with the input's final version."""
        for root, eff in self.assign_effects.items():
            eff.args = (self.versions[root],)


def _same_form(new: Any, old: Any) -> bool:
    return (
        new.dtype == old.dtype
        and len(new.shape) == len(old.shape)
        and all(a is None or b is None or a == b for a, b in zip(new.shape, old.shape))
    )


def may_alias_outside(sym: Sym) -> bool:
    """Could writing into this tensor be seen outside the call (an input or a view of one)?"""
    return _may_alias(sym.value, 0)


def _may_alias(v: Any, depth: int) -> bool:
    while v.node is not None and depth < 64:
        node, depth = v.node, depth + 1
        if node.op == "input":
            return True
        if node.op in ("cond", "while"):
            # which operand a region passes through is data-dependent: any outside one may be it
            return any(_may_alias(a, depth) for a in node.input_values())
        if op_name(node.target) not in VIEW_OPS or not node.args or not hasattr(node.args[0], "node"):
            return False
        v = node.args[0]
    return True


def _check_own_tensor(target: Sym, site: str) -> None:
    """A tensor made in the call may be written in place unless it is a view."""
    if may_alias_outside(target):
        raise Unsupported(
            "in-place write through a view of an outside tensor",
            site,
            "only whole tensors that outlive the call can be written",
        )
    node = target.value.node
    if node is None or op_name(node.target) in VIEW_OPS:
        raise Unsupported("in-place write through a view", site)
