"""The pytest plugin of `janus.testing`, loaded through janus-core's `pytest11` entry point
(named ``janus.testing``) or with `pytest -p janus.testing`.

* `pytest --janus-backend NAME` (repeatable, or comma-separated) runs the conformance
  suite (`janus.testing.suite`) on those backends.  Without paths on the command line
  only the suite runs; with paths, those run, and `--janus-backend` picks the backends
  of any conformance tests among them (add `--pyargs janus.testing.suite` for the suite).
* Test functions taking `janus_program` or `janus_served_program` (the suite's, or a
  project's own that import them) are parametrized with one program per case, framework
  and backend; without `--janus-backend`, every installed backend.

A top-level module, not part of the `janus` package: pytest loads it in every run of an
environment where janus-core is installed, and it imports JANUS only when
`--janus-backend` is given or a conformance test is collected.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List

#: the module holding the suite's test functions
SUITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "janus", "testing", "suite.py")
_PROGRAM_ARGS = ("janus_program", "janus_served_program")


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("janus", "JANUS conformance corpus (janus.testing)")
    group.addoption(
        "--janus-backend",
        action="append",
        default=[],
        metavar="NAME",
        help="run the JANUS conformance corpus against eager on the installed backend NAME "
        "(repeatable or comma-separated); without paths only the corpus runs",
    )


def selected_backends(config: Any) -> List[str]:
    """The backend names given with --janus-backend, in order, without repeats."""
    names: List[str] = []
    for value in config.getoption("janus_backend", default=None) or []:
        names += [n.strip() for n in value.split(",") if n.strip() and n.strip() not in names]
    return names


def pytest_configure(config: Any) -> None:
    names = selected_backends(config)
    if not names:
        return
    _check_installed(names)
    source = getattr(config, "args_source", None)
    if source is not None and source.name != "ARGS":  # no paths given: run the corpus
        # its folder, not the file: test ids then read `suite.py::test_...`
        config.args = [os.path.dirname(SUITE)]
        config._janus_collect_suite = True


def pytest_collect_file(file_path: Any, parent: Any) -> Any:
    """The suite module, whose name is not a test file's, when the corpus is to run."""
    if getattr(parent.config, "_janus_collect_suite", False) and str(file_path) == SUITE:
        import pytest

        return pytest.Module.from_parent(parent, path=file_path)
    return None


def _check_installed(names: List[str]) -> None:
    import pytest

    from janus.errors import BackendNotFound
    from janus.plugin import plugins

    for name in names:
        try:
            plugins.get(name)
        except BackendNotFound as e:
            raise pytest.UsageError(f"--janus-backend {name}: {e}") from None


def pytest_generate_tests(metafunc: Any) -> None:
    for argname in _PROGRAM_ARGS:
        if argname in metafunc.fixturenames:
            params = _params(metafunc.config, strict_served=argname == "janus_served_program")
            metafunc.parametrize(argname, params)


def _params(config: Any, strict_served: bool) -> List[Any]:
    import pytest

    params = []
    for name, programs in _programs(config).items():
        if isinstance(programs, str):  # the backend could not be loaded
            params.append(pytest.param(None, id=f"{name}-unavailable", marks=pytest.mark.skip(reason=programs)))
            continue
        for p in programs:
            marks = []
            if strict_served and not p.must_be_served:
                # a backend may serve more than it declares; no backend may serve what the
                # corpus says JANUS cannot serve yet (its tags would be out of date)
                marks.append(pytest.mark.xfail(strict=p.served_by_no_backend, reason=p.not_served_reason()))
            params.append(pytest.param(p, id=p.id, marks=marks))
    return params


def _programs(config: Any) -> Dict[str, Any]:
    """Backend name -> its programs (or why it could not be loaded), computed once per run."""
    cached = getattr(config, "_janus_programs", None)
    if cached is not None:
        return cached
    from janus.errors import BackendNotFound
    from janus.plugin import backends
    from janus.testing.programs import programs

    explicit = selected_backends(config)
    out: Dict[str, Any] = {}
    for name in explicit or backends():
        try:
            out[name] = programs(name)
        except BackendNotFound as e:
            out[name] = f"backend {name!r} is not usable here: {e}"
    config._janus_programs = out
    return out
