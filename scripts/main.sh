#!/usr/bin/env bash
# The main job end to end: set up, then featurize -> fit -> evaluate on a catalog.
# Usage: bash scripts/main.sh [CATALOG.csv] [--id-column NAME] [--columns FIELD=COLUMN,...]
#        (results in ./out, or $ONESHEET_OUT; any further options go to `onesheet run`)
set -euo pipefail
cd "$(dirname "$0")/.."
CATALOG=../shared/data/tmdb-posters/movies.csv
if [[ $# -gt 0 && $1 != -* ]]; then CATALOG=$1; shift; fi
bash scripts/setup.sh
exec .venv/bin/onesheet run "$CATALOG" --out "${ONESHEET_OUT:-out}" "$@"
