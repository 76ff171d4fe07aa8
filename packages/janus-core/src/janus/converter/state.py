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

from typing import Any, Dict, Optional

from ..ir.spec import PySpec
from .heap import Effect, Sym
from .merge import VersionTable


class StateMixin:
    def _state_tables(self):
        if not hasattr(self, "versions"):
            self.input_sym: Dict[int, Sym] = {}       # input value id -> the input Sym
            self.versions: Dict[int, Sym] = VersionTable(self.input_sym)  # input value id -> latest version
            self.version_root: Dict[int, int] = {}    # any version's value id -> input value id
            self.assign_effects: Dict[int, Effect] = {}
            self.stale: set = set()
            self.input_roots: set = set()
        return self

    def written_input(self, sym: Sym) -> Optional[int]:
        """The input a tensor value is (a version of), or None for values computed in the call."""
        self._state_tables()
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
        if not getattr(self, "versions", None):
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

    def write_state(self, target: Sym, new: Any, frame, node) -> Sym:
        """Record that the tensor `target` stands for now holds `new`; return the new version.
        Outside tensors get an `assign` effect; tensors made in the call are just renamed."""
        self._state_tables()
        from .interp import VIEW_OPS
        self.backend.check_inplace(target.example)
        root = self.version_root.get(target.value.id, target.value.id)
        is_input = self.written_input(target) is not None
        if not is_input:
            if self.may_alias_outside(target):
                raise self.unsupported("in-place write through a view of an outside tensor", frame, node,
                                       "only whole tensors that outlive the call can be written")
            tnode = target.value.node
            name = getattr(tnode, "target", None) if tnode is not None else None
            name = name if isinstance(name, str) else getattr(name, "__name__", "")
            if tnode is None or name in VIEW_OPS:
                raise self.unsupported("in-place write through a view", frame, node)
        if not isinstance(new, Sym) or isinstance(new.spec, PySpec) or new.spec.dtype != target.spec.dtype \
                or len(new.spec.shape) != len(target.spec.shape) \
                or any(a is not None and b is not None and a != b for a, b in zip(new.spec.shape, target.spec.shape)):
            raise self.unsupported("in-place write that changes a tensor's shape or dtype", frame, node)
        self.input_sym.setdefault(root, target)
        if is_input:
            self.input_roots.add(root)
        self.journal.write(self.versions)  # a write inside a graph cond branch is merged after it
        self.versions[root] = new
        self.version_root[new.value.id] = root
        for n in self.graph.walk():  # views taken before the write would see it in eager
            tname = n.target if isinstance(n.target, str) else getattr(n.target, "__name__", "")
            if tname in VIEW_OPS and tname != "getattr" and n.args and getattr(n.args[0], "id", None) is not None \
                    and self.version_root.get(n.args[0].id, n.args[0].id) == root and n.outputs:
                self.stale.add(n.outputs[0].id)
        if is_input and root not in self.assign_effects:
            host = self._input_host(root)
            eff = Effect("assign", host, (None,), self.where(frame, node))
            self.assign_effects[root] = eff
            self.heap.effects.append(eff)
        return new

    def versions_merged(self, pred: Sym, written: list, merged: list, bound: list) -> None:
        """After a graph cond: in-place writes its branches made to outside tensors now
        have one (merged) latest version, written back whichever branch ran."""
        versions = getattr(self, "versions", None)
        for slot in written:
            if slot.owner is not versions or slot not in bound:
                continue
            root, new = slot.key, merged[bound.index(slot)]
            self.version_root[new.value.id] = root
            eff = self.assign_effects.get(root)
            if eff is not None:
                eff.conds = tuple(c for c in eff.conds if c[0] is not pred)

    def check_stale(self, arg: Any, frame=None, node=None) -> None:
        stale = getattr(self, "stale", None)
        if not stale:
            return
        if isinstance(arg, Sym) and arg.value.id in stale:
            from ..errors import Unsupported
            raise Unsupported("a view read after its base tensor was written in place",
                              self.where(frame, node) if frame is not None else "",
                              "views of written tensors are not supported yet")
        if type(arg) in (tuple, list):
            for a in arg:
                self.check_stale(a, frame, node)
        elif type(arg) is dict:
            for a in arg.values():
                self.check_stale(a, frame, node)

    def is_written_input_version(self, sym: Sym) -> Optional[int]:
        """The written input this Sym is a version of (for templates: return the real object)."""
        if not getattr(self, "assign_effects", None):
            return None
        root = self.version_root.get(sym.value.id, sym.value.id)
        return root if root in self.assign_effects else None

    def _input_host(self, root: int) -> Any:
        """The outside tensor object behind an input, noted as a host object for the commit."""
        for path, sym in self._inputs_by_path.items():
            if sym.value.id == root:
                self.heap.note(sym.example, path)
                return sym.example
        raise RuntimeError("internal: written input has no path")

    def finish_state(self) -> None:
        """Fill every assign effect with the input's final version."""
        for root, eff in getattr(self, "assign_effects", {}).items():
            eff.args = (self.versions[root],)
