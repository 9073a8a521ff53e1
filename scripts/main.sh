#!/usr/bin/env bash
# The main job end to end: set up, featurize the catalog into the store, show the store.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
CATALOG=${1:-../shared/data/tmdb-posters/movies.csv}
OUTDIR=${ONESHEET_OUT:-out}
mkdir -p "$OUTDIR"
.venv/bin/onesheet featurize "$CATALOG" --store "$OUTDIR/store.h5"
.venv/bin/onesheet store info "$OUTDIR/store.h5"
