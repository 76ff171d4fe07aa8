"""`janus-bench compare A.json B.json`: how each workload changed between two runs.

For every model x framework in both runs: the time per call of each mode in A and B
(B/A < 1: B is faster), and the ratios that summarise JANUS -- its speedup over eager
and its ratio to the framework's graph mode -- before and after.  Ratios within one run
are what to compare across machines and days: absolute times move with the load.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .schema import Row, RunResult

Key = Tuple[str, str]  # (model, framework)


def load(path: Path) -> RunResult:
    return RunResult.model_validate_json(Path(path).read_text())


def _rows(result: RunResult) -> Dict[Key, Dict[str, Row]]:
    out: Dict[Key, Dict[str, Row]] = {}
    for r in result.rows:
        out.setdefault((r.model, r.framework), {})[r.mode] = r
    return out


def _num(v: Optional[float], fmt: str = ".3g") -> str:
    return "–" if v is None else format(v, fmt)


def _change(a: Optional[float], b: Optional[float], higher_is_better: bool, threshold: float) -> str:
    """`a -> b (x1.23)`, flagged when the change passes `threshold` either way."""
    if a is None or b is None or a <= 0 or b <= 0:
        return f"{_num(a)} -> {_num(b)}"
    factor = b / a
    better = factor > 1 if higher_is_better else factor < 1
    flag = "" if abs(factor - 1) < threshold else (" better" if better else " WORSE")
    return f"{_num(a)} -> {_num(b)} (x{factor:.2f}){flag}"


def compare(a: RunResult, b: RunResult, threshold: float = 0.1) -> str:
    """A Markdown table, one line per workload in both runs, then what only one run has."""
    rows_a, rows_b = _rows(a), _rows(b)
    header = [
        "model",
        "framework",
        "eager ms (B/A)",
        "janus ms (B/A)",
        "native ms (B/A)",
        "janus speedup vs eager",
        "janus x native",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    for key in [k for k in rows_a if k in rows_b]:
        ma, mb = rows_a[key], rows_b[key]
        times = [_time_ratio(ma.get(m), mb.get(m)) for m in ("eager", "janus", "native")]
        ja, jb = ma.get("janus"), mb.get("janus")
        speedup = _change(_get(ja, "speedup_vs_eager"), _get(jb, "speedup_vs_eager"), True, threshold)
        native = _change(_get(ja, "ratio_vs_native"), _get(jb, "ratio_vs_native"), True, threshold)
        lines.append("| " + " | ".join([key[0], key[1], *times, speedup, native]) + " |")
    only = [f"only in A: {m}/{f}" for m, f in rows_a if (m, f) not in rows_b]
    only += [f"only in B: {m}/{f}" for m, f in rows_b if (m, f) not in rows_a]
    head = [
        f"A: {a.started_at} ({a.config.profile}, {a.environment.cpu or a.environment.device})",
        f"B: {b.started_at} ({b.config.profile}, {b.environment.cpu or b.environment.device})",
        f"B/A < 1: B is faster; ratios flagged when they change by more than {threshold:.0%}",
        "",
    ]
    return "\n".join(head + lines + ([""] + only if only else []))


def _get(row: Optional[Row], name: str) -> Optional[float]:
    return None if row is None or row.error else getattr(row, name)


def _time_ratio(ra: Optional[Row], rb: Optional[Row]) -> str:
    a, b = _get(ra, "ms_per_call"), _get(rb, "ms_per_call")
    if a is None or b is None:
        failed = [name for name, r in (("A", ra), ("B", rb)) if r is not None and r.error]
        return "error in " + ", ".join(failed) if failed else "–"
    return f"{a:.3g} -> {b:.3g} ({b / a:.2f})"


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(
        prog="janus-bench compare",
        description="Per-workload changes between two janus-bench results.json files (A: before, B: after).",
    )
    p.add_argument("a", type=Path, help="results.json of the earlier run")
    p.add_argument("b", type=Path, help="results.json of the later run")
    p.add_argument("--threshold", type=float, default=0.1, help="flag ratio changes larger than this (default 0.1)")
    args = p.parse_args(argv)
    try:
        a, b = load(args.a), load(args.b)
    except (OSError, ValueError) as e:
        p.error(f"cannot read a janus-bench results file: {e}")
    print(compare(a, b, args.threshold))
    return 0
