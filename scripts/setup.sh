#!/usr/bin/env bash
# Create ./.venv and install onesheet with everything the main job and the tests need.
# Idempotent: a second run only re-checks the installed packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# torch is needed only for the one-time ONNX export. Pin it in its own step so pip does
# not pull a multi-GB CUDA build; override with ONESHEET_TORCH="torch==X.Y.Z".
TORCH=${ONESHEET_TORCH:-torch==2.13.0}
# onnxruntime for CPU machines; set ONESHEET_RUNTIME=gpu on a CUDA machine for onnxruntime-gpu.
RUNTIME=${ONESHEET_RUNTIME:-cpu}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.onesheet-installed
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16) $TORCH $RUNTIME"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check "$TORCH"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$RUNTIME,export,serve,dev]"
echo "$want" > "$stamp"
