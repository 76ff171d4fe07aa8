"""Long-mode fuzzing: generate programs until a budget is spent, minimize each mismatch,
save standalone reproducers, print a summary.

    python tests/fuzz/run.py --seconds 600 --backends reference,torch,tf --seed 1000 --out fuzz-out
    python tests/fuzz/run.py --programs 200

Every program (seed S, S+1, ...) runs on every requested backend.  The first
`--max-per-kind` mismatches of each (backend, kind) are minimized; later ones are saved
as they are.  Identical minimized programs are saved once.

The fuzzing runs in a worker process that logs events to OUT/events.jsonl; when a
program kills the process (a framework abort, a segfault) this supervisor records a
`run:crash` mismatch for it, saves its reproducer and starts a new worker at the next seed.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE]

import generator  # noqa: E402
import minimize  # noqa: E402
import oracle  # noqa: E402
import reproduce  # noqa: E402

from janus.testing.frameworks import available  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, help="stop starting programs after this many seconds")
    budget.add_argument("--programs", type=int, help="number of programs (each on every backend)")
    p.add_argument("--backends", default="reference,torch,tf")
    p.add_argument("--seed", type=int, default=0, help="seed of the first program")
    p.add_argument("--out", default="fuzz-out", help="directory for reproducers, events and summary.json")
    p.add_argument("--max-per-kind", type=int, default=3, help="mismatches minimized per (backend, kind)")
    p.add_argument("--minimize-seconds", type=float, default=120.0, help="time budget of one minimization")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds one run of one program may take")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.seconds is None and args.programs is None:
        args.programs = 100
    return args


def slug(kind: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", kind).strip("_")[:60]


class Events:
    """OUT/events.jsonl: what happened, appended as it happens, replayed for counts."""

    def __init__(self, out: str):
        os.makedirs(out, exist_ok=True)
        self.path = os.path.join(out, "events.jsonl")

    def add(self, **event) -> None:
        with open(self.path, "a") as fh:
            fh.write(json.dumps(event) + "\n")

    def all(self) -> list:
        if not os.path.exists(self.path):
            return []
        with open(self.path) as fh:
            return [json.loads(line) for line in fh if line.strip()]


def save_reproducer(out: str, seed: int, backend: str, kind: str, program: str, note: str, details) -> str:
    name = f"{backend}-{slug(kind)}-{seed}.py"
    summary = "\n".join([note, "Eager vs JANUS:"] + [f"  {line}" for line in details])
    with open(os.path.join(out, name), "w") as fh:
        fh.write(reproduce.reproducer_source(program, backend, kind, seed, summary, name))
    return name


class Worker:
    """Fuzzes in this process; every step is an event."""

    def __init__(self, args: argparse.Namespace, backends, events: Events):
        self.args, self.backends, self.events = args, backends, events
        self.workdir = tempfile.mkdtemp(prefix="janus-fuzz-")
        self.started = time.monotonic()
        self.per_kind = collections.Counter((e["backend"], e["kind"]) for e in events.all() if e["event"] == "mismatch")
        self.minimized_sources = set()
        self.minimized_by_seed = {}  # (seed, kind) -> [(backend, minimized source)]

    def time_left(self) -> float:
        if self.args.seconds is None:
            return float("inf")
        return self.args.seconds - (time.monotonic() - self.started)

    def run(self) -> None:
        for backend in self.backends:
            oracle.warm_up(backend, self.workdir)
        seed, done = self.args.seed, 0
        while (done < self.args.programs) if self.args.programs is not None else (self.time_left() > 0):
            self.fuzz_one(seed)
            seed, done = seed + 1, done + 1

    def fuzz_one(self, seed: int) -> None:
        program = generator.generate(seed)
        for backend in self.backends:
            source = program.module_source(oracle.FRAMEWORK_OF[backend])
            self.events.add(event="begin", seed=seed, backend=backend)
            path = oracle.write_program(source, self.workdir)
            verdict = oracle.check(path, backend, timeout=self.args.timeout)
            os.remove(path)
            self.events.add(
                event="program",
                seed=seed,
                backend=backend,
                served=verdict.served.count("G"),
                calls=len(verdict.janus.outcomes),
            )
            if verdict.differences:
                self.record(seed, backend, source, verdict)

    def record(self, seed: int, backend: str, source: str, verdict: oracle.Verdict) -> None:
        kind = verdict.kind
        self.events.add(event="mismatch", seed=seed, backend=backend, kind=kind)
        self.per_kind[(backend, kind)] += 1
        details = [f"{d.where}: [{d.kind}] {d.detail}" for d in verdict.differences[:6]]
        elapsed = time.monotonic() - self.started
        print(f"[{elapsed:6.0f}s] seed {seed} {backend}: {kind}: {details[0][:160]!r}", flush=True)
        minimized, note = source, "not minimized"
        budget = min(self.args.minimize_seconds, max(self.time_left(), 0))
        if self.per_kind[(backend, kind)] <= self.args.max_per_kind and budget > 5:
            minimized, note = self.minimized(seed, backend, kind, source, budget)
            if (backend, minimized) in self.minimized_sources:
                print(f"    {note}; same as a saved reproducer", flush=True)
                return
            self.minimized_sources.add((backend, minimized))
        if minimized is not source:
            details = self.differences_now(minimized, backend) + ["Before minimization:"] + details
        name = save_reproducer(self.args.out, seed, backend, kind, minimized, note, details)
        self.events.add(event="saved", seed=seed, backend=backend, kind=kind, file=name, note=note)
        print(f"    {note}; saved {os.path.join(self.args.out, name)}", flush=True)

    def differences_now(self, program: str, backend: str) -> list:
        path = oracle.write_program(program, self.workdir, "saved")
        verdict = oracle.check(path, backend, timeout=self.args.timeout)
        os.remove(path)
        return [f"{d.where}: [{d.kind}] {d.detail}" for d in verdict.differences[:6]]

    def minimized(self, seed: int, backend: str, kind: str, source: str, budget: float):
        """The program minimized on another backend when it shows the same mismatch here
        (a core bug shows on every backend), else a minimization of its own."""
        timeout = min(self.args.timeout, 4.0)
        for other, earlier in self.minimized_by_seed.get((seed, kind), []):
            here = earlier.replace(
                f"T = shim({oracle.FRAMEWORK_OF[other]!r})", f"T = shim({oracle.FRAMEWORK_OF[backend]!r})"
            )
            if minimize.Candidate(backend, kind, self.workdir, timeout).reproduces(here):
                return here, f"the program minimized on {other} shows it too"
        small, checks = minimize.minimize(source, backend, kind, self.workdir, budget_s=budget, timeout=timeout)
        self.minimized_by_seed.setdefault((seed, kind), []).append((backend, small))
        return small, f"minimized with {checks} checks: {len(source.splitlines())} -> {len(small.splitlines())} lines"


def worker_command(args: argparse.Namespace, seed: int, seconds=None, programs=None) -> list:
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        "--seed",
        str(seed),
        "--backends",
        args.backends,
        "--out",
        args.out,
        "--max-per-kind",
        str(args.max_per_kind),
        "--minimize-seconds",
        str(args.minimize_seconds),
        "--timeout",
        str(args.timeout),
    ]
    return cmd + (["--seconds", str(seconds)] if seconds is not None else ["--programs", str(programs)])


def supervise(args: argparse.Namespace, backends, events: Events) -> None:
    started, seed = time.monotonic(), args.seed
    while True:
        tried = len({e["seed"] for e in events.all() if e["event"] == "begin"})
        if args.programs is not None:
            left = dict(programs=args.programs - tried)
            if left["programs"] <= 0:
                return
        else:
            left = dict(seconds=args.seconds - (time.monotonic() - started))
            if left["seconds"] <= 0:
                return
        begun = [e for e in events.all() if e["event"] == "begin"]
        rc = subprocess.call(worker_command(args, seed, **left))
        if rc == 0:
            return
        last = [e for e in events.all() if e["event"] == "begin"][len(begun) :][-1:]
        if not last:
            print(f"the worker process died (exit status {rc}) before running a program", file=sys.stderr)
            return
        record_crash(args, events, last[0]["seed"], last[0]["backend"], rc)
        seed = last[0]["seed"] + 1


def record_crash(args, events: Events, seed: int, backend: str, rc: int) -> None:
    kind = "run:crash"
    print(
        f"seed {seed} {backend}: the worker process died (exit status {rc}); continuing at seed {seed + 1}", flush=True
    )
    events.add(event="mismatch", seed=seed, backend=backend, kind=kind)
    program = generator.generate(seed).module_source(oracle.FRAMEWORK_OF[backend])
    name = save_reproducer(
        args.out,
        seed,
        backend,
        kind,
        program,
        "not minimized (the process died)",
        [f"the fuzzing process died with exit status {rc} while running this program"],
    )
    events.add(event="saved", seed=seed, backend=backend, kind=kind, file=name, note="crash")


def summary(events: list, backends, elapsed: float) -> str:
    seeds = {e["seed"] for e in events if e["event"] == "begin"}
    served, calls, bad = collections.Counter(), collections.Counter(), collections.Counter()
    per_kind = collections.Counter()
    for e in events:
        if e["event"] == "program":
            served[e["backend"]] += e["served"]
            calls[e["backend"]] += e["calls"]
        elif e["event"] == "mismatch":
            bad[e["backend"]] += 1
            per_kind[(e["backend"], e["kind"])] += 1
    lines = [f"programs tried: {len(seeds)} (each on {', '.join(backends)}) in {elapsed:.0f}s"]
    for b in backends:
        lines.append(f"  {b}: {bad[b]} mismatching programs; {served[b] / max(calls[b], 1):.0%} of calls graph-served")
    lines.append("mismatches per (backend, kind):")
    lines += [f"  {b:9} {kind}: {n}" for (b, kind), n in sorted(per_kind.items())]
    saved = [e for e in events if e["event"] == "saved"]
    lines.append(f"reproducers saved: {len(saved)}")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    requested = [b.strip() for b in args.backends.split(",") if b.strip()]
    backends = [b for b in requested if available(oracle.FRAMEWORK_OF[b])]
    if not backends:
        print(f"none of {requested} is installed", file=sys.stderr)
        return 2
    args.backends = ",".join(backends)
    events = Events(args.out)
    if args.worker:
        Worker(args, backends, events).run()
        return 0
    if os.path.exists(events.path):
        os.remove(events.path)  # a new session
    started = time.monotonic()
    supervise(args, backends, events)
    text = summary(events.all(), backends, time.monotonic() - started)
    print(text)
    with open(os.path.join(args.out, "summary.json"), "w") as fh:
        json.dump(
            dict(
                first_seed=args.seed,
                backends=backends,
                summary=text.splitlines(),
                saved=[e for e in events.all() if e["event"] == "saved"],
            ),
            fh,
            indent=1,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
