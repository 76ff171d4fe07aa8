"""`janus-bench` / `python -m janus_bench`: run the benchmark and write the reports."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from . import __version__


def _csv(text: str) -> List[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="janus-bench",
        description="Benchmark imperative models eagerly, under janus.jit, and under the framework's own graph "
        "mode (torch.compile / tf.function); writes results.json, results.md and speedup.png.  "
        "`janus-bench compare A.json B.json` prints how each workload changed between two runs.",
    )
    prof = p.add_mutually_exclusive_group()
    prof.add_argument("--quick", dest="profile", action="store_const", const="quick", help="2-core CPU sizes (default)")
    prof.add_argument("--smoke", dest="profile", action="store_const", const="smoke", help="tiny sizes, for CI")
    prof.add_argument("--paper", dest="profile", action="store_const", const="paper", help="the paper's (GPU) sizes")
    p.set_defaults(profile="quick")
    p.add_argument("--models", type=_csv, default=None, help="comma-separated workloads (default: all); see --list")
    p.add_argument("--frameworks", type=_csv, default=["torch", "tf"], help="comma-separated: torch,tf")
    p.add_argument(
        "--modes", type=_csv, default=["eager", "janus", "native"], help="comma-separated: eager,janus,native"
    )
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds per mode (default: per profile)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="intra-op threads for torch and tf; 0 = the frameworks' defaults "
        "(default: 1 for --smoke/--quick, stable on a shared 2-core CPU; theirs for --paper)",
    )
    p.add_argument(
        "--torch-compile-backend",
        default=None,
        help="backend= for torch.compile in the native mode (default: inductor; smoke: eager)",
    )
    p.add_argument("--out", type=Path, default=Path("bench-results"), help="output folder (default ./bench-results)")
    p.add_argument(
        "--distributed",
        type=int,
        default=None,
        metavar="N",
        help="training steps under torch DDP / tf MirroredStrategy with 1 and N workers (default models: "
        "lstm_train,resnet50); writes distributed.json and distributed.md",
    )
    p.add_argument(
        "--dispatch",
        action="store_true",
        help="time JANUS's per-call dispatch overhead (guard, launch, commit, runtime) on a trivial function "
        "and MLPs of 2/20/200 layers, per framework; writes dispatch.json and dispatch.md",
    )
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--strict", action="store_true", help="exit 1 when any row has an error")
    p.add_argument("--version", action="version", version=f"janus-bench {__version__}")
    return p


def _list() -> str:
    from .models import PLANNED, get_workload, workloads

    lines = []
    for name in workloads():
        w = get_workload(name)
        lines.append(f"{name:16} [{', '.join(w.implementations)}] {w.description}")
    lines += [f"{name:16} (planned) {desc}" for name, desc in PLANNED.items()]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["compare"]:  # janus-bench compare A.json B.json
        from .compare import main as compare_main

        return compare_main(argv[1:])
    args = parser().parse_args(argv)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .models import FRAMEWORKS, workloads
    from .report import markdown_table, write_all
    from .runner import make_config, plan_steps, run

    out = Console()
    err = Console(stderr=True)
    if args.list:
        out.print(_list(), markup=False, highlight=False, soft_wrap=True)
        return 0
    bad = [f for f in args.frameworks if f not in FRAMEWORKS] + [
        m for m in args.modes if m not in ("eager", "janus", "native")
    ]
    if bad:
        err.print(f"unknown framework or mode: {', '.join(bad)}", markup=False)
        return 2
    if args.repeats is not None and args.repeats < 1:
        err.print("--repeats must be at least 1")
        return 2
    if args.distributed is not None:
        from .distributed import main_from_args

        return main_from_args(args, out, err)
    if args.dispatch:
        from .dispatch import main_from_args as dispatch_main

        return dispatch_main(args, out, err)
    config = make_config(
        args.profile,
        args.models or workloads(),
        frameworks=args.frameworks,
        modes=args.modes,
        device=args.device,
        repeats=args.repeats,
        seed=args.seed,
        torch_compile_backend=args.torch_compile_backend,
        threads=args.threads,
    )

    if args.no_progress or not err.is_terminal and os.environ.get("JANUS_BENCH_PROGRESS") != "1":

        def progress(desc: str, advance: float) -> None:
            if advance and desc.endswith("warm-up done"):
                err.print(desc, markup=False, highlight=False)

        result = run(config, progress)
    else:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        ) as bar:
            task = bar.add_task("janus-bench", total=plan_steps(config))

            def progress(desc: str, advance: float) -> None:
                bar.update(task, advance=advance, description=desc[:60])

            result = run(config, progress)
            bar.update(task, description="done")

    paths = write_all(result, args.out)
    out.print(markdown_table(result), markup=False, highlight=False, soft_wrap=True)
    if result.skipped:
        out.print("skipped: " + "; ".join(f"{k}: {v}" for k, v in result.skipped.items()), markup=False)
    err.print("wrote " + ", ".join(str(p) for p in paths.values()), markup=False, highlight=False)
    if args.strict and any(r.error for r in result.rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
