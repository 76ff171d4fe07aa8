#!/usr/bin/env bash
# The main job on a fresh machine: install JANUS with both backends into .venv and run
# the quick benchmark suite (eager vs JANUS vs each framework's own graph mode).
# Extra arguments go to janus-bench (e.g. --models lstm_forward --frameworks torch).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch is pinned: an unpinned torch pulls a several-GB CUDA build
.venv/bin/python -m pip install --quiet "torch==2.13.0" "tensorflow-cpu==2.21.0" \
  -e packages/janus-core -e packages/janus-backend-torch -e packages/janus-backend-tf -e packages/janus-bench
exec .venv/bin/janus-bench --quick "$@"
