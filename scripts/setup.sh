#!/usr/bin/env bash
# Create ./.venv and install onesheet with everything the main job and the tests need.
# Idempotent: a second run only re-checks the installed packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# torch (and torchvision, for the resnet50 encoder) are needed only for the one-time ONNX
# export. They are pinned in their own step, as a pair that works together, so that no
# other package drags in a different build; override with ONESHEET_TORCH="torch==X torchvision==Y".
TORCH=${ONESHEET_TORCH:-"torch==2.14.1 torchvision==0.29.1"}
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
# shellcheck disable=SC2086  # TORCH holds several requirements
.venv/bin/python -m pip install --quiet --disable-pip-version-check $TORCH
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$RUNTIME,export,serve,ann,dev]"
echo "$want" > "$stamp"
