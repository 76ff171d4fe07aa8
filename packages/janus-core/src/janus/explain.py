"""`janus.explain`: what JANUS did with a function, in words."""

from __future__ import annotations

from typing import Any, List

from .runtime import JitFunction


def explain(fn: Any) -> str:
    """Specializations with their guards (and the source lines they came from), graphs,
    deferred effects, speculated branches and loop counts, and every fallback reason."""
    if not isinstance(fn, JitFunction):
        raise TypeError(f"janus.explain expects a function returned by janus.jit, got {type(fn).__name__}")
    st = fn._state
    s = st.stats.snapshot()
    lines: List[str] = [
        f"janus.jit {st.name}  backend={st.backend_name or '(chosen at the first call)'}",
        f"  calls={s.calls} graph_calls={s.graph_calls} imperative_calls={s.imperative_calls} "
        f"graphs_built={s.graphs_built} evicted={s.graphs_evicted} guard_misses={s.guard_misses} "
        f"assumption_failures={s.assumption_failures} conversion_failures={s.conversion_failures}",
    ]
    if st.imperative_reason:
        lines.append(f"  runs imperatively: {st.imperative_reason}")
    if s.fallback_reasons:
        lines.append("  fallback reasons:")
        lines += [f"    {n:>5} x {reason}" for reason, n in sorted(s.fallback_reasons.items(), key=lambda kv: -kv[1])]
    if st.failures:
        lines.append("  conversion failures:")
        lines += [f"    {reason}" for reason in dict.fromkeys(st.failures)]
    if st.splitter.current is not None:
        lines += st.splitter.current.describe()
        if st.arbiter is not None and st.arbiter.split is st.splitter.current:
            lines.append(f"    {st.arbiter.describe()}")
    retired = getattr(st, "retired", [])
    for spec in list(retired) + list(st.cache.values()):
        conv = spec.conversion
        state = f" ({spec.retired_because})" if spec in retired else ""
        lines.append(
            f"  specialization #{spec.number}{state}: {spec.hits} graph calls, built in "
            f"{spec.build_seconds * 1e3:.1f} ms, executable: {spec.executable.describe()}"
        )
        lines.append("    guards:")
        lines += [f"      {g.describe()}" for g in conv.guards]
        if conv.asserts:
            lines.append("    speculated in the graph (assertion failures so far):")
            for site in conv.asserts:
                lines.append(f"      {site}  failed {spec.assertion_failures.get(site, 0)} times")
        if conv.effects:
            lines.append("    deferred effects, in program order:")
            lines += [
                f"      {e.kind} at {e.site}" + (" (on a branch of a graph cond)" if e.conds else "")
                for e in conv.effects
            ]
        lines.append("    graph:")
        lines += ["      " + line for line in spec.graph_text.splitlines()]
    if st.analyzer is not None and st.analyzer.decisions:
        lines.append("  assumptions of the last conversion (profile site -> lattice level):")
        for k, decision in list(st.analyzer.decisions.items())[:40]:
            lines.append(f"    {k[0].rsplit('/', 1)[-1]}:{k[1]}:{k[2]}  {decision}")
    if st.analyzer is not None and st.analyzer.failed_asserts:
        lines.append("  relaxed after failed speculation:")
        lines += [
            f"    {k[0].rsplit('/', 1)[-1]}:{k[1]} failed {n} times" for k, n in st.analyzer.failed_asserts.items() if k
        ]
    return "\n".join(lines)
