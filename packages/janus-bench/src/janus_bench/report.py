"""Reports of a `RunResult`: JSON, a Markdown table and a PNG chart of speedups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional

from .schema import Row, RunResult

JSON_NAME, MD_NAME, PNG_NAME = "results.json", "results.md", "speedup.png"


def _f(v: Optional[float], fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def row_notes(r: Row, limit: int = 140) -> str:
    parts: List[str] = []
    if r.error:
        parts.append(f"ERROR ({r.error_phase}): {r.error}")
    j = r.janus
    if j is not None:
        parts.append(f"{j.graphs_built} graphs")
        if j.assumption_failures:
            parts.append(f"{j.assumption_failures} assumption failures")
        if j.conversion_failures:
            parts.append(f"{j.conversion_failures} conversion failures")
        if j.top_fallback_reason and j.top_fallback_reason != "profiling":
            parts.append(f"fallback: {j.top_fallback_reason}")
    parts += r.notes
    text = "; ".join(parts)
    return _cell(text if len(text) <= limit else text[: limit - 1] + "…")


def graph_fraction(r: Row) -> str:
    if r.mode != "janus":
        return ""
    if r.janus is None:
        return "–"
    f = r.janus.timed_graph_fraction if r.janus.timed_graph_fraction is not None else r.janus.graph_fraction
    return "–" if f is None else f"{100 * f:.0f}%"


HEADER = [
    "model",
    "framework",
    "mode",
    "ms/call",
    "samples/s",
    "speedup vs eager",
    "× native",
    "warm-up s",
    "JANUS graph-served",
    "notes",
]


def markdown_table(result: RunResult, note_limit: int = 140) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] * len(HEADER)) + "|"]
    for r in result.rows:
        cells = [
            r.model,
            r.framework,
            r.mode,
            _f(r.ms_per_call, ".3f"),
            _f(r.samples_per_s, ",.0f"),
            _f(r.speedup_vs_eager, ".2f"),
            _f(r.ratio_vs_native, ".2f"),
            _f(r.warmup_s, ".3f"),
            graph_fraction(r),
            row_notes(r, note_limit),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(result: RunResult) -> str:
    env, cfg = result.environment, result.config
    v = env.versions
    head = [
        f"# janus-bench results ({cfg.profile} profile)",
        "",
        f"- started {result.started_at}, took {_f(result.duration_s, '.1f')} s; device `{env.device}` "
        f"({env.device_name or env.cpu}), {env.cpu_count} CPUs",
        f"- python {env.python}, torch {v.get('torch') or '–'}, tensorflow {v.get('tensorflow') or '–'}, "
        f"janus {v.get('janus') or v.get('janus-core') or '–'}, JANUS backends: {', '.join(env.janus_backends) or '–'}",
        f"- load average at start / end: {env.load_avg or '–'} / {env.load_avg_end or '–'} "
        f"(timings are noisy when other processes share the CPUs)",
        f"- {cfg.repeats} repeats, modes alternating; ms/call is the median over repeats; "
        "speedup = eager ms / ms; × native = native ms / ms (>1: faster than the framework's graph mode)",
        "- warm-up: eager and native = first call (native: trace/compile); janus = calls up to and including "
        "the first graph-served one; graph-served = share of timed calls JANUS ran from a graph",
        "",
    ]
    tail = [""]
    if result.skipped:
        tail += ["Skipped: " + "; ".join(f"{k} ({v})" for k, v in result.skipped.items()), ""]
    return "\n".join(head) + "\n" + markdown_table(result) + "\n" + "\n".join(tail)


def plot(result: RunResult, path: Path) -> Optional[str]:
    """Grouped bars of speedup over eager per model/framework; returns an error or None."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:
        return f"matplotlib unavailable: {type(e).__name__}: {e}"
    groups: List[str] = []
    values: Dict[str, Dict[str, Optional[float]]] = {}
    failed: Dict[str, Dict[str, bool]] = {}
    modes = list(result.config.modes)
    for r in result.rows:
        g = f"{r.model}\n{r.framework}"
        if g not in values:
            groups.append(g)
            values[g], failed[g] = {}, {}
        values[g][r.mode] = r.speedup_vs_eager
        failed[g][r.mode] = r.error is not None
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(groups) + 2), 4.5))
    width = 0.8 / max(1, len(modes))
    colors = {"eager": "#9e9e9e", "janus": "#1f77b4", "native": "#ff7f0e"}
    for i, mode in enumerate(modes):
        xs = [gi + (i - (len(modes) - 1) / 2) * width for gi in range(len(groups))]
        hs = [values[g].get(mode) or 0.0 for g in groups]  # 0: no bar (error / not run)
        bars = ax.bar(xs, hs, width, label=mode, color=colors.get(mode))
        for b, g in zip(bars, groups):
            v = values[g].get(mode)
            label = ("err" if failed[g].get(mode) else "n/a") if v is None else f"{v:.3g}"
            ax.annotate(label, (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom", fontsize=7)
    shown = [v for g in groups for v in values[g].values() if v]
    if shown and (min(shown) < 0.1 or max(shown) > 30):
        ax.set_yscale("log")
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, fontsize=8)
    ax.set_ylabel("speedup over eager (×)")
    env = result.environment
    ax.set_title(
        f"janus-bench, {result.config.profile} profile, {env.device} ({env.device_name or env.cpu})", fontsize=9
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def write_all(result: RunResult, out_dir: Path) -> Dict[str, Path]:
    """Write results.json, results.md and speedup.png into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / JSON_NAME, "markdown": out_dir / MD_NAME, "png": out_dir / PNG_NAME}
    problem = plot(result, paths["png"])
    if problem:
        paths.pop("png")
        result.skipped.setdefault("(chart)", problem)
    paths["markdown"].write_text(markdown(result))
    paths["json"].write_text(json.dumps(result.model_dump(mode="json"), indent=2))
    return paths
