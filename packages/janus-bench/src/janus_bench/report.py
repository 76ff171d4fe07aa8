"""Reports of a `RunResult`: JSON, a Markdown table and a PNG chart of speedups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional

from .paths import scrub
from .roofline import fraction_cell
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
    if j is not None and j.segments:
        parts.append(f"split into {j.segments} graph segments around host islands")
        parts.append(j.split_decision or "still choosing split or whole")
    elif j is not None:
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


def graph_time(r: Row) -> str:
    if r.mode != "janus":
        return ""
    share = r.janus.graph_time_share if r.janus is not None else None
    return "–" if share is None else f"{100 * share:.0f}%"


HEADER = [
    "model",
    "framework",
    "mode",
    "ms/call",
    "samples/s",
    "% of matmul peak",
    "speedup vs eager",
    "× native",
    "warm-up s",
    "JANUS graph-served",
    "time in graphs",
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
            fraction_cell(r.peak_fraction, r.flops_source),
            _f(r.speedup_vs_eager, ".2f"),
            _f(r.ratio_vs_native, ".2f"),
            _f(r.warmup_s, ".3f"),
            graph_fraction(r),
            graph_time(r),
            row_notes(r, note_limit),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def peak_line(result: RunResult) -> str:
    """The header line naming each framework's matmul peak and how the column is computed."""
    env = result.environment
    peaks = ", ".join(f"{fw} {g:,.0f} GFLOP/s" for fw, g in env.matmul_peak_gflops.items()) or "not measured"
    threads = {"torch": env.threads.get("torch"), "tf": env.threads.get("tf_intra_op")}
    shown = ", ".join(f"{fw} {n or 'default'}" for fw, n in threads.items() if fw in env.matmul_peak_gflops)
    return (
        f"- matmul peak (float32 square matmul, best of a few sizes): {peaks}, measured in this run"
        + (f" (threads: {shown})" if shown else "")
        + "; % of matmul peak = FLOPs of one step / ms per call / that peak, FLOPs = matmuls and convolutions "
        "(forward and backward, not elementwise ops) counted by torch's FlopCounterMode on the eager torch step; "
        "* = tf row, counted on the torch version (same architecture and sizes); ~ = mean over calls whose "
        "FLOPs differ"
    )


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
        "the first graph-served one; graph-served = share of timed calls JANUS ran from a graph (a split call "
        "counts when one of its segments did); time in graphs = share of the timed wall time spent running graphs",
        peak_line(result),
        "",
    ]
    tail = [""]
    if result.skipped:
        tail += ["Skipped: " + "; ".join(f"{k} ({v})" for k, v in result.skipped.items()), ""]
    return "\n".join(head) + "\n" + markdown_table(result) + "\n" + "\n".join(tail)


#: bar colours of the modes a chart compares with eager
MODE_COLORS = {"janus": "#1f77b4", "native": "#ff7f0e"}


def speedup_table(result: RunResult) -> Dict[str, Dict[str, Dict[str, Row]]]:
    """framework -> model -> mode -> row, in the order the rows were run."""
    table: Dict[str, Dict[str, Dict[str, Row]]] = {}
    for r in result.rows:
        table.setdefault(r.framework, {}).setdefault(r.model, {})[r.mode] = r
    return table


def plot(result: RunResult, path: Path) -> Optional[str]:
    """Write `chart(result)` as a PNG; returns why it could not, or None."""
    try:
        fig = chart(result)
    except ImportError as e:
        return f"matplotlib unavailable: {type(e).__name__}: {e}"
    if fig is None:
        return "no rows to chart"
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def chart(result: RunResult):
    """One panel per framework, models as rows, horizontal bars of the speedup over eager
    (log scale) of JANUS and of the framework's own graph mode; None without rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = speedup_table(result)
    if not table:
        return None
    modes = [m for m in MODE_COLORS if m in result.config.modes]
    rows = max(len(models) for models in table.values())
    fig, axes = plt.subplots(
        1, len(table), figsize=(5.5 * len(table), 0.35 * rows * max(1, len(modes)) + 1.6), squeeze=False
    )
    for ax, (framework, models) in zip(axes[0], table.items()):
        _panel(ax, framework, models, modes)
    env = result.environment
    fig.suptitle(
        f"janus-bench {result.config.profile}: speedup over eager (log scale; right of 1 = faster), "
        f"{env.device} ({env.device_name or env.cpu})",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def _panel(ax, framework: str, models: Dict[str, Dict[str, Row]], modes: List[str]) -> None:
    names = list(models)
    height = 0.8 / max(1, len(modes))
    shown: List[float] = []
    for i, mode in enumerate(modes):
        ys = [k + (i - (len(modes) - 1) / 2) * height for k in range(len(names))]
        values = [models[n].get(mode) for n in names]
        speedups = [r.speedup_vs_eager if r is not None else None for r in values]
        shown += [v for v in speedups if v]
        # bars grow from 1 (as fast as eager): right is faster, left slower
        widths = [(v - 1.0) if v else 0.0 for v in speedups]
        ax.barh(ys, widths, height, left=1.0, label=mode, color=MODE_COLORS[mode])
        for y, r, v in zip(ys, values, speedups):
            label = f"{v:.2g}x" if v else ("error" if r is not None and r.error else "n/a")
            left = v is not None and v < 1.0
            ax.annotate(
                label,
                (v or 1.0, y),
                xytext=(-3 if left else 3, 0),
                textcoords="offset points",
                ha="right" if left else "left",
                va="center",
                fontsize=7,
            )
    ax.set_xscale("log")
    if shown:
        ax.set_xlim(min(min(shown), 1.0) / 4, max(max(shown), 1.0) * 4)
    ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()  # the first model on top
    ax.set_title(framework, fontsize=10)
    ax.set_xlabel("speedup over eager (x)", fontsize=8)
    if modes:  # a run of eager alone has nothing to compare
        ax.legend(fontsize=7, loc="lower right")


def write_all(result: RunResult, out_dir: Path) -> Dict[str, Path]:
    """Write results.json, results.md and speedup.png into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / JSON_NAME, "markdown": out_dir / MD_NAME, "png": out_dir / PNG_NAME}
    scrub(result)  # no absolute paths of this machine in shared reports
    problem = plot(result, paths["png"])
    if problem:
        paths.pop("png")
        result.skipped.setdefault("(chart)", problem)
    paths["markdown"].write_text(markdown(result))
    paths["json"].write_text(json.dumps(result.model_dump(mode="json"), indent=2))
    return paths
