#!/usr/bin/env bash
# The main job end to end: set up, then featurize -> fit -> evaluate on a catalog.
# Usage: bash scripts/main.sh [CATALOG.csv]   (results in ./out, or $ONESHEET_OUT)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
CATALOG=${1:-../shared/data/tmdb-posters/movies.csv}
exec .venv/bin/onesheet run "$CATALOG" --out "${ONESHEET_OUT:-out}"
