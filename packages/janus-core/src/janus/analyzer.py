"""The speculative type/shape analyzer: turns the profile into assumptions.

Every value the converter reads from outside the function sits on a lattice, from most
specialized to most general:

    constant  ->  exact tensor spec  ->  relaxed dimensions  ->  dynamic Python value

A Python number that took more than `Config.max_scalar_values` values in the profile
(a learning rate, a step counter) becomes a graph *input*; one that stayed put is a
guarded constant, and so is one whose values differed within each call but were the same
set in every call (a stride read from each layer object at one site).  A tensor dimension
that varied in the profile becomes unknown (None).
A tensor-dependent branch whose profile saw one direction is speculated with an
in-graph assertion.  A failed assumption relaxes its site (`relax`).
"""

from __future__ import annotations

from typing import Dict, Optional, Set, Tuple

from .ir.spec import TensorSpec
from .profiler import Profile

SiteKey = Tuple[str, int, int, int, int]


class Analyzer:
    def __init__(self, profile: Profile, config):
        self.profile = profile
        self.config = config
        self.relaxed: Set[SiteKey] = set()
        self.failed_asserts: Dict[SiteKey, int] = {}
        #: explanations of the decisions made in the last conversion, for `janus.explain`
        self.decisions: Dict[SiteKey, str] = {}

    def relax(self, site: Optional[SiteKey]) -> None:
        if site is not None:
            self.relaxed.add(site)

    def assertion_failed(self, site: Optional[SiteKey]) -> None:
        if site is not None:  # (an `assert` statement's check has no profile site)
            self.failed_asserts[site] = self.failed_asserts.get(site, 0) + 1
            self.relaxed.add(site)

    def scalar_is_input(self, site: SiteKey, value) -> bool:
        """Should this Python number be a graph input rather than a constant?"""
        if type(value) not in (int, float):
            return False  # bools, strings and None steer control flow: keep them constant
        stats = self.profile.stats(site)
        varied = site in self.relaxed or (stats is not None and stats.distinct_values() > self.config.max_scalar_values)
        if varied and site not in self.relaxed and stats is not None and stats.same_every_run():
            # the values vary within a call but not between calls (a stride per layer): constant
            self.decisions[site] = f"{type(value).__name__} constant {value!r} (per object: same values every call)"
            return False
        self.decisions[site] = f"{type(value).__name__} " + ("input (varies)" if varied else f"constant {value!r}")
        return varied

    def tensor_spec(self, site: SiteKey, spec: TensorSpec) -> TensorSpec:
        """The spec to assume for a tensor read at `site` whose current spec is `spec`."""
        stats = self.profile.stats(site)
        if stats is None:
            return spec
        dims = set()
        for seen in stats.specs:
            if isinstance(seen, TensorSpec) and seen.dtype == spec.dtype and seen.rank == spec.rank:
                dims |= {i for i, (a, b) in enumerate(zip(seen.shape, spec.shape)) if a != b}
        out = spec.relaxed(dims) if dims else spec
        self.decisions[site] = f"tensor {out}" + (" (relaxed: dims varied)" if dims else "")
        return out

    def branch_direction(self, site: SiteKey) -> Optional[bool]:
        """The single direction the profile saw at a tensor-dependent branch, if any."""
        if site in self.relaxed:
            return None
        stats = self.profile.stats(site)
        if stats is None or len(stats.branches) != 1:
            return None
        return next(iter(stats.branches))
