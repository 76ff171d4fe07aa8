"""Paths in reports relative to the project: error messages and tracebacks name files of
the machine that ran the benchmark (`/home/me/janus/packages/...`, a virtual
environment's site-packages); reports are shared, so those prefixes are rewritten:

* the project (the directory holding `packages/janus-bench`) -> a relative path,
* a site-packages directory -> `<site-packages>/`,
* the Python installation -> `<python>/`, the home directory -> `~/`.
"""

from __future__ import annotations

import os
import re
import site
import sys
import sysconfig
from pathlib import Path
from typing import Dict, List, Optional

from .schema import RunResult


def project_root() -> Optional[Path]:
    """The source checkout this janus-bench runs from, or None when it is installed."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "packages" / "janus-bench").is_dir():
            return parent
    return None


def _prefixes() -> List[tuple]:
    found: Dict[str, str] = {}
    for d in list(site.getsitepackages()) + [site.getusersitepackages(), sysconfig.get_paths()["purelib"]]:
        found[d] = "<site-packages>"
    for d in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        found.setdefault(d, "<python>")
    root = project_root()
    if root is not None:
        found[str(root)] = ""
    found.setdefault(os.path.expanduser("~"), "~")
    # the longest prefix first: a venv inside the project is named as a venv
    prefixes = [(p.rstrip("/\\"), r) for p, r in found.items() if p and p not in ("/", "\\")]
    return sorted(prefixes, key=lambda pr: -len(pr[0]))


def relative(text: Optional[str]) -> Optional[str]:
    """`text` with this machine's absolute path prefixes rewritten (see the module docstring)."""
    if not text:
        return text
    for prefix, replacement in _prefixes():
        if prefix in text:
            # the prefix and its separator, or the prefix ending a name (not `/rootfs` for `/root`)
            text = re.sub(re.escape(prefix) + r"[/\\]", f"{replacement or '.'}/", text)
            text = re.sub(re.escape(prefix) + r"(?![\w.-])", replacement or ".", text)
    return text


def scrub(result: RunResult) -> RunResult:
    """Rewrite the paths in every free-text field of `result`, in place; returns it."""
    for row in result.rows:
        row.error = relative(row.error)
        row.error_traceback = relative(row.error_traceback)
        row.notes = [relative(n) or "" for n in row.notes]
        j = row.janus
        if j is not None:
            j.top_fallback_reason = relative(j.top_fallback_reason)
            j.explain = relative(j.explain)
            j.fallback_reasons = {relative(k) or "": v for k, v in j.fallback_reasons.items()}
    result.skipped = {k: relative(v) or "" for k, v in result.skipped.items()}
    return result
